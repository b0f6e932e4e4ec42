# Sourced by the WebTorrent tests: starts the reef binary serving WebTorrent over ws:// and
# wss:// on free loopback ports, with a test CA made here, and stops it.
#
#   source tests/reef_for_webtorrent.sh
#   start_reef PATH/TO/reef WORKDIR [extra TOML]   # sets WS_URL, WSS_URL, CA_PEM, REEF_PID
#   stop_reef                                      # SIGTERM; fails unless reef exits 0
#
# The certificate is for "localhost" and 127.0.0.1, signed by a CA made for the run
# ($CA_PEM), so clients can verify it (Node: NODE_EXTRA_CA_CERTS=$CA_PEM).

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

make_test_ca() {
  local dir="$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=reef-test-ca -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$dir/key.pem" -out "$dir/cert.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/san.ext"
  openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 1 -extfile "$dir/san.ext" -out "$dir/cert.pem" 2>/dev/null
}

start_reef() {
  local reef="$1" dir="$2" extra="${3:-}"
  make_test_ca "$dir"
  local http_port tls_port
  http_port=$(free_port)
  tls_port=$(free_port)
  cat > "$dir/reef.toml" <<TOML
[udp]
enabled = false

[http]
listen = ["127.0.0.1:$http_port"]

[http.tls]
listen = ["127.0.0.1:$tls_port"]
certificate_chain = "$dir/cert.pem"
private_key = "$dir/key.pem"

$extra
TOML
  "$reef" --config "$dir/reef.toml" 2> "$dir/reef.log" &
  REEF_PID=$!
  for _ in $(seq 300); do
    grep -q "running" "$dir/reef.log" && break
    if ! kill -0 "$REEF_PID" 2>/dev/null; then
      echo "FAIL: reef exited at start:" >&2
      cat "$dir/reef.log" >&2
      return 1
    fi
    sleep 0.1
  done
  WS_URL="ws://127.0.0.1:$http_port"
  WSS_URL="wss://127.0.0.1:$tls_port"
  CA_PEM="$dir/ca.pem"
  REEF_LOG="$dir/reef.log"
  export WS_URL WSS_URL CA_PEM REEF_PID REEF_LOG
}

stop_reef() {
  kill -TERM "$REEF_PID"
  local status=0
  wait "$REEF_PID" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAIL: reef exited $status after SIGTERM:" >&2
    tail -20 "$REEF_LOG" >&2
    return 1
  fi
}
