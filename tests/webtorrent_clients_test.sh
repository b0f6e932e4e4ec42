#!/usr/bin/env bash
# npm bittorrent-tracker's Clients through the reef binary over ws:// and wss://
# (tools/webtorrent/clients_e2e.mjs: offers reach the other peers, answers come back,
# scrape counts, a closed connection's peer is removed), then SIGTERM and exit 0.
set -euo pipefail
reef="$(readlink -f "$1")"
here="$(dirname "$(readlink -f tools/webtorrent/clients_e2e.mjs)")"
work="${TEST_TMPDIR:-$(mktemp -d)}"
# shellcheck source=tests/reef_for_webtorrent.sh
source "$(dirname "$(readlink -f "$0")")/reef_for_webtorrent.sh"

command -v node >/dev/null || { echo "FAIL: node is not installed (run scripts/setup.sh)" >&2; exit 1; }
[ -d "$here/node_modules/bittorrent-tracker" ] ||
  { echo "FAIL: $here/node_modules is missing (run scripts/setup.sh)" >&2; exit 1; }

start_reef "$reef" "$work"
trap 'kill -KILL "$REEF_PID" 2>/dev/null || true' EXIT
status=0
echo "== $WS_URL"
node "$here/clients_e2e.mjs" "$WS_URL" || status=1
echo "== $WSS_URL"
NODE_EXTRA_CA_CERTS="$CA_PEM" node "$here/clients_e2e.mjs" "$WSS_URL" || status=1
stop_reef || status=1
trap - EXIT
exit $status
