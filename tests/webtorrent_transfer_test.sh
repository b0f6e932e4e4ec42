#!/usr/bin/env bash
# A real WebTorrent transfer: two headless Chromium pages running the webtorrent browser
# bundle move a file over WebRTC, meeting only through a WebSocket tracker
# (tools/webtorrent/transfer.mjs does the work and checks the bytes).
#
#   webtorrent_transfer_test.sh reference            npm bittorrent-tracker as the tracker
#   webtorrent_transfer_test.sh reef PATH/TO/reef    the reef binary, over ws:// and wss://
#
# Everything runs in a network namespace of its own (loopback only), so ICE never sees a
# real interface: `unshare --net` as root, else `unshare --user --map-root-user --net`.
# Fails, saying what is missing, without Node.js, tools/webtorrent/node_modules or
# Debian's chromium (scripts/setup.sh installs them all).
set -euo pipefail

mode="${1:?usage: webtorrent_transfer_test.sh reference|reef [PATH/TO/reef]}"
here="$(dirname "$(readlink -f tools/webtorrent/transfer.mjs)")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
work="${TEST_TMPDIR:-$(mktemp -d)}"

command -v node >/dev/null || { echo "FAIL: node is not installed (run scripts/setup.sh)" >&2; exit 1; }
[ -d "$here/node_modules/webtorrent" ] && [ -d "$here/node_modules/playwright-core" ] ||
  { echo "FAIL: $here/node_modules lacks webtorrent or playwright-core (run scripts/setup.sh)" >&2; exit 1; }
[ -x "$chromium" ] || { echo "FAIL: $chromium is missing (run scripts/setup.sh: Debian's chromium)" >&2; exit 1; }

if [ "${REEF_IN_NETNS:-}" != 1 ]; then
  export REEF_IN_NETNS=1
  for how in "--net" "--user --map-root-user --net"; do
    # shellcheck disable=SC2086
    if unshare $how true 2>/dev/null; then
      exec unshare $how -- "$0" "$@"
    fi
  done
  echo "FAIL: cannot make a network namespace (unshare --net, or --user --net); tried both" >&2
  exit 1
fi
ip link set lo up

transfer() {
  node "$here/transfer.mjs" --chromium "$chromium" --bytes $((1024 * 1024)) --timeout 90 "$@"
}

case "$mode" in
  reference)
    transfer --tracker bittorrent-tracker
    ;;
  reef)
    reef="$(readlink -f "${2:?the reef binary}")"
    # shellcheck source=tests/reef_for_webtorrent.sh
    source "$(dirname "$(readlink -f "$0")")/reef_for_webtorrent.sh"
    start_reef "$reef" "$work"
    trap 'kill -KILL "$REEF_PID" 2>/dev/null || true' EXIT
    status=0
    transfer --tracker "$WS_URL" || status=1
    transfer --tracker "$WSS_URL" || status=1
    stop_reef || status=1
    trap - EXIT
    exit $status
    ;;
  *)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
