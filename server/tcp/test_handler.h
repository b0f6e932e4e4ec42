// A small HttpHandler for tests and the connection fuzzer: every request gets 200 and a
// bencoded body that names its target, padded to a chosen size, so that tests can check
// which response answers which request and can make responses big enough to fill the
// output buffer.
#ifndef REEF_SERVER_TCP_TEST_HANDLER_H_
#define REEF_SERVER_TCP_TEST_HANDLER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/http/bencode.h"
#include "protocol/http/response.h"
#include "server/tcp/handler.h"

namespace reef::tcp::testing {

// Targets longer than this are cut in the echo.
inline constexpr size_t kEchoedTargetBytes = 200;

class EchoHandler final : public HttpHandler {
 public:
  // Bodies carry `padding` extra bytes ("3:pad" string) so responses can be made large.
  explicit EchoHandler(size_t padding = 0) : padding_(padding) {}

  size_t MaxResponseBytes() const override { return 512 + padding_; }

  HandlerResponse Respond(const http::Request& request, const RequestContext& context,
                          bool keep_alive, std::span<uint8_t> out) override {
    ++calls_;
    last_peer_ = context.peer;
    http::HttpResponseWriter http(out, 200, keep_alive && !close_next_);
    http::BencodeWriter body(http.body());
    body.BeginDict();
    body.String("pad");
    body.String(std::string(padding_, 'p'));
    body.String("target");
    body.String(request.target.substr(0, kEchoedTargetBytes));
    body.End();
    const WriteResult total = http.Finish(body.Result());
    const bool close = close_next_;
    close_next_ = false;
    return {total.ok() ? total.length() : 0, close};
  }

  size_t calls() const { return calls_; }
  const Endpoint& last_peer() const { return last_peer_; }
  // The next response closes the connection although the client asked to keep it.
  void CloseNext() { close_next_ = true; }

 private:
  const size_t padding_;
  size_t calls_ = 0;
  Endpoint last_peer_;
  bool close_next_ = false;
};

}  // namespace reef::tcp::testing

#endif  // REEF_SERVER_TCP_TEST_HANDLER_H_
