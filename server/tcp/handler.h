// What a TCP connection asks of the protocol above it: an answer to each HTTP request.
//
// The connection (connection.h) frames requests, keeps connections alive, pipelines,
// bounds every buffer and speaks TLS; the handler only turns one parsed request into one
// response. server/http/ implements it for /announce and /scrape; tests implement small
// ones. A WebSocket upgrade will be a third kind of answer (the connection then hands its
// byte stream to the WebSocket layer instead of parsing more requests); see connection.h.
#ifndef REEF_SERVER_TCP_HANDLER_H_
#define REEF_SERVER_TCP_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/common/ip_address.h"
#include "protocol/http/request.h"
#include "server/tcp/limits.h"

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

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_HANDLER_H_
