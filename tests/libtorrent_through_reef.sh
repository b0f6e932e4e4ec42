#!/usr/bin/env bash
# A real client through reef over UDP: starts the reef binary on a free loopback port
# (IPv4 and IPv6), runs tests/libtorrent_transfer.py against it once per family, then
# stops reef with SIGTERM and requires exit status 0. Fails if python3-libtorrent is
# missing (scripts/setup.sh installs it), if a transfer fails, or if reef misbehaves.
set -euo pipefail

runfiles="${TEST_SRCDIR:-$PWD/..}/reef"
reef="$runfiles/server/reef"
transfer="$runfiles/tests/libtorrent_transfer.py"
work="${TEST_TMPDIR:-$(mktemp -d)}"

if ! /usr/bin/python3 -c 'import libtorrent' 2>/dev/null; then
  echo "FAIL: Debian's python3-libtorrent is not installed (run scripts/setup.sh)" >&2
  exit 1
fi

# A port free on both 127.0.0.1 and ::1 right now (reef binds it a moment later).
port=$(/usr/bin/python3 - <<'PY'
import socket
for _ in range(100):
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        b.bind(("::1", port))
    except OSError:
        continue
    print(port)
    break
PY
)

cat > "$work/reef.toml" <<TOML
[udp]
listen = ["127.0.0.1:$port", "[::1]:$port"]

[http]
enabled = false
TOML

"$reef" --config "$work/reef.toml" 2> "$work/reef.log" &
reef_pid=$!
cleanup() {
  if kill -0 "$reef_pid" 2>/dev/null; then kill -KILL "$reef_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

for _ in $(seq 300); do  # up to 30 s: reef under TSan on two busy cores starts slowly
  grep -q "running" "$work/reef.log" && break
  kill -0 "$reef_pid" 2>/dev/null || { cat "$work/reef.log" >&2; exit 1; }
  sleep 0.1
done

status=0
/usr/bin/python3 "$transfer" --tracker "udp://127.0.0.1:$port/announce" --timeout 120 || status=1
/usr/bin/python3 "$transfer" --ipv6 --tracker "udp://[::1]:$port/announce" --timeout 120 || status=1

kill -TERM "$reef_pid"
reef_exit=0
wait "$reef_pid" || reef_exit=$?
trap - EXIT
echo "--- reef's log"
cat "$work/reef.log"
if [ "$reef_exit" -ne 0 ]; then
  echo "FAIL: reef exited with $reef_exit after SIGTERM" >&2
  status=1
fi
grep -q "announces [1-9]" "$work/reef.log" || { echo "FAIL: reef counted no announces" >&2; status=1; }
exit $status
