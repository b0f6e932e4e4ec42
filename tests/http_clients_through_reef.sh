#!/usr/bin/env bash
# Runs one case of tests/http_clients_through_reef.py (real clients through the reef
# binary over HTTP or HTTPS) with Debian's python3, which has python3-libtorrent.
set -euo pipefail
runfiles="${TEST_SRCDIR:-$PWD/..}/reef"
if ! /usr/bin/python3 -c 'import libtorrent' 2>/dev/null; then
  echo "FAIL: Debian's python3-libtorrent is not installed (run scripts/setup.sh)" >&2
  exit 1
fi
exec /usr/bin/python3 "$runfiles/tests/http_clients_through_reef.py" \
  --reef "$runfiles/server/reef" "$@"
