#!/usr/bin/env python3
"""Writes contrib/grafana/reef.json, the Grafana dashboard over reef's metrics.

    /usr/bin/python3 contrib/grafana/dashboard.py contrib/grafana/reef.json

Edit the panels here, not in the JSON: //contrib/grafana:dashboard_test checks that the
JSON is what this script writes, that every metric a panel queries exists in reef's
/metrics output, and that every query parses as PromQL.
"""
import json
import sys
I = '{instance=~"$instance"}'
def target(expr, legend, ref):
    return {"datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": expr,
            "legendFormat": legend, "refId": ref}
panels = []
y = 0
def panel(title, kind, exprs, x, w, h, unit="short", desc=""):
    global panels
    p = {"id": len(panels) + 1, "type": kind, "title": title, "description": desc,
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "gridPos": {"x": x, "y": y, "w": w, "h": h},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "targets": [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(exprs)]}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "none", "graphMode": "none", "textMode": "auto"}
    panels.append(p)
def row(title):
    global y, panels
    panels.append({"id": len(panels) + 1, "type": "row", "title": title, "collapsed": False,
                   "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
    y += 1

row("Overview")
panel("Version", "stat", [(f"reef_build_info{I}", "{{version}}")], 0, 4, 4, desc="reef_build_info: the version that runs.")
panels[-1]["options"]["textMode"] = "name"
panel("Uptime", "stat", [(f"time() - process_start_time_seconds{I}", "")], 4, 4, 4, unit="s")
panel("Restarts (24 h)", "stat", [(f"changes(process_start_time_seconds{I}[24h])", "")], 8, 4, 4,
      desc="How often reef started in the last day: a crash restarted by systemd, or an upgrade.")
panel("Torrents", "stat", [(f"sum(reef_torrents{I})", "")], 12, 4, 4)
panel("Peers", "stat", [(f"sum(reef_peers{I})", "")], 16, 4, 4)
panel("Seeders / leechers", "stat", [(f"sum(reef_seeders{I}) / clamp_min(sum(reef_leechers{I}), 1)", "")], 20, 4, 4, unit="none",
      desc="Seeders per leecher over all torrents.")
y += 4
row("Swarms")
panel("Torrents", "timeseries", [(f"reef_torrents{I}", "{{instance}}")], 0, 8, 8)
panel("Peers by address family", "timeseries", [(f"sum by (family) (reef_peers{I})", "{{family}}")], 8, 8, 8)
panel("Seeders and leechers", "timeseries", [(f"sum(reef_seeders{I})", "seeders"), (f"sum(reef_leechers{I})", "leechers")], 16, 8, 8)
y += 8
panel("Peers by client (top 10; needs [metrics] peer_clients = true)", "timeseries",
      [(f'topk(10, sum by (client, version) (reef_peer_clients{I}))', "{{client}} {{version}}")], 0, 24, 8,
      desc="From the peer id prefix, counted as the cleaner walks the store. Off by default.")
y += 8
panel("Store budget used", "timeseries",
      [(f"sum by (instance) (reef_peers{I}) / reef_store_max_peers{I}", "peers {{instance}}"),
       (f"reef_torrents{I} / reef_store_max_torrents{I}", "torrents {{instance}}")],
      0, 12, 8, unit="percentunit",
      desc="Held against [swarm] max_peers and max_torrents. Each shard refuses at its share with \"tracker is full\", so a skewed store refuses a little before 100 %.")
panel("Store events per second", "timeseries",
      [(f"sum by (event) (rate(reef_store_events_total{I}[$__rate_interval]))", "{{event}}")],
      12, 12, 8, unit="reqps",
      desc="Entries evicted by their address prefix's cap, stops ignored for a wrong key, completed events not counted (counted for that prefix within the window).")
y += 8
row("Traffic")
panel("Requests per second by protocol and action", "timeseries",
      [(f"sum by (protocol, action) (rate(reef_requests_total{I}[$__rate_interval]))", "{{protocol}} {{action}}")],
      0, 8, 8, unit="reqps", desc="Requests answered: connect (UDP), announce, scrape.")
panel("Requests per second by address family", "timeseries",
      [(f"sum by (family) (rate(reef_requests_total{I}[$__rate_interval]))", "{{family}}")], 8, 8, 8, unit="reqps")
panel("Errors sent per second by reason", "timeseries",
      [(f"sum by (protocol, reason) (rate(reef_errors_sent_total{I}[$__rate_interval]))", "{{protocol}}: {{reason}}")],
      16, 8, 8, unit="reqps")
y += 8
panel("UDP datagrams dropped per second by cause", "timeseries",
      [(f"sum by (cause) (rate(reef_udp_dropped_datagrams_total{I}[$__rate_interval]))", "{{cause}}")], 0, 8, 8, unit="pps",
      desc="Malformed and unanswerable, a bad connection id (silence), oversized, a reply the kernel refused or had no room for.")
panel("UDP bad connection ids per second", "timeseries",
      [(f"rate(reef_udp_bad_connection_ids_total{I}[$__rate_interval])", "{{instance}}")], 8, 8, 8, unit="pps")
y += 8
panel("HTTP(S) connections open", "timeseries",
      [(f"sum(reef_tcp_connections_open{I})", "open")], 0, 8, 8)
panel("HTTP(S) connections closed per second by cause", "timeseries",
      [(f'sum by (cause) (rate(reef_tcp_connections_closed_total{{instance=~"$instance",cause!="closed"}}[$__rate_interval]))', "{{cause}}")],
      8, 8, 8, unit="cps", desc="Connections reef closed for a limit or a timeout (every close is cause=\"closed\").")
panel("Cleaning: longest pause of one shard", "timeseries",
      [(f"reef_cleaning_longest_pause_seconds{I}", "{{instance}}")], 16, 8, 8, unit="s",
      desc="The longest slice of cleaning since start, in CPU time: a slice (at most 2048 peers) holds its shard's lock, so an announce to that shard waits about this long at most.")
y += 8
row("WebTorrent")
panel("WebTorrent messages per second by type", "timeseries",
      [(f"sum by (type) (rate(reef_webtorrent_messages_total{I}[$__rate_interval]))", "{{type}}")],
      0, 8, 8, unit="reqps", desc="Announces, answers and scrapes from browsers, over ws:// and wss:// (not in reef_requests_total).")
panel("WebTorrent swarm", "timeseries",
      [(f"sum(reef_webtorrent_torrents{I})", "torrents"),
       (f"sum by (status) (reef_webtorrent_peers{I})", "{{status}}s")], 8, 8, 8,
      desc="Torrents and peers of the WebTorrent swarm, apart from the UDP and HTTP peers.")
panel("WebSocket connections open", "timeseries",
      [(f"sum(reef_websocket_connections_open{I})", "open")], 16, 8, 8)
y += 8
panel("Offers and answers relayed per second", "timeseries",
      [(f"sum by (kind) (rate(reef_webtorrent_relayed_total{I}[$__rate_interval]))", "{{kind}}")],
      0, 8, 8, unit="reqps")
panel("Offers and answers dropped per second by cause", "timeseries",
      [(f"sum by (cause) (rate(reef_webtorrent_dropped_total{I}[$__rate_interval]))", "{{cause}}")],
      8, 8, 8, unit="reqps", desc="Not delivered: a full mailbox between workers or a receiver that is backlogged or gone; an answer with no receiver; a message too big to relay.")
panel("WebTorrent refusals and WebSocket closes per second", "timeseries",
      [(f"sum by (reason) (rate(reef_webtorrent_refused_total{I}[$__rate_interval]))", "refused: {{reason}}"),
       (f"sum by (cause) (rate(reef_websocket_connections_closed_total{I}[$__rate_interval]))", "closed: {{cause}}")],
      16, 8, 8, unit="reqps")
y += 8
row("Process")
panel("CPU", "timeseries", [(f"rate(process_cpu_seconds_total{I}[$__rate_interval])", "{{instance}}")], 0, 8, 8, unit="percentunit",
      desc="CPU seconds per second: 1 is one core busy.")
panel("Resident memory", "timeseries", [(f"process_resident_memory_bytes{I}", "{{instance}}")], 8, 8, 8, unit="bytes")
panel("Open file descriptors", "timeseries", [(f"process_open_fds{I}", "open"), (f"process_max_fds{I}", "limit")], 16, 8, 8)
y += 8

dash = {
  "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                "pluginId": "prometheus", "pluginName": "Prometheus"}],
  "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
                 {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
  "title": "reef", "uid": "reef-tracker", "description": "reef BitTorrent tracker: traffic, swarms, process.",
  "tags": ["reef", "bittorrent"], "timezone": "", "editable": True, "graphTooltip": 1,
  "refresh": "30s", "schemaVersion": 37, "version": 1,
  "time": {"from": "now-6h", "to": "now"},
  "templating": {"list": [
    {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
     "current": {}, "hide": 0, "refresh": 1},
    {"name": "instance", "label": "Instance", "type": "query",
     "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": {"query": "label_values(reef_build_info, instance)", "refId": "instance"},
     "definition": "label_values(reef_build_info, instance)",
     "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "refresh": 2, "hide": 0, "sort": 1},
  ]},
  "annotations": {"list": []},
  "panels": panels,
}
json.dump(dash, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
