#!/usr/bin/env bash
# reef's /metrics text passes `promtool check metrics` (Debian package prometheus): the
# text format parses, and promtool's lint (names, HELP, _total on counters, base units)
# has nothing to say. Also checks that promtool does fail on a bad exposition, so a
# promtool that accepts everything cannot make this test pass.
set -euo pipefail
promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  echo "promtool not found: install Debian's prometheus package (bash scripts/setup.sh)" >&2
  exit 1
fi
out="${TEST_TMPDIR:-/tmp}/metrics.txt"
server/metrics/metrics_dump > "$out"
grep -q '^reef_build_info{' "$out"
grep -q '^# TYPE process_cpu_seconds_total counter$' "$out"
grep -q '^reef_peer_clients{client="qBittorrent",version="4.5"} 1$' "$out"
grep -q '^reef_webtorrent_messages_total{type="announce"} 1$' "$out"
grep -q '^reef_webtorrent_peers{status="seeder"} 1$' "$out"
if ! report=$("$promtool" check metrics < "$out" 2>&1); then
  echo "promtool check metrics failed:" >&2
  echo "$report" >&2
  exit 1
fi
if [ -n "$report" ]; then
  echo "promtool check metrics has remarks:" >&2
  echo "$report" >&2
  exit 1
fi
# The control: a counter without _total and a gauge named in milliseconds.
bad=$'# HELP reef_requests Requests.\n# TYPE reef_requests counter\nreef_requests 1\n# HELP reef_pause_milliseconds Pause.\n# TYPE reef_pause_milliseconds gauge\nreef_pause_milliseconds 1\n'
if "$promtool" check metrics <<< "$bad" >/dev/null 2>&1; then
  echo "promtool accepted a bad exposition: this test would prove nothing" >&2
  exit 1
fi
echo "promtool check metrics: $(grep -c '^# TYPE' "$out") families, no remarks"
