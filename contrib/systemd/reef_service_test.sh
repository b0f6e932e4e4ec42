#!/usr/bin/env bash
# contrib/systemd/reef.service is a unit systemd accepts, hardened as it claims:
#   1. `systemd-analyze verify` prints nothing (no unknown key, no bad value, the
#      binaries exist: /usr/bin/reef is replaced by the reef this test was built with);
#   2. `systemd-analyze security --offline` rates its exposure at most 2.0 (of 10);
#   3. it keeps the conventions the README promises (config path, --check-config before
#      start, SIGHUP reload, restart on failure but not on a bad config);
#   4. the checks can fail: a unit with a bad value is refused.
set -euo pipefail
unit_src=contrib/systemd/reef.service
reef="$PWD/server/reef"
[ -x "$reef" ] || { echo "no reef binary at $reef" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found: install Debian's systemd (bash scripts/setup.sh)" >&2; exit 1; }
dir="${TEST_TMPDIR:-$(mktemp -d)}/unit"
mkdir -p "$dir"
unit="$dir/reef.service"
sed "s|/usr/bin/reef|$reef|g" "$unit_src" > "$unit"

fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify has remarks: $out"

security=$(systemd-analyze security --offline=yes --threshold=20 "$unit" 2>&1) ||
  fail "exposure above 2.0: $(echo "$security" | tail -1)"
echo "$security" | tail -1

for line in \
  'ExecStartPre=/usr/bin/reef --check-config /etc/reef/reef.toml' \
  'ExecStart=/usr/bin/reef --config /etc/reef/reef.toml' \
  'ExecReload=/bin/kill -HUP $MAINPID' \
  'Restart=on-failure' \
  'RestartPreventExitStatus=2' \
  'NoNewPrivileges=yes' \
  'ProtectSystem=strict' \
  'PrivateTmp=yes' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  'AmbientCapabilities=CAP_NET_BIND_SERVICE' \
  'StateDirectory=reef'; do
  grep -qxF "$line" "$unit_src" || fail "reef.service lacks: $line"
done

# The control: a value systemd does not accept must make verify complain.
sed 's|^ProtectSystem=strict|ProtectSystem=sometimes|' "$unit" > "$dir/bad.service"
if bad=$(systemd-analyze verify --man=no "$dir/bad.service" 2>&1) && [ -z "$bad" ]; then
  fail "systemd-analyze verify accepted ProtectSystem=sometimes: this test would prove nothing"
fi
echo "reef.service: verified, exposure within 2.0"
