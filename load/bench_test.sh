#!/bin/bash
# The bench runner end to end in its short mode (a couple of seconds per run), so it does
# not rot: reef, opentracker and the do-nothing responder over UDP, opentracker over HTTP
# with the wrk cross-check, a table, a JSON file and a plot. reef has no HTTP server yet:
# it is benched over UDP only.
set -euo pipefail

out="${TEST_TMPDIR}/bench"
/usr/bin/python3 load/bench.py --short --bin-dir load --reef server/reef --out "$out" \
  --protocols udp,http --servers reef,opentracker,null

fail() { echo "bench_test: $*" >&2; exit 1; }
for row in "| udp announce | reef |" "| udp announce | opentracker |" \
           "| udp announce | null |" "| http announce | opentracker |"; do
  grep -qF "$row" "$out/table.md" || fail "no row '$row' in table.md"
done
grep -q "answers every announce with" "$out/table.md" || fail "the ceiling was not calibrated"
grep -q "<svg" "$out/plot.svg" || fail "no SVG plot"

# Every row answered something and nothing was wrong.
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
assert r["wrk"]["http/opentracker"]["requests_per_s"] > 0, "wrk measured nothing"
print("bench_test: rows", [(x["protocol"], x["server"], round(x["median"])) for x in r["rows"]])
PY
echo "bench_test: 1 passed, 0 failed"
