#!/bin/bash
# The bench runner end to end in its short mode (a couple of seconds per run), so it does
# not rot: reef, opentracker and the do-nothing responder over UDP; reef and opentracker
# over HTTP with a new connection per request; reef over HTTP and HTTPS keep-alive, and
# HTTPS with a full or a resumed handshake per request; reef over WebSocket (WebTorrent
# announces with offers, answered); the wrk cross-checks, a table, a
# JSON file and a plot. (npm bittorrent-tracker is not in the sandbox: load/bench.py runs it
# from tools/webtorrent/node_modules.)
set -euo pipefail

out="${TEST_TMPDIR}/bench"
/usr/bin/python3 load/bench.py --short --bin-dir load --reef server/reef --out "$out" \
  --protocols udp,udp-scrape,udp-connect,http,http-keepalive,https-keepalive,https-handshake,https-resumed,ws \
  --servers reef,opentracker,null --reef-workers 1,2 \
  --reef-config-extra 'udp.receive_buffer_size=4194304'


fail() { echo "bench_test: $*" >&2; exit 1; }
for row in "| udp announce | reef |" "| udp announce | opentracker |" \
           "| udp announce | null |" "| udp announce | reef-2w |" \
           "| udp scrape | reef |" "| udp scrape | reef-2w |" "| udp scrape | opentracker |" \
           "| udp scrape | null |" "| udp connect | reef |" "| udp connect | opentracker |" \
           "| udp connect | null |" "| http announce, new connection each | opentracker |" \
           "| http announce, new connection each | reef |" \
           "| http announce, keep-alive | reef |" "| https announce, keep-alive | reef |" \
           "| https announce, full handshake each | reef |" \
           "| https announce, resumed session each | reef |" \
           "| ws (WebTorrent): announces with offers, relayed offers and answers | reef |"; do
  grep -qF "$row" "$out/table.md" || fail "no row '$row' in table.md"
done
grep -q "answers every announce with" "$out/table.md" || fail "the ceiling was not calibrated"
grep -q "<svg" "$out/plot.svg" || fail "no SVG plot"
grep -q "<polyline" "$out/timeline.svg" || fail "no lines in the timeline plot"
grep -qF "| udp connect | reef |" "$out/timeline.md" || fail "no timeline row for udp connect"
grep -qF "UDP socket workers: reef 1, reef-2w 2; extra config: [udp] receive_buffer_size" \
  "$out/table.md" || fail "the table does not say how reef was configured"
if grep -qF "| http announce, keep-alive | reef-2w |" "$out/table.md"; then
  fail "reef-2w differs from reef only in its UDP workers, yet has an HTTP row"
fi

# Every row answered something and nothing was wrong; the resumed row resumed.
/usr/bin/python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["rows"], "no rows"
for row in r["rows"]:
    name = f"{row['protocol']}/{row['server']}"
    assert row["median"] > 0, f"{name}: no answers"
    # A request the kernel dropped for a full receive buffer (opentracker keeps the
    # default 208 KiB, which 128 scrapes of 10 hashes in flight can fill) times out;
    # nothing else may fail.
    assert row["failed"] == row["timeouts"] <= row["receive_buffer_drops"], (
        f"{name}: {row['failed']} failed of {row['sent']}, {row['timeouts']} timeouts, "
        f"{row['receive_buffer_drops']} receive buffer drops")
    assert row["cpu_us_per_request"] is not None, f"{name}: no CPU per request"
    assert row["rss_mib"] > 0, f"{name}: no peak RSS"
for key in ("http/opentracker", "http/reef", "http-keepalive/reef", "https-keepalive/reef"):
    w = r["wrk"][key]
    assert w["requests_per_s"] > 0, f"wrk measured nothing for {key}"
    assert w["non_2xx"] == 0, f"wrk: {w['non_2xx']} non-2xx answers for {key}"
for run in r["runs"]:
    # Each run's ok answers per second since it began (2.5 s: 0.5 s warm-up + 2 s) add up
    # to the answers it counted.
    per_s = run["report"]["ok_per_second"]
    assert len(per_s) >= 2, f"{run['protocol']}/{run['server']}: timeline {per_s}"
    assert sum(per_s) == run["report"]["ok_total"], f"timeline {per_s} != ok_total"
    if run["protocol"].startswith("https"):
        done, resumed = run["server_tls_handshakes"]
        assert done > 0, f"{run['protocol']}: reef logged no TLS handshakes"
        if run["protocol"] == "https-resumed":
            assert resumed > done // 2, f"https-resumed: only {resumed} of {done} resumed"
        else:
            assert resumed == 0, f"{run['protocol']}: {resumed} resumed handshakes"
print("bench_test: rows", [(x["protocol"], x["server"], round(x["median"])) for x in r["rows"]])
PY
echo "bench_test: 1 passed, 0 failed"
