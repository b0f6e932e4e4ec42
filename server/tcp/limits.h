// Every bound a TCP client can run into on reef's HTTP(S) listeners, with its default.
//
// nginx is the model (client_header_timeout, keepalive_timeout,
// large_client_header_buffers, send_timeout, worker_connections, lingering_timeout): each
// limit is named, each has a default, and at a limit reef closes or refuses the one
// connection concerned and keeps serving the others. The [http] config section sets them;
// tests probe each one just past it (connection_test.cc, tcp_worker_test.cc).
#ifndef REEF_SERVER_TCP_LIMITS_H_
#define REEF_SERVER_TCP_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace reef::tcp {

// Monotonic milliseconds: the only time the TCP machinery knows. The worker reads
// CLOCK_MONOTONIC_COARSE once per loop turn; tests pass a fake clock's value.
using Millis = int64_t;

// Defaults, named so that config documentation and tests can refer to them.
inline constexpr size_t kDefaultMaxHeadBytes = 8192;
inline constexpr size_t kDefaultMaxHeaders = 32;
inline constexpr Millis kDefaultHeadTimeoutMs = 10'000;
inline constexpr Millis kDefaultKeepAliveTimeoutMs = 60'000;
inline constexpr Millis kDefaultTlsHandshakeTimeoutMs = 10'000;
inline constexpr Millis kDefaultWriteTimeoutMs = 10'000;
inline constexpr Millis kDefaultLingerTimeoutMs = 2'000;
inline constexpr size_t kDefaultMaxOutputBytes = 64 * 1024;
inline constexpr size_t kDefaultMaxConnections = 10'000;

struct ConnectionLimits {
  // The largest request head (request line, headers, blank line). A longer one is
  // answered 431 (or 414 for the request line alone) and the connection is closed. Also
  // the most request bytes a connection holds while it waits for the rest of a head.
  size_t max_head_bytes = kDefaultMaxHeadBytes;
  // Headers per request; one more is 431 and a close.
  size_t max_headers = kDefaultMaxHeaders;
  // From the moment a request head begins (or the connection is accepted, or its TLS
  // handshake ends) to the end of that head. A client that sends a head slowly
  // (slowloris) or never sends one is closed when it runs out.
  Millis head_timeout_ms = kDefaultHeadTimeoutMs;
  // How long a kept-alive connection may sit idle between a response and the next
  // request's first byte.
  Millis keep_alive_timeout_ms = kDefaultKeepAliveTimeoutMs;
  // From accept to the end of the TLS handshake (TLS listeners only).
  Millis tls_handshake_timeout_ms = kDefaultTlsHandshakeTimeoutMs;
  // While output is waiting to be sent: how long the client may go without reading a
  // byte of it. A client that never reads is closed when it runs out.
  Millis write_timeout_ms = kDefaultWriteTimeoutMs;
  // After an error response, reef shuts its side and reads (and drops) what the client
  // still sends, for at most this long, so that the client reads the response instead of
  // a reset. Then it closes.
  Millis linger_timeout_ms = kDefaultLingerTimeoutMs;
  // Bytes (ciphertext under TLS) queued on one connection waiting for the client to read
  // them. Requests are answered only while a whole response still fits; pipelined
  // requests beyond that wait (reef stops reading the connection) until the client reads.
  // Must hold the largest response the handler can write.
  size_t max_output_bytes = kDefaultMaxOutputBytes;
  // Connections one worker serves at once. A connection accepted past it is closed at
  // once (and counted); the ones already open keep being served.
  size_t max_connections = kDefaultMaxConnections;
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_LIMITS_H_
