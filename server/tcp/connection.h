// One TCP connection as a state machine over bytes, apart from any socket: bytes in →
// requests → responses → bytes out, with TLS as a layer below and every buffer bounded.
//
// The worker (tcp_worker.h) moves bytes between a socket and a Connection; unit tests and
// the fuzz target call the same methods with a fake clock and no socket at all:
//
//   size_t budget = conn.ReceiveBudget();        // 0: do not read now (backpressure)
//   conn.Receive(bytes_read, now);               // at most `budget` bytes
//   send(conn.PendingOutput()); conn.Sent(n, now);
//   if (conn.state() == Connection::State::kClosed) close the socket;
//   timers: ctx.timers.Expire(now, ...) → conn.Expire(kind, now)
//
// HTTP/1.x as RFC 9112 asks of a server, for GET-only tracker requests:
//  - requests on one connection are answered one by one, in order, including pipelined
//    ones (several requests sent before the first answer);
//  - HTTP/1.1 keeps the connection open unless the request says "Connection: close";
//    HTTP/1.0 closes it unless the request says "Connection: keep-alive"; the response
//    says which;
//  - a request head the parser refuses gets an error response with the parser's reason
//    as a bencoded failure reason and the status http::HttpStatusFor() gives (400, 405,
//    414, 431, 413, 505), then the connection closes;
//  - requests are parsed straight from the bytes read; only a partial head (at most
//    max_head_bytes) is kept between reads.
//
// Backpressure: a request is answered only while a whole response still fits in the
// output buffer (ConnectionLimits::max_output_bytes). When it does not, the requests
// behind it wait and ReceiveBudget() is 0, so the worker stops reading and the client's
// own sends stall. So a client that pipelines without reading holds at most
// max_head_bytes of input and max_output_bytes of output, and the write timeout closes
// it.
//
// Timers: a connection is always in one phase, and armed on that phase's queue (see
// timers.h): TLS handshake (from accept, never extended); reading a head (from accept,
// from the end of the handshake, or from the first byte after a response); idle between
// requests; writing (while output waits, extended by every byte the client reads);
// lingering (after an error response).
//
// Closing: after the last response is sent the connection closes (kClosed), or, when
// the client may still be sending (an error response, unread pipelined bytes), first
// lingers (kLinger): the worker shuts the write side and drops what arrives until the
// client closes or linger_timeout_ms passes, so that the client reads the response rather
// than a reset. Under TLS a close_notify alert follows the last response.
//
// TLS: the connection owns an SSL whose BIO reads from the bytes handed to Receive() and
// writes records into the output buffer (tls.h). Ciphertext that cannot be decrypted yet
// because of backpressure waits in a buffer of its own, at most kTlsReadBytes.
//
// For the WebSocket server (next): an upgrade response will switch a connection from
// parsing HTTP requests to a WebSocket layer over the same buffers, timers and TLS;
// QueueOutput() is where relayed messages from other connections enter.
#ifndef REEF_SERVER_TCP_CONNECTION_H_
#define REEF_SERVER_TCP_CONNECTION_H_

#include <openssl/ssl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "protocol/http/request.h"
#include "server/tcp/buffer.h"
#include "server/tcp/handler.h"
#include "server/tcp/limits.h"
#include "server/tcp/timers.h"
#include "server/tcp/tls.h"

namespace reef::tcp {

// The largest response the connection writes on its own (a refused request head).
inline constexpr size_t kMaxErrorResponseBytes = 512;
// Output room a TLS connection keeps beyond its responses, for handshake leftovers,
// session tickets and the close_notify alert.
inline constexpr size_t kTlsOutputSlack = 2048;

// What happened on a worker's connections. Relaxed atomics: the worker writes, metrics and
// tests read.
struct ConnectionStats {
  std::atomic<uint64_t> requests{0};          // request heads parsed and answered
  std::atomic<uint64_t> bad_requests{0};      // refused heads (error response, close)
  std::atomic<uint64_t> head_timeouts{0};     // closed: a head took too long (or never came)
  std::atomic<uint64_t> idle_timeouts{0};     // closed: idle between requests too long
  std::atomic<uint64_t> write_timeouts{0};    // closed: the client stopped reading
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> tls_handshakes{0};         // completed
  std::atomic<uint64_t> tls_resumptions{0};        // of which resumed a session (ticket)
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<uint64_t> tls_errors{0};        // broken records after the handshake
  std::atomic<uint64_t> backpressure_waits{0};  // a request waited for output room
};

// The limits are usable with a handler that writes up to `max_response_bytes`: every
// timeout positive, max_output_bytes enough for a response (TLS: sealed, plus slack).
absl::Status ValidateLimits(const ConnectionLimits& limits, size_t max_response_bytes);

// What one worker's connections share: limits, the handler, timers, buffer pools and
// scratch space. Only the worker's thread touches it.
class ConnectionContext {
 public:
  // `limits` must pass ValidateLimits for handler.MaxResponseBytes().
  ConnectionContext(const ConnectionLimits& limits, HttpHandler& handler);
  ConnectionContext(const ConnectionContext&) = delete;
  ConnectionContext& operator=(const ConnectionContext&) = delete;

  const ConnectionLimits limits;
  HttpHandler& handler;
  Timers timers;
  ConnectionStats stats;

 private:
  friend class Connection;
  // Output room a request needs before it is answered (plain, TLS).
  const size_t response_room;
  const size_t tls_response_room;
  BufferPool input_pool;   // partial request heads: max_head_bytes blocks
  BufferPool output_pool;  // unsent bytes: max_output_bytes blocks
  BufferPool cipher_pool;  // TLS ciphertext held back: kTlsReadBytes blocks
  http::RequestLimits request_limits;
  std::vector<http::Header> headers;   // ParseRequest's header storage
  std::vector<uint8_t> response;       // TLS: a response before it is encrypted
  std::vector<uint8_t> plaintext;      // TLS: what SSL_read decrypts
  TlsIo tls_io;
};

class Connection : public TimerEntry {
 public:
  enum class State : uint8_t {
    kHandshake,  // TLS handshake in progress
    kOpen,       // serving requests
    kClosing,    // the last bytes are queued; closes (or lingers) once they are sent
    kLinger,     // write side done: the worker drops input until EOF or the timer
    kClosed,     // close the socket now
  };

  // A plain connection, or a TLS one when `tls` is set (a new SSL from it, server side).
  // Arms the handshake or head timer from `now`. If OpenSSL cannot make an SSL the
  // connection starts kClosed.
  Connection(ConnectionContext& ctx, const Endpoint& peer, SSL_CTX* tls, Millis now);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const { return state_; }
  bool tls() const { return ssl_ != nullptr; }
  const Endpoint& peer() const { return peer_; }
  uint32_t requests_served() const { return requests_served_; }

  // How many bytes Receive() takes now; 0 means do not read the socket. In kLinger the
  // worker reads and drops input itself.
  size_t ReceiveBudget() const;
  // Bytes read from the socket, at most ReceiveBudget(). May queue output and change the
  // state.
  void Receive(std::span<const uint8_t> bytes, Millis now);
  // The client closed its sending side (read returned 0). Requests already complete are
  // still answered; then the connection closes.
  void ReceiveEnd(Millis now);
  // The socket failed (reset, error): nothing more can be sent.
  void Abort();

  // Bytes waiting to be sent (ciphertext under TLS).
  std::span<const uint8_t> PendingOutput() const { return output_.data(); }
  // `n` bytes of PendingOutput() went out. May answer requests that waited for room.
  void Sent(size_t n, Millis now);

  // The connection's timer of `kind` ran out (ctx.timers.Expire found it).
  void Expire(TimerKind kind, Millis now);

  // For the WebSocket layer: queues `plaintext` for the client (encrypted under TLS).
  // False, and nothing queued, if the connection is not open or it does not fit.
  bool QueueOutput(std::span<const uint8_t> plaintext, Millis now);

  // Bytes of heap memory this connection holds right now beyond its own object (buffer
  // blocks; OpenSSL's memory is not counted here).
  size_t BufferedBytes() const;

  // The worker's bookkeeping for the socket; the state machine never reads it.
  struct SocketSlot {
    int fd = -1;
    uint32_t index = 0;
    uint32_t events = 0;      // epoll events registered
    bool registered = false;  // in the epoll set
    bool write_shut = false;  // shutdown(SHUT_WR) done (kLinger)
  };
  SocketSlot socket;

 private:
  size_t PlaintextRoom() const;
  bool Backpressured() const;
  void ReceivePlaintext(std::span<const uint8_t> bytes, Millis now);
  void ReceiveCiphertext(std::span<const uint8_t> bytes, Millis now);
  void RunTls(Millis now);
  // Answers complete requests at the front of `in` while output has room; returns the
  // bytes used. Sets waiting_for_room_ when it stopped for lack of output room.
  size_t Serve(std::string_view in, Millis now);
  // Writes one response (plain: straight into output_; TLS: sealed into it).
  bool Emit(std::span<const uint8_t> response);
  std::span<uint8_t> ResponseSpace();
  void GiveBackResponseSpace();
  // Serves what waited (buffered requests, held-back ciphertext) after output drained.
  void Pump(Millis now);
  void BeginClose(bool linger);
  void FinishClose();
  void CloseNow();
  void BindTlsIo(std::span<const uint8_t> in);
  void UpdateTimer(Millis now, bool output_progress);
  TimerKind DesiredPhase() const;
  void ReleaseBuffers();

  ConnectionContext& ctx_;
  SSL* ssl_ = nullptr;
  ByteBuffer input_;      // plaintext: the start of a request head, or waiting requests
  ByteBuffer cipher_in_;  // TLS: ciphertext not yet given to OpenSSL
  ByteBuffer output_;     // to send
  Endpoint peer_;
  uint32_t requests_served_ = 0;
  State state_ = State::kOpen;
  bool linger_ = false;
  bool input_ended_ = false;       // the client closed its side; finish and close
  bool waiting_for_room_ = false;  // Serve() stopped for output room
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_CONNECTION_H_
