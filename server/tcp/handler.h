// What a TCP connection asks of the protocol above it: an answer to each HTTP request.
//
// The connection (connection.h) frames requests, keeps connections alive, pipelines,
// bounds every buffer and speaks TLS; the handler only turns one parsed request into one
// response. server/http/ implements it for /announce and /scrape; tests implement small
// ones. A WebSocket upgrade is answered by a StreamFactory instead, and the connection then
// hands its byte stream to a Stream (below) instead of parsing more requests.
#ifndef REEF_SERVER_TCP_HANDLER_H_
#define REEF_SERVER_TCP_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "protocol/common/ip_address.h"
#include "protocol/http/request.h"
#include "server/tcp/limits.h"
#include "server/tcp/timers.h"

namespace reef::tcp {

// Everything the connection knows about a request besides the request itself.
struct RequestContext {
  // The other end of the connection (ClientEndpoint(): an IPv4-mapped IPv6 address is
  // already IPv4).
  const Endpoint& peer;
  bool tls = false;
  Millis now = 0;
};

struct HandlerResponse {
  size_t length = 0;    // bytes of `out` that hold the whole response
  bool close = false;   // close the connection after this response even if kept alive
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;

  // The largest response Respond() may write: the connection always passes at least this
  // much room, and answers a request only when that much output fits
  // (ConnectionLimits::max_output_bytes must be at least this).
  virtual size_t MaxResponseBytes() const = 0;

  // Writes the whole HTTP response to `request` into `out`: status line, headers with
  // Content-Length, body. Its Connection header says keep-alive when `keep_alive`, else
  // close (set close=true to close a kept-alive connection anyway, and say so in the
  // header). Never fails: a request the handler refuses gets an error response.
  virtual HandlerResponse Respond(const http::Request& request, const RequestContext& context,
                                  bool keep_alive, std::span<uint8_t> out) = 0;
};

class Connection;

// The byte stream an upgraded connection carries instead of HTTP requests (the WebSocket
// layer, server/ws/). The connection keeps its socket, TLS, buffers and timers and moves
// bytes: what the client sends goes to Receive(); what Output() holds is queued as room
// allows (encrypted under TLS) and Consumed() says how much. Single-threaded: the
// worker's thread only.
class Stream {
 public:
  virtual ~Stream() = default;
  // The connection that carries the stream, from the upgrade until Ended().
  virtual void Attach(Connection& connection) = 0;
  // Plaintext from the client, at most the connection's read budget. The stream may
  // change the bytes (WebSocket unmasks in place).
  virtual void Receive(std::span<uint8_t> plaintext, Millis now) = 0;
  // False while the stream will not take input (its own output is full, it is closing):
  // the connection stops reading.
  virtual bool WantsInput() const = 0;
  // What the stream wants sent, in order.
  virtual std::span<const uint8_t> Output() const = 0;
  // The first `n` bytes of Output() were queued for the client.
  virtual void Consumed(size_t n, Millis now) = 0;
  // kStreamIdle (the client silent for stream_idle_ms) or kStreamGrace (then silent
  // stream_grace_ms longer while AwaitsAnswer()) ran out.
  virtual void Timer(TimerKind kind, Millis now) = 0;
  // True after kStreamIdle made the stream ask the client something (a ping): the
  // connection then arms kStreamGrace instead of kStreamIdle until the client sends.
  virtual bool AwaitsAnswer() const = 0;
  // The stream has ended its side: once Output() is sent the connection closes (lingering
  // for the client's end, as after an error response).
  virtual bool Done() const = 0;
  // The connection ends, whatever the reason; called once, and the stream is destroyed
  // right after.
  virtual void Ended() = 0;
};

// Turns requests that ask for an upgrade into Streams: set on a worker's connections by
// TcpWorker::SetStreamFactory. A request it Wants() never reaches the HttpHandler.
class StreamFactory {
 public:
  virtual ~StreamFactory() = default;
  // Whether `request` asks for this factory's protocol (WebSocket: an Upgrade header).
  virtual bool Wants(const http::Request& request) const = 0;
  // Writes the whole answer to `request` into `out` (at most MaxResponseBytes()): the
  // 101 that switches protocols, or a refusal, which closes the connection. `*stream` is
  // the stream for an accepted upgrade (bytes after the request go to it), null for a
  // refusal. Returns the answer's length.
  virtual size_t Upgrade(const http::Request& request, const RequestContext& context,
                         std::span<uint8_t> out, std::unique_ptr<Stream>* stream) = 0;
  virtual size_t MaxResponseBytes() const = 0;
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_HANDLER_H_
