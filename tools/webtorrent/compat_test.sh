#!/usr/bin/env bash
# Runs compat_test.mjs (npm bittorrent-tracker's Client against reef's protocol/ws code)
# under Bazel. Needs Node.js and tools/webtorrent/node_modules, which scripts/setup.sh
# installs (npm ci); without them it fails saying so, as the other Node tests do: a skip
# would pass, and Bazel would cache that pass for a machine that has them.
set -euo pipefail
tool="$(readlink -f "$1")"
here="$(dirname "$(readlink -f tools/webtorrent/compat_test.mjs)")"
if ! command -v node >/dev/null; then
  echo "FAIL: node is not installed (run scripts/setup.sh)" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/bittorrent-tracker" ]; then
  echo "FAIL: $here/node_modules is missing (run scripts/setup.sh, which runs npm ci)" >&2
  exit 1
fi
exec node "$here/compat_test.mjs" "$tool"
