#!/bin/bash
# The bench runner end to end in its short mode (a couple of seconds per run), so it does
# not rot: reef, opentracker and the do-nothing responder over UDP; reef and opentracker
# over HTTP with a new connection per request; reef over HTTP and HTTPS keep-alive, and
# HTTPS with a full or a resumed handshake per request; the wrk cross-checks, a table, a
# JSON file and a plot. (npm bittorrent-tracker is not in the sandbox: load/bench.py runs it
# from tools/webtorrent/node_modules.)
set -euo pipefail

out="${TEST_TMPDIR}/bench"
/usr/bin/python3 load/bench.py --short --bin-dir load --reef server/reef --out "$out" \
  --protocols udp,http,http-keepalive,https-keepalive,https-handshake,https-resumed \
  --servers reef,opentracker,null

fail() { echo "bench_test: $*" >&2; exit 1; }
for row in "| udp announce | reef |" "| udp announce | opentracker |" \
           "| udp announce | null |" "| http announce, new connection each | opentracker |" \
           "| http announce, new connection each | reef |" \
           "| http announce, keep-alive | reef |" "| https announce, keep-alive | reef |" \
           "| https announce, full handshake each | reef |" \
           "| https announce, resumed session each | reef |"; do
  grep -qF "$row" "$out/table.md" || fail "no row '$row' in table.md"
done
grep -q "answers every announce with" "$out/table.md" || fail "the ceiling was not calibrated"
grep -q "<svg" "$out/plot.svg" || fail "no SVG plot"

# Every row answered something and nothing was wrong; the resumed row resumed.
/usr/bin/python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["rows"], "no rows"
for row in r["rows"]:
    name = f"{row['protocol']}/{row['server']}"
    assert row["median"] > 0, f"{name}: no answers"
    assert row["failed"] == 0, f"{name}: {row['failed']} failed of {row['sent']}"
    assert row["cpu_us_per_request"] is not None, f"{name}: no CPU per request"
    assert row["rss_mib"] > 0, f"{name}: no peak RSS"
for key in ("http/opentracker", "http/reef", "http-keepalive/reef", "https-keepalive/reef"):
    w = r["wrk"][key]
    assert w["requests_per_s"] > 0, f"wrk measured nothing for {key}"
    assert w["non_2xx"] == 0, f"wrk: {w['non_2xx']} non-2xx answers for {key}"
for run in r["runs"]:
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
