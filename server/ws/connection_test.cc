#include "server/ws/connection.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ws/frame.h"

namespace reef::ws {
namespace {

constexpr MaskKey kMask = {0x12, 0x34, 0x56, 0x78};

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// A client frame: masked, as a browser sends it.
std::vector<uint8_t> ClientFrame(Opcode op, std::string_view payload, bool fin = true) {
  std::vector<uint8_t> out(payload.size() + kMaxFrameHeaderSize);
  auto w = WriteMaskedFrame(out, op, Bytes(payload), kMask, fin);
  REQUIRE(w.ok());
  out.resize(w.length());
  return out;
}

std::vector<uint8_t> ClientClose(uint16_t code, std::string_view reason = "") {
  std::vector<uint8_t> out(kMaxControlPayload + kMaxFrameHeaderSize);
  auto w = WriteCloseFrame(out, code, reason, &kMask);
  REQUIRE(w.ok());
  out.resize(w.length());
  return out;
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

struct ServerFrame {
  Opcode opcode;
  std::string payload;
};

// Parses everything the server wrote, as a client would; every frame must be a valid
// server frame (unmasked, minimal length), and nothing may trail.
std::vector<ServerFrame> ParseServerFrames(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  std::vector<ServerFrame> frames;
  size_t at = 0;
  while (at < copy.size()) {
    auto f = ParseFrame(std::span<uint8_t>(copy).subspan(at), Role::kClient,
                        FrameLimits{.max_payload = 1 << 30});
    REQUIRE(f.ok());
    frames.push_back({f.value().header.opcode,
                      std::string(f.value().payload.begin(), f.value().payload.end())});
    at += f.value().header.header_length + f.value().payload.size();
  }
  return frames;
}

struct RecordingHandler : WsConnection::Handler {
  std::vector<std::string> messages;
  int closing_calls = 0;
  std::string reply_prefix;  // if set, every message is answered with prefix + message
  void OnText(WsConnection& c, std::string_view m) override {
    messages.emplace_back(m);
    if (!reply_prefix.empty()) c.SendText(reply_prefix + std::string(m));
  }
  void OnClosing(WsConnection&) override { ++closing_calls; }
};

struct Fixture {
  ConnectionLimits limits;
  ConnectionStats stats;
  RecordingHandler handler;
  int64_t now = 1000;
  std::unique_ptr<WsConnection> c;

  explicit Fixture(ConnectionLimits l = {}) : limits(l) {
    REQUIRE(ValidateConnectionLimits(limits).ok());
    c = std::make_unique<WsConnection>(limits, handler, stats, now);
  }
  void Feed(std::vector<uint8_t> bytes) { c->OnBytes(bytes, now); }
  // Takes all output, as a socket that writes everything.
  std::vector<ServerFrame> Drain() {
    auto frames = ParseServerFrames(c->output());
    c->ConsumeOutput(c->output_size(), now);
    return frames;
  }
  // Drains the output, which must be exactly one close frame; returns its code.
  uint16_t OnlyCloseCode() {
    auto out = Drain();
    REQUIRE(out.size() == 1);
    return CloseCode(out[0]);
  }
  uint16_t CloseCode(const ServerFrame& f) {
    REQUIRE(f.opcode == Opcode::kClose);
    REQUIRE(f.payload.size() >= 2);
    return static_cast<uint16_t>((uint8_t(f.payload[0]) << 8) | uint8_t(f.payload[1]));
  }
};

TEST_CASE("a text message in one frame reaches the handler, whole") {
  Fixture f;
  f.Feed(ClientFrame(Opcode::kText, R"({"action":"scrape"})"));
  REQUIRE(f.handler.messages.size() == 1);
  CHECK(f.handler.messages[0] == R"({"action":"scrape"})");
  CHECK(f.c->open());
  CHECK(f.c->output_size() == 0);
  CHECK(f.stats.messages.load() == 1);
}

TEST_CASE("frames split at every byte boundary still make the same messages") {
  const auto stream = Concat({ClientFrame(Opcode::kText, "hello"),
                              ClientFrame(Opcode::kText, "wor", false),
                              ClientFrame(Opcode::kPing, "p"),
                              ClientFrame(Opcode::kContinuation, "ld", true),
                              ClientFrame(Opcode::kText, std::string(300, 'x'))});
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    CAPTURE(chunk);
    Fixture f;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      std::vector<uint8_t> piece(stream.begin() + static_cast<std::ptrdiff_t>(at),
                                 stream.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(stream.size(), at + chunk)));
      f.Feed(piece);
    }
    REQUIRE(f.handler.messages.size() == 3);
    CHECK(f.handler.messages[0] == "hello");
    CHECK(f.handler.messages[1] == "world");
    CHECK(f.handler.messages[2] == std::string(300, 'x'));
    auto out = f.Drain();
    REQUIRE(out.size() == 1);  // the pong, sent between the fragments
    CHECK(out[0].opcode == Opcode::kPong);
    CHECK(out[0].payload == "p");
    CHECK(f.c->buffered_bytes() == 0);
  }
}

TEST_CASE("a ping is answered with a pong carrying the same payload") {
  Fixture f;
  f.Feed(ClientFrame(Opcode::kPing, "12345"));
  auto out = f.Drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].opcode == Opcode::kPong);
  CHECK(out[0].payload == "12345");
  f.Feed(ClientFrame(Opcode::kPong, "x"));  // an unsolicited pong is fine
  CHECK(f.Drain().empty());
  CHECK(f.stats.pings_received.load() == 1);
  CHECK(f.stats.pongs_received.load() == 1);
}

TEST_CASE("the client's close is echoed and the connection is done once it is written") {
  Fixture f;
  f.Feed(Concat({ClientClose(4000, "bye"), ClientFrame(Opcode::kText, "after close")}));
  CHECK(f.handler.messages.empty());
  CHECK(f.handler.closing_calls == 1);
  CHECK_FALSE(f.c->open());
  CHECK_FALSE(f.c->wants_read());
  CHECK_FALSE(f.c->done());  // the close frame is not written yet
  CHECK(f.OnlyCloseCode() == 4000);
  CHECK(f.c->done());
  CHECK(f.c->close_cause() == CloseCause::kClientClose);
  f.c->OnSocketClosed();
  CHECK(f.handler.closing_calls == 1);  // exactly once
}

TEST_CASE("an empty close is answered with 1000") {
  Fixture f;
  f.Feed(ClientFrame(Opcode::kClose, ""));
  CHECK(f.OnlyCloseCode() == kCloseNormal);
}

TEST_CASE("a frame just over max_message_size closes with 1009 from its header alone") {
  ConnectionLimits limits;
  limits.max_message_size = 4096;
  limits.max_outbound_bytes = 8192;
  Fixture f(limits);
  // Exactly at the limit: accepted.
  f.Feed(ClientFrame(Opcode::kText, std::string(4096, 'a')));
  REQUIRE(f.handler.messages.size() == 1);
  CHECK(f.handler.messages[0].size() == 4096);
  // One byte over: only the header is sent, and the close comes at once.
  auto big = ClientFrame(Opcode::kText, std::string(4097, 'a'));
  big.resize(8);  // 2 + 2 (16-bit length) + 4 (mask)
  f.Feed(big);
  CHECK(f.OnlyCloseCode() == kCloseMessageTooBig);
  CHECK(f.c->done());
  CHECK(f.stats.too_big.load() == 1);
  CHECK(f.handler.closing_calls == 1);
  CHECK(f.c->buffered_bytes() == 0);
}

TEST_CASE("a fragmented message just over max_message_size closes with 1009") {
  ConnectionLimits limits;
  limits.max_message_size = 2048;
  limits.max_outbound_bytes = 4096;
  Fixture f(limits);
  f.Feed(Concat({ClientFrame(Opcode::kText, std::string(1024, 'a'), false),
                 ClientFrame(Opcode::kContinuation, std::string(1024, 'b'), true)}));
  REQUIRE(f.handler.messages.size() == 1);
  CHECK(f.handler.messages[0].size() == 2048);
  f.Feed(Concat({ClientFrame(Opcode::kText, std::string(1024, 'a'), false),
                 ClientFrame(Opcode::kContinuation, std::string(1025, 'b'), true)}));
  CHECK(f.handler.messages.size() == 1);
  CHECK(f.OnlyCloseCode() == kCloseMessageTooBig);
}

TEST_CASE("frame errors close with the code RFC 6455 gives them") {
  SUBCASE("invalid UTF-8: 1007") {
    Fixture f;
    f.Feed(ClientFrame(Opcode::kText, "\xc3\x28"));
    CHECK(f.OnlyCloseCode() == kCloseInvalidPayload);
  }
  SUBCASE("UTF-8 broken across fragments: 1007") {
    Fixture f;
    f.Feed(Concat({ClientFrame(Opcode::kText, "ok\xc3", false),
                   ClientFrame(Opcode::kContinuation, "\x28", true)}));
    CHECK(f.OnlyCloseCode() == kCloseInvalidPayload);
    CHECK(f.handler.messages.empty());
  }
  SUBCASE("an unmasked client frame: 1002") {
    Fixture f;
    std::vector<uint8_t> frame(16);
    auto w = WriteFrame(frame, Opcode::kText, Bytes("hi"));
    REQUIRE(w.ok());
    frame.resize(w.length());
    f.Feed(frame);
    CHECK(f.OnlyCloseCode() == kCloseProtocolError);
    CHECK(f.stats.protocol_errors.load() == 1);
  }
  SUBCASE("a continuation without a message: 1002") {
    Fixture f;
    f.Feed(ClientFrame(Opcode::kContinuation, "x"));
    CHECK(f.OnlyCloseCode() == kCloseProtocolError);
  }
  SUBCASE("reserved bits: 1002") {
    Fixture f;
    auto frame = ClientFrame(Opcode::kText, "x");
    frame[0] |= 0x40;
    f.Feed(frame);
    CHECK(f.OnlyCloseCode() == kCloseProtocolError);
  }
  SUBCASE("a binary message: 1003") {
    Fixture f;
    f.Feed(ClientFrame(Opcode::kBinary, "\x01\x02"));
    CHECK(f.OnlyCloseCode() == kCloseUnsupportedData);
    CHECK(f.stats.binary_refused.load() == 1);
    CHECK(f.handler.messages.empty());
  }
}

TEST_CASE("nothing after an error is read, and the handler hears of the closing once") {
  Fixture f;
  f.Feed(Concat({ClientFrame(Opcode::kText, "\xff"), ClientFrame(Opcode::kText, "later")}));
  f.Feed(ClientFrame(Opcode::kText, "even later"));
  CHECK(f.handler.messages.empty());
  CHECK(f.handler.closing_calls == 1);
  CHECK(f.c->close_cause() == CloseCause::kProtocolError);
}

TEST_CASE("a silent connection is pinged, and closed when it does not answer") {
  ConnectionLimits limits;
  limits.ping_interval_ms = 10'000;
  limits.idle_timeout_ms = 25'000;
  Fixture f(limits);
  const int64_t start = f.now;
  CHECK(f.c->next_deadline_ms() == start + 10'000);
  f.c->OnTimer(start + 9'999);
  CHECK(f.c->output_size() == 0);
  f.c->OnTimer(start + 10'000);
  auto out = f.Drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].opcode == Opcode::kPing);
  f.c->OnTimer(start + 11'000);  // one ping per silence
  CHECK(f.c->output_size() == 0);
  CHECK(f.c->next_deadline_ms() == start + 25'000);

  SUBCASE("a pong keeps it alive") {
    f.now = start + 20'000;
    f.Feed(ClientFrame(Opcode::kPong, ""));
    CHECK(f.c->next_deadline_ms() == start + 30'000);
    f.c->OnTimer(start + 25'000);
    CHECK(f.c->open());
  }
  SUBCASE("no answer: closed at the idle timeout, not a moment before") {
    f.c->OnTimer(start + 24'999);
    CHECK(f.c->open());
    f.c->OnTimer(start + 25'000);
    CHECK_FALSE(f.c->open());
    CHECK(f.c->done());
    CHECK(f.c->close_cause() == CloseCause::kIdleTimeout);
    CHECK(f.handler.closing_calls == 1);
    CHECK(f.stats.idle_timeouts.load() == 1);
  }
}

TEST_CASE("a client that does not read stops being read and loses relayed frames") {
  ConnectionLimits limits;
  limits.max_message_size = 1024;
  limits.max_outbound_bytes = 4096;
  Fixture f(limits);
  f.handler.reply_prefix = std::string(1000, 'r');

  // Six requests in one read; the replies (~1 KiB each) fill the output at the fifth,
  // so the sixth is kept, unread.
  std::vector<uint8_t> requests;
  for (int i = 0; i < 6; ++i) {
    const auto frame = ClientFrame(Opcode::kText, std::to_string(i));
    requests.insert(requests.end(), frame.begin(), frame.end());
  }
  f.Feed(requests);
  CHECK(f.handler.messages.size() == 5);
  CHECK_FALSE(f.c->wants_read());
  CHECK(f.c->output_size() >= limits.max_outbound_bytes);
  CHECK(f.c->output_size() < limits.max_outbound_bytes + 1024 + kMaxFrameHeaderSize);

  // Relayed frames are dropped, counted, while it is full.
  std::vector<uint8_t> relayed(100, 0x81);
  CHECK_FALSE(f.c->SendRelayed(relayed));
  CHECK(f.stats.relayed_dropped.load() == 1);

  // Once the client reads, the kept request is handled.
  auto out = f.Drain();
  CHECK(out.size() == 5);
  CHECK(f.handler.messages.size() == 6);
  CHECK(f.c->wants_read());
  out = f.Drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload == f.handler.reply_prefix + "5");
  CHECK(f.c->buffered_bytes() == 0);
}

TEST_CASE("relayed frames fit exactly up to max_outbound_bytes") {
  ConnectionLimits limits;
  limits.max_message_size = 1024;
  limits.max_outbound_bytes = 2048;
  Fixture f(limits);
  std::vector<uint8_t> frame(1000);
  auto w = WriteFrame(frame, Opcode::kText, std::vector<uint8_t>(996, 'x'));
  REQUIRE(w.ok());
  REQUIRE(w.length() == 1000);
  CHECK(f.c->SendRelayed(frame));
  CHECK(f.c->SendRelayed(frame));
  CHECK(f.c->output_size() == 2000);
  CHECK_FALSE(f.c->SendRelayed(std::span<const uint8_t>(frame).first(49)));
  CHECK(f.c->SendRelayed(std::span<const uint8_t>(frame).first(48)));
  CHECK(f.stats.relayed_dropped.load() == 1);
}

TEST_CASE("a close reef starts waits for the client's close, then gives up") {
  Fixture f;
  f.c->Close(kCloseGoingAway, "shutting down", f.now);
  CHECK(f.handler.closing_calls == 1);
  CHECK_FALSE(f.c->open());
  auto out = f.Drain();
  REQUIRE(out.size() == 1);
  CHECK(f.CloseCode(out[0]) == kCloseGoingAway);
  CHECK(out[0].payload.substr(2) == "shutting down");
  CHECK_FALSE(f.c->done());
  f.Feed(ClientFrame(Opcode::kText, "ignored"));
  CHECK(f.handler.messages.empty());

  SUBCASE("the client closes too") {
    f.Feed(ClientClose(kCloseGoingAway));
    CHECK(f.c->done());
    CHECK(f.Drain().empty());  // no second close frame
  }
  SUBCASE("the client never answers") {
    f.c->OnTimer(f.now + kCloseTimeoutMs - 1);
    CHECK_FALSE(f.c->done());
    f.c->OnTimer(f.now + kCloseTimeoutMs);
    CHECK(f.c->done());
  }
}

TEST_CASE("a closed connection whose client never reads the close frame is given up") {
  Fixture f;
  f.Feed(ClientClose(kCloseNormal));
  CHECK_FALSE(f.c->done());
  CHECK(f.c->next_deadline_ms() == f.now + kCloseTimeoutMs);
  f.c->OnTimer(f.now + kCloseTimeoutMs);
  CHECK(f.c->done());
  CHECK(f.c->buffered_bytes() == 0);
}

TEST_CASE("the socket closing ends the connection and tells the handler") {
  Fixture f;
  f.Feed(ClientFrame(Opcode::kText, "part", false));
  CHECK(f.c->buffered_bytes() > 0);
  f.c->OnSocketClosed();
  CHECK(f.c->done());
  CHECK(f.handler.closing_calls == 1);
  CHECK(f.c->close_cause() == CloseCause::kSocketClosed);
  CHECK(f.stats.socket_closed.load() == 1);
  CHECK(f.c->buffered_bytes() == 0);
}

TEST_CASE("the handler may close the connection from inside OnText") {
  struct Closer : WsConnection::Handler {
    int closing = 0;
    void OnText(WsConnection& c, std::string_view) override {
      c.Close(kClosePolicyViolation, "no", 0);
    }
    void OnClosing(WsConnection&) override { ++closing; }
  } closer;
  ConnectionLimits limits;
  ConnectionStats stats;
  WsConnection c(limits, closer, stats, 0);
  auto bytes = Concat({ClientFrame(Opcode::kText, "a"), ClientFrame(Opcode::kText, "b")});
  c.OnBytes(bytes, 0);
  CHECK(closer.closing == 1);
  auto out = ParseServerFrames(c.output());
  REQUIRE(out.size() == 1);
  CHECK(out[0].opcode == Opcode::kClose);
}

TEST_CASE("limits are validated") {
  ConnectionLimits l;
  CHECK(ValidateConnectionLimits(l).ok());
  l.max_message_size = kMinMessageSize - 1;
  CHECK_FALSE(ValidateConnectionLimits(l).ok());
  l = {};
  l.max_outbound_bytes = l.max_message_size + kMaxFrameHeaderSize - 1;
  CHECK_FALSE(ValidateConnectionLimits(l).ok());
  l.max_outbound_bytes += 1;
  CHECK(ValidateConnectionLimits(l).ok());
  l = {};
  l.idle_timeout_ms = l.ping_interval_ms;
  CHECK_FALSE(ValidateConnectionLimits(l).ok());
  l = {};
  l.ping_interval_ms = 0;
  CHECK_FALSE(ValidateConnectionLimits(l).ok());
}

}  // namespace
}  // namespace reef::ws
