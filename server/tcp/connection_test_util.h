// A Connection driven by hand, with a fake clock: what connection_test.cc, tls_test.cc and
// the connection fuzzer share.
#ifndef REEF_SERVER_TCP_CONNECTION_TEST_UTIL_H_
#define REEF_SERVER_TCP_CONNECTION_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http/bencode.h"
#include "protocol/http/response_parser.h"
#include "server/tcp/connection.h"
#include "server/tcp/test_handler.h"

namespace reef::tcp::testing {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

inline Endpoint TestPeer() { return Endpoint::V4({192, 0, 2, 7}, 40000); }

// One connection, its worker's context, and a fake clock.
class ConnectionHarness {
 public:
  explicit ConnectionHarness(const ConnectionLimits& limits, size_t padding = 0,
                             SSL_CTX* tls = nullptr)
      : handler_(padding), ctx_(limits, handler_) {
    conn_ = std::make_unique<Connection>(ctx_, TestPeer(), tls, now_);
  }

  Connection& conn() { return *conn_; }
  ConnectionContext& ctx() { return ctx_; }
  EchoHandler& handler() { return handler_; }
  Millis now() const { return now_; }
  Connection::State state() const { return conn_->state(); }

  // Gives `bytes` to the connection as a socket would: at most ReceiveBudget() per call.
  // Returns how many it took (less than all when the budget ran out).
  size_t Feed(std::span<const uint8_t> bytes, size_t chunk = SIZE_MAX) {
    size_t given = 0;
    while (given < bytes.size()) {
      const size_t budget = conn_->ReceiveBudget();
      if (budget == 0) break;
      const size_t n = std::min({budget, chunk, bytes.size() - given});
      conn_->Receive(bytes.subspan(given, n), now_);
      given += n;
    }
    return given;
  }
  size_t Feed(std::string_view text, size_t chunk = SIZE_MAX) { return Feed(AsBytes(text), chunk); }

  // Takes up to `max` bytes of output, `step` at a time, as a client reading them would.
  std::string Drain(size_t max = SIZE_MAX, size_t step = SIZE_MAX) {
    std::string out;
    while (out.size() < max) {
      std::span<const uint8_t> pending = conn_->PendingOutput();
      if (pending.empty()) break;
      const size_t n = std::min({pending.size(), step, max - out.size()});
      out.append(reinterpret_cast<const char*>(pending.data()), n);
      conn_->Sent(n, now_);
    }
    return out;
  }

  // Moves the clock and fires what expired.
  void Advance(Millis ms) {
    now_ += ms;
    ctx_.timers.Expire(now_, [this](TimerEntry* entry, TimerKind kind) {
      static_cast<Connection*>(entry)->Expire(kind, now_);
    });
  }

 private:
  Millis now_ = 1'000'000;
  EchoHandler handler_;
  ConnectionContext ctx_;
  std::unique_ptr<Connection> conn_;
};

struct ParsedResponse {
  int status = 0;
  bool keep_alive = true;
  std::string body;
  std::string target;          // EchoHandler's "target", when there
  std::string failure_reason;  // a failure body's reason, when there
};

// Splits `bytes` into whole HTTP responses. Fails (nullopt) unless every response has a
// valid head, a Content-Length, and a body that is exactly one bencoded dictionary;
// `*rest` gets any incomplete tail.
inline std::optional<std::vector<ParsedResponse>> ParseResponses(std::string_view bytes,
                                                                 std::string* rest = nullptr) {
  std::vector<ParsedResponse> out;
  std::vector<http::Header> headers(64);
  while (!bytes.empty()) {
    auto head = http::ParseResponseHead(bytes, headers);
    if (head.incomplete()) break;
    if (head.failed() || !head.value().content_length.has_value()) return std::nullopt;
    const size_t length = static_cast<size_t>(*head.value().content_length);
    if (bytes.size() - head.consumed() < length) break;
    ParsedResponse r;
    r.status = head.value().status;
    r.keep_alive = head.value().keep_alive;
    r.body = std::string(bytes.substr(head.consumed(), length));
    bytes.remove_prefix(head.consumed() + length);
    // The body: one canonical bencoded dict, nothing after it.
    http::BencodeLimits strict;
    strict.strict = true;
    auto checked = http::CheckBencode(r.body, strict);
    if (!checked.ok() || r.body.empty() || r.body[0] != 'd') return std::nullopt;
    http::BencodeReader reader(r.body);
    http::BencodeToken token;
    if (!reader.Next(&token) || token.type != http::BencodeType::kDictBegin) return std::nullopt;
    while (true) {
      if (!reader.Next(&token)) return std::nullopt;
      if (token.type == http::BencodeType::kEnd) break;
      const std::string key(token.string);
      if (!reader.Next(&token)) return std::nullopt;
      if (token.type == http::BencodeType::kString) {
        if (key == "target") r.target = std::string(token.string);
        if (key == "failure reason") r.failure_reason = std::string(token.string);
      } else if (!reader.SkipValue(token)) {
        return std::nullopt;
      }
    }
    out.push_back(std::move(r));
  }
  if (rest != nullptr) *rest = std::string(bytes);
  return out;
}

}  // namespace reef::tcp::testing

#endif  // REEF_SERVER_TCP_CONNECTION_TEST_UTIL_H_
