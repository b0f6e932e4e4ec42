// The connection state machine over plain HTTP, driven by hand with a fake clock: keep-alive,
// HTTP/1.0 and 1.1, pipelining, partial reads and writes, every limit just past it, every
// close path. TLS is in tls_test.cc.
#include "server/tcp/connection.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/http/errors.h"
#include "server/tcp/connection_test_util.h"

namespace reef::tcp {
namespace {

using testing::ConnectionHarness;
using testing::ParseResponses;
using testing::ParsedResponse;
using State = Connection::State;

constexpr char kAnnounce[] = "GET /announce?a=1 HTTP/1.1\r\nHost: t\r\n\r\n";

ConnectionLimits TestLimits() {
  ConnectionLimits limits;
  limits.head_timeout_ms = 10'000;
  limits.keep_alive_timeout_ms = 60'000;
  limits.write_timeout_ms = 5'000;
  limits.linger_timeout_ms = 2'000;
  limits.tls_handshake_timeout_ms = 3'000;
  return limits;
}

std::string Get(std::string_view target, std::string_view extra_headers = "",
                std::string_view version = "HTTP/1.1") {
  return std::string("GET ") + std::string(target) + " " + std::string(version) +
         "\r\nHost: t\r\n" + std::string(extra_headers) + "\r\n";
}

std::vector<ParsedResponse> MustParse(const std::string& bytes) {
  std::string rest;
  auto parsed = ParseResponses(bytes, &rest);
  REQUIRE_MESSAGE(parsed.has_value(), "not well-formed: ", bytes);
  CHECK_MESSAGE(rest.empty(), "trailing: ", rest);
  return *parsed;
}

TEST_CASE("limits are validated, and the defaults pass") {
  CHECK(ValidateLimits(ConnectionLimits{}, 4096).ok());
  ConnectionLimits limits;
  limits.max_head_bytes = 255;
  CHECK_FALSE(ValidateLimits(limits, 4096).ok());
  limits = {};
  limits.max_headers = 0;
  CHECK_FALSE(ValidateLimits(limits, 4096).ok());
  limits = {};
  limits.head_timeout_ms = 0;
  CHECK_FALSE(ValidateLimits(limits, 4096).ok());
  limits = {};
  limits.max_output_bytes = 4096;  // no room for a sealed 4096-byte response
  CHECK_FALSE(ValidateLimits(limits, 4096).ok());
  limits = {};
  limits.max_connections = 0;
  CHECK_FALSE(ValidateLimits(limits, 4096).ok());
}

TEST_CASE("one request, one response, and the connection stays open and idle") {
  ConnectionHarness h(TestLimits());
  CHECK(h.Feed(kAnnounce) == sizeof(kAnnounce) - 1);
  const auto responses = MustParse(h.Drain());
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].status == 200);
  CHECK(responses[0].keep_alive);
  CHECK(responses[0].target == "/announce?a=1");
  CHECK(h.state() == State::kOpen);
  CHECK(h.conn().armed());
  CHECK(h.conn().kind() == TimerKind::kIdle);
  // An idle connection holds no buffer.
  CHECK(h.conn().BufferedBytes() == 0);
  CHECK(h.handler().last_peer() == testing::TestPeer());
  CHECK(h.ctx().stats.requests.load() == 1);
}

TEST_CASE("HTTP/1.0 closes unless it asks for keep-alive; HTTP/1.1 stays unless it asks to close") {
  SUBCASE("1.0") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/x", "", "HTTP/1.0"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK_FALSE(r[0].keep_alive);
    CHECK(h.state() == State::kClosed);
  }
  SUBCASE("1.0 keep-alive") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/x", "Connection: keep-alive\r\n", "HTTP/1.0"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].keep_alive);
    CHECK(h.state() == State::kOpen);
  }
  SUBCASE("1.1 close") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/x", "Connection: close\r\n"));
    CHECK(h.state() == State::kClosing);  // until the response is out
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK_FALSE(r[0].keep_alive);
    CHECK(h.state() == State::kClosed);
  }
  SUBCASE("the handler closes a kept-alive connection") {
    ConnectionHarness h(TestLimits());
    h.handler().CloseNext();
    h.Feed(Get("/x"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK_FALSE(r[0].keep_alive);
    CHECK(h.state() == State::kClosed);
  }
}

TEST_CASE("pipelined requests are answered in order, in one read or byte by byte") {
  const std::string three = Get("/1") + Get("/2") + Get("/3");
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{100}, three.size()}) {
    CAPTURE(chunk);
    ConnectionHarness h(TestLimits());
    CHECK(h.Feed(three, chunk) == three.size());
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 3);
    CHECK(r[0].target == "/1");
    CHECK(r[1].target == "/2");
    CHECK(r[2].target == "/3");
    CHECK(h.state() == State::kOpen);
    CHECK(h.conn().BufferedBytes() == 0);
  }
}

TEST_CASE("a head's end is found wherever the reads split it, CRLF or bare LF") {
  const std::string crlf = Get("/crlf");
  const std::string lf = "GET /lf HTTP/1.1\nHost: t\n\n";
  const std::string mixed = "GET /mixed HTTP/1.1\r\nHost: t\n\r\n";
  for (const std::string& request : {crlf, lf, mixed}) {
    for (size_t cut = 1; cut < request.size(); ++cut) {
      CAPTURE(request);
      CAPTURE(cut);
      ConnectionHarness h(TestLimits());
      h.Feed(std::string_view(request).substr(0, cut), 1);
      h.Feed(std::string_view(request).substr(cut));
      const auto r = MustParse(h.Drain());
      REQUIRE(r.size() == 1);
      CHECK(r[0].status == 200);
    }
  }
}

TEST_CASE("a bad head sent byte by byte is refused once its end or the size limit comes") {
  ConnectionLimits limits = TestLimits();
  limits.max_head_bytes = 300;
  SUBCASE("end") {
    ConnectionHarness h(limits);
    h.Feed("PUT /x HTTP/1.1\r\nHost: t\r\n\r\n", 1);
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 405);
  }
  SUBCASE("size") {
    ConnectionHarness h(limits);
    h.Feed("PUT /" + std::string(400, 'x'), 1);
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 431);
  }
}

TEST_CASE("a client that reads a byte at a time gets every response whole") {
  ConnectionHarness h(TestLimits());
  h.Feed(Get("/1") + Get("/2"));
  std::string got = h.Drain(SIZE_MAX, 1);
  const auto r = MustParse(got);
  REQUIRE(r.size() == 2);
  CHECK(r[1].target == "/2");
}

TEST_CASE("empty lines between pipelined requests are skipped") {
  ConnectionHarness h(TestLimits());
  h.Feed(Get("/1") + "\r\n\r\n" + Get("/2"));
  const auto r = MustParse(h.Drain());
  REQUIRE(r.size() == 2);
}

TEST_CASE("a partial head is kept until the rest comes; only the partial part is buffered") {
  ConnectionHarness h(TestLimits());
  const std::string request = Get("/announce?x=1");
  h.Feed(std::string_view(request).substr(0, 10));
  CHECK(h.conn().PendingOutput().empty());
  CHECK(h.conn().BufferedBytes() == h.ctx().limits.max_head_bytes);
  CHECK(h.conn().ReceiveBudget() == h.ctx().limits.max_head_bytes - 10);
  h.Feed(std::string_view(request).substr(10));
  const auto r = MustParse(h.Drain());
  REQUIRE(r.size() == 1);
  CHECK(r[0].target == "/announce?x=1");
  CHECK(h.conn().BufferedBytes() == 0);
}

// ---- Limits, just past them ---------------------------------------------------------------

// A request whose head is exactly `size` bytes.
std::string HeadOfSize(size_t size) {
  std::string head = Get("/a", "X-Fill: ");
  const size_t base = head.size() + 2;  // + "\r\n" after the filler
  REQUIRE(size >= base);
  head.insert(head.size() - 2, std::string(size - base, 'f'));
  head.insert(head.size() - 2, "\r\n");
  // head now ends "X-Fill: fff\r\n\r\n"
  head.erase(head.size() - 2);
  REQUIRE(head.size() == size - 2);
  head += "\r\n";
  REQUIRE(head.size() == size);
  return head;
}

TEST_CASE("max_head_bytes: a head of exactly the limit is served, one byte more is 431") {
  ConnectionLimits limits = TestLimits();
  limits.max_head_bytes = 1024;
  SUBCASE("at the limit") {
    ConnectionHarness h(limits);
    h.Feed(HeadOfSize(1024));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 200);
    CHECK(h.state() == State::kOpen);
  }
  SUBCASE("one past, in one read or in pieces") {
    for (size_t chunk : {size_t{1}, size_t{100}, size_t{4096}}) {
      CAPTURE(chunk);
      ConnectionHarness h(limits);
      h.Feed(HeadOfSize(1025), chunk);
      const auto r = MustParse(h.Drain());
      REQUIRE(r.size() == 1);
      CHECK(r[0].status == 431);
      CHECK(r[0].failure_reason == http::ErrorReason(http::ParseError::kRequestTooLarge));
      CHECK_FALSE(r[0].keep_alive);
      CHECK(h.state() == State::kLinger);
      CHECK(h.ctx().stats.bad_requests.load() == 1);
    }
  }
  SUBCASE("never more than the limit is held: the budget stops at it") {
    ConnectionHarness h(limits);
    const std::string big = HeadOfSize(5000);
    const size_t taken = h.Feed(big, 700);
    CHECK(taken <= 1024 + 700);
    CHECK(h.state() != State::kOpen);
  }
}

TEST_CASE("max_headers: exactly the limit is served, one more is 431") {
  ConnectionLimits limits = TestLimits();
  limits.max_headers = 4;
  std::string three_more;
  for (int i = 0; i < 3; ++i) three_more += "X-H" + std::to_string(i) + ": v\r\n";
  SUBCASE("at the limit (Host + 3)") {
    ConnectionHarness h(limits);
    h.Feed(Get("/a", three_more));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 200);
  }
  SUBCASE("one past") {
    ConnectionHarness h(limits);
    h.Feed(Get("/a", three_more + "X-H3: v\r\n"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 431);
    CHECK(r[0].failure_reason == http::ErrorReason(http::ParseError::kTooManyHeaders));
  }
}

TEST_CASE("a refused head gets its status and reason; nothing after it is answered") {
  struct Case {
    std::string request;
    int status;
    http::ParseError error;
  };
  const Case cases[] = {
      {"POST /announce HTTP/1.1\r\n\r\n", 405, http::ParseError::kMethodNotAllowed},
      {"GET /announce HTTP/2.0\r\n\r\n", 505, http::ParseError::kUnsupportedVersion},
      {"GET announce HTTP/1.1\r\n\r\n", 400, http::ParseError::kBadTarget},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls to a plain port\r\n\r\n", 400,
       http::ParseError::kBadRequestLine},
      {"GET /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 413, http::ParseError::kBodyNotAllowed},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    ConnectionHarness h(TestLimits());
    h.Feed(c.request + Get("/after"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == c.status);
    CHECK(r[0].failure_reason == http::ErrorReason(c.error));
    CHECK(h.handler().calls() == 0);
    CHECK(h.state() == State::kLinger);
  }
}

TEST_CASE("head timeout: a head must be complete in time, and dribbling does not extend it") {
  ConnectionHarness h(TestLimits());
  const std::string request = Get("/slow");
  // One byte a second: slowloris.
  for (size_t i = 0; i + 1 < request.size() && h.state() == State::kOpen; ++i) {
    h.Feed(std::string_view(request).substr(i, 1));
    h.Advance(1000);
  }
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.head_timeouts.load() == 1);
  CHECK(h.handler().calls() == 0);
}

TEST_CASE("head timeout: a connection that never sends is closed just after the limit") {
  ConnectionHarness h(TestLimits());
  h.Advance(TestLimits().head_timeout_ms - 1);
  CHECK(h.state() == State::kOpen);
  h.Advance(1);
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.head_timeouts.load() == 1);
}

TEST_CASE("keep-alive timeout: idle after a response, closed just after the limit") {
  ConnectionHarness h(TestLimits());
  h.Feed(Get("/1"));
  h.Drain();
  h.Advance(TestLimits().keep_alive_timeout_ms - 1);
  CHECK(h.state() == State::kOpen);
  // A new request in time resets it.
  h.Feed(Get("/2"));
  h.Drain();
  h.Advance(TestLimits().keep_alive_timeout_ms - 1);
  CHECK(h.state() == State::kOpen);
  h.Advance(1);
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.idle_timeouts.load() == 1);
}

TEST_CASE("the first byte of the next request switches from the idle to the head timeout") {
  ConnectionHarness h(TestLimits());
  h.Feed(Get("/1"));
  h.Drain();
  h.Feed("G");
  CHECK(h.conn().kind() == TimerKind::kHead);
  h.Advance(TestLimits().head_timeout_ms);
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.head_timeouts.load() == 1);
}

TEST_CASE("write timeout: a client that never reads is closed; one that reads slowly is not") {
  SUBCASE("never reads") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/1"));
    CHECK(h.conn().kind() == TimerKind::kWrite);
    h.Advance(TestLimits().write_timeout_ms - 1);
    CHECK(h.state() == State::kOpen);
    h.Advance(1);
    CHECK(h.state() == State::kClosed);
    CHECK(h.ctx().stats.write_timeouts.load() == 1);
  }
  SUBCASE("reads a byte every write_timeout - 1") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/1"));
    std::string got;
    for (int i = 0; i < 20 && !h.conn().PendingOutput().empty(); ++i) {
      h.Advance(TestLimits().write_timeout_ms - 1);
      REQUIRE(h.state() == State::kOpen);
      got += h.Drain(1);
    }
    got += h.Drain();
    CHECK(MustParse(got).size() == 1);
  }
}

TEST_CASE("max_output_bytes: pipelined requests wait for room and are answered once the client reads") {
  ConnectionLimits limits = TestLimits();
  const size_t padding = 3000;
  testing::EchoHandler sizer(padding);
  // Room for two sealed responses and a bit, so the third has to wait.
  limits.max_output_bytes =
      TlsSealedSize(sizer.MaxResponseBytes()) + kTlsOutputSlack + 2 * (padding + 200);
  REQUIRE(ValidateLimits(limits, sizer.MaxResponseBytes()).ok());
  ConnectionHarness h(limits, padding);
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += Get("/" + std::to_string(i));
  const size_t taken = h.Feed(ten);
  CHECK(taken == ten.size());  // all of it fits in the head budget
  const size_t answered = h.handler().calls();
  CHECK(answered < 10);
  CHECK(h.conn().ReceiveBudget() == 0);  // backpressure: the worker stops reading
  CHECK(h.ctx().stats.backpressure_waits.load() >= 1);
  CHECK(h.conn().PendingOutput().size() <= limits.max_output_bytes);
  // The client reads; the waiting requests are answered, in order.
  std::string got;
  for (int i = 0; i < 100 && h.handler().calls() < 10; ++i) got += h.Drain(1000);
  got += h.Drain();
  const auto r = MustParse(got);
  REQUIRE(r.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(r[static_cast<size_t>(i)].target == "/" + std::to_string(i));
  CHECK(h.conn().ReceiveBudget() > 0);
  CHECK(h.conn().BufferedBytes() == 0);
}

TEST_CASE("a client that pipelines forever without reading holds bounded memory and is closed") {
  ConnectionLimits limits = TestLimits();
  ConnectionHarness h(limits, 2000);
  const std::string request = Get("/flood");
  for (int i = 0; i < 10'000; ++i) {
    if (h.Feed(request) < request.size()) break;
  }
  CHECK(h.conn().ReceiveBudget() == 0);
  CHECK(h.conn().BufferedBytes() <= limits.max_head_bytes + limits.max_output_bytes);
  h.Advance(limits.write_timeout_ms);
  CHECK(h.state() == State::kClosed);
  CHECK(h.conn().BufferedBytes() == 0);
}

// ---- Close paths ---------------------------------------------------------------------------

TEST_CASE("EOF: with nothing pending the connection closes; a partial head is dropped") {
  SUBCASE("idle") {
    ConnectionHarness h(TestLimits());
    h.conn().ReceiveEnd(h.now());
    CHECK(h.state() == State::kClosed);
  }
  SUBCASE("partial head") {
    ConnectionHarness h(TestLimits());
    h.Feed("GET /a HT");
    h.conn().ReceiveEnd(h.now());
    CHECK(h.state() == State::kClosed);
    CHECK(h.conn().BufferedBytes() == 0);
  }
  SUBCASE("unsent response: sent, then closed") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/a"));
    h.conn().ReceiveEnd(h.now());
    CHECK(h.state() == State::kClosing);
    CHECK(MustParse(h.Drain()).size() == 1);
    CHECK(h.state() == State::kClosed);
  }
}

TEST_CASE("EOF after pipelined requests that wait for room: all are answered, then close") {
  ConnectionLimits limits = TestLimits();
  const size_t padding = 3000;
  testing::EchoHandler sizer(padding);
  limits.max_output_bytes = TlsSealedSize(sizer.MaxResponseBytes()) + kTlsOutputSlack + 4000;
  ConnectionHarness h(limits, padding);
  std::string five;
  for (int i = 0; i < 5; ++i) five += Get("/" + std::to_string(i));
  REQUIRE(h.Feed(five) == five.size());
  REQUIRE(h.handler().calls() < 5);
  h.conn().ReceiveEnd(h.now());
  CHECK(h.state() == State::kOpen);
  CHECK(h.conn().ReceiveBudget() == 0);  // nothing more to read, even with room
  std::string got;
  for (int i = 0; i < 100 && h.state() != State::kClosed; ++i) got += h.Drain(2000);
  CHECK(MustParse(got).size() == 5);
  CHECK(h.state() == State::kClosed);
}

TEST_CASE("linger: after an error response the connection waits for EOF or its timer") {
  SUBCASE("EOF") {
    ConnectionHarness h(TestLimits());
    h.Feed("BREW /coffee HTTP/1.1\r\n\r\n");
    h.Drain();
    REQUIRE(h.state() == State::kLinger);
    CHECK(h.conn().ReceiveBudget() == 0);
    CHECK(h.conn().kind() == TimerKind::kLinger);
    h.conn().ReceiveEnd(h.now());
    CHECK(h.state() == State::kClosed);
  }
  SUBCASE("timer") {
    ConnectionHarness h(TestLimits());
    h.Feed("BREW /coffee HTTP/1.1\r\n\r\n");
    h.Drain();
    h.Advance(TestLimits().linger_timeout_ms);
    CHECK(h.state() == State::kClosed);
  }
  SUBCASE("requests pipelined after Connection: close make it linger too") {
    ConnectionHarness h(TestLimits());
    h.Feed(Get("/1", "Connection: close\r\n") + Get("/2"));
    const auto r = MustParse(h.Drain());
    REQUIRE(r.size() == 1);
    CHECK(h.state() == State::kLinger);
  }
}

TEST_CASE("Abort closes at once and frees everything") {
  ConnectionHarness h(TestLimits());
  h.Feed(Get("/a") + "GET /b");
  CHECK(h.conn().BufferedBytes() > 0);
  h.conn().Abort();
  CHECK(h.state() == State::kClosed);
  CHECK(h.conn().BufferedBytes() == 0);
  CHECK_FALSE(h.conn().armed());
}

TEST_CASE("QueueOutput adds bytes to an open connection, refuses what does not fit") {
  ConnectionHarness h(TestLimits());
  CHECK(h.conn().QueueOutput(testing::AsBytes("hello"), h.now()));
  CHECK(h.Drain() == "hello");
  std::string huge(h.ctx().limits.max_output_bytes + 1, 'x');
  CHECK_FALSE(h.conn().QueueOutput(testing::AsBytes(huge), h.now()));
  CHECK(h.conn().PendingOutput().empty());
}

TEST_CASE("many connections share one context; each keeps its own requests") {
  testing::EchoHandler handler;
  ConnectionContext ctx(TestLimits(), handler);
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < 50; ++i) {
    conns.push_back(std::make_unique<Connection>(ctx, testing::TestPeer(), nullptr, 0));
  }
  const std::string request = Get("/announce?n=1");
  for (size_t i = 0; i < request.size(); ++i) {
    for (auto& c : conns) c->Receive(testing::AsBytes(std::string_view(request).substr(i, 1)), 0);
  }
  for (auto& c : conns) {
    std::span<const uint8_t> out = c->PendingOutput();
    const auto r = MustParse(std::string(reinterpret_cast<const char*>(out.data()), out.size()));
    REQUIRE(r.size() == 1);
    c->Sent(out.size(), 0);
  }
  CHECK(ctx.stats.requests.load() == 50);
  conns.clear();
  CHECK(ctx.timers.armed() == 0);
}

}  // namespace
}  // namespace reef::tcp
