#include "protocol/ws/frame.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::ws {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Of(std::string_view s) { return Bytes(s.begin(), s.end()); }
std::string_view Text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

constexpr MaskKey kRfcMask = {0x37, 0xfa, 0x21, 0x3d};

// RFC 6455 section 5.7, the examples.
TEST_CASE("frames: the RFC 6455 examples parse") {
  SUBCASE("a single-frame unmasked text message, read by a client") {
    Bytes in = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};  // FIN text, len 5, "Hello"
    auto r = ParseFrame(in, Role::kClient);
    REQUIRE(r.ok());
    CHECK(r.consumed() == 7);
    CHECK(r.value().header.fin);
    CHECK(r.value().header.opcode == Opcode::kText);
    CHECK_FALSE(r.value().header.masked);
    CHECK(Text(r.value().payload) == "Hello");
  }
  SUBCASE("a single-frame masked text message, read by a server") {
    Bytes in = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    auto r = ParseFrame(in, Role::kServer);
    REQUIRE(r.ok());
    CHECK(r.consumed() == 11);
    CHECK(r.value().header.mask == kRfcMask);
    CHECK(Text(r.value().payload) == "Hello");  // unmasked in place
    CHECK(Text(std::span<const uint8_t>(in).subspan(6)) == "Hello");
  }
  SUBCASE("a fragmented unmasked text message") {
    Bytes first = {0x01, 0x03, 0x48, 0x65, 0x6c};  // not FIN, text, "Hel"
    Bytes second = {0x80, 0x02, 0x6c, 0x6f};       // FIN, continuation, "lo"
    auto a = ParseFrame(first, Role::kClient);
    auto b = ParseFrame(second, Role::kClient);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK_FALSE(a.value().header.fin);
    CHECK(b.value().header.opcode == Opcode::kContinuation);
    std::array<uint8_t, 16> storage;
    MessageAssembler assembler(storage);
    auto e1 = assembler.OnFrame(a.value());
    REQUIRE(e1.ok());
    CHECK(e1.value().type == EventType::kNone);
    auto e2 = assembler.OnFrame(b.value());
    REQUIRE(e2.ok());
    CHECK(e2.value().type == EventType::kMessage);
    CHECK(e2.value().opcode == Opcode::kText);
    CHECK(Text(e2.value().payload) == "Hello");
  }
  SUBCASE("unmasked ping and masked pong") {
    Bytes ping = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    Bytes pong = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    auto p = ParseFrame(ping, Role::kClient);
    auto q = ParseFrame(pong, Role::kServer);
    REQUIRE(p.ok());
    REQUIRE(q.ok());
    CHECK(p.value().header.opcode == Opcode::kPing);
    CHECK(q.value().header.opcode == Opcode::kPong);
    CHECK(Text(q.value().payload) == "Hello");
  }
  SUBCASE("256 bytes in one unmasked binary frame: 16-bit length") {
    Bytes in = {0x82, 0x7E, 0x01, 0x00};
    in.resize(4 + 256, 0xab);
    auto r = ParseFrame(in, Role::kClient);
    REQUIRE(r.ok());
    CHECK(r.value().header.payload_length == 256);
    CHECK(r.value().header.header_length == 4);
  }
  SUBCASE("64 KiB in one unmasked binary frame: 64-bit length") {
    Bytes in = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    in.resize(10 + 65536, 0xcd);
    FrameLimits limits{.max_payload = 65536};
    auto r = ParseFrame(in, Role::kClient, limits);
    REQUIRE(r.ok());
    CHECK(r.value().header.payload_length == 65536);
    CHECK(r.consumed() == in.size());
  }
}

FrameError HeaderError(Bytes in, Role role = Role::kServer, FrameLimits limits = {}) {
  auto r = ParseFrameHeader(in, role, limits);
  REQUIRE(r.failed());
  return r.error();
}

TEST_CASE("frames: every header rule has its error, decided as early as possible") {
  CHECK(HeaderError({0x91}) == FrameError::kReservedBits);  // RSV1 in a one-byte input
  CHECK(HeaderError({0xA1}) == FrameError::kReservedBits);  // RSV2
  CHECK(HeaderError({0xC1}) == FrameError::kReservedBits);  // RSV3
  for (int op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    CHECK(HeaderError({static_cast<uint8_t>(0x80 | op)}) == FrameError::kUnknownOpcode);
  }
  CHECK(HeaderError({0x09}) == FrameError::kFragmentedControl);  // ping without FIN
  CHECK(HeaderError({0x08}) == FrameError::kFragmentedControl);  // close without FIN
  CHECK(HeaderError({0x81, 0x05}) == FrameError::kUnmaskedClientFrame);
  CHECK(HeaderError({0x81, 0x85}, Role::kClient) == FrameError::kMaskedServerFrame);
  CHECK(HeaderError({0x89, 0xFE}) == FrameError::kControlTooLong);  // 126 marker
  CHECK(HeaderError({0x89, 0x80 | 126}) == FrameError::kControlTooLong);
  // 16-bit length holding 125: fits the 7-bit form.
  CHECK(HeaderError({0x82, 0xFE, 0x00, 0x7D}) == FrameError::kNonMinimalLength);
  // 64-bit length holding 65535: fits the 16-bit form.
  CHECK(HeaderError({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}) ==
        FrameError::kNonMinimalLength);
  // The 64-bit length's top bit: an error as soon as its byte is there.
  CHECK(HeaderError({0x82, 0xFF, 0x80}) == FrameError::kLengthHighBit);
  CHECK(HeaderError({0x82, 0xFF, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x01}) ==
        FrameError::kPayloadTooLarge);  // 65537 > the default 64 KiB
}

TEST_CASE("frames: the payload limit, at it and just past it") {
  FrameLimits limits{.max_payload = 200};
  Bytes at = {0x82, 0xFE, 0x00, 200, 1, 2, 3, 4};
  Bytes past = {0x82, 0xFE, 0x00, 201, 1, 2, 3, 4};
  auto ok = ParseFrameHeader(at, Role::kServer, limits);
  REQUIRE(ok.ok());
  CHECK(ok.value().payload_length == 200);
  CHECK(ok.consumed() == 8);
  CHECK(HeaderError(past, Role::kServer, limits) == FrameError::kPayloadTooLarge);
  CHECK(kDefaultMaxPayload == 65536);
  CHECK(ParseFrameHeader(Bytes{0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
                         Role::kServer)
            .ok());
}

TEST_CASE("frames: every proper prefix of a frame is incomplete") {
  std::array<uint8_t, 400> buf;
  Bytes payload(300, 'x');
  for (bool masked : {false, true}) {
    auto w = masked ? WriteMaskedFrame(buf, Opcode::kBinary, payload, kRfcMask)
                    : WriteFrame(buf, Opcode::kBinary, payload);
    REQUIRE(w.ok());
    const Role role = masked ? Role::kServer : Role::kClient;
    for (size_t cut = 0; cut < w.length(); ++cut) {
      Bytes prefix(buf.begin(), buf.begin() + static_cast<long>(cut));
      auto r = ParseFrame(prefix, role);
      CHECK(r.incomplete());
      if (masked && cut > 8) {  // nothing unmasked before the frame is whole
        CHECK(prefix[8] == buf[8]);
      }
    }
    Bytes whole(buf.begin(), buf.begin() + static_cast<long>(w.length()));
    auto r = ParseFrame(whole, role);
    REQUIRE(r.ok());
    CHECK(r.consumed() == w.length());
    CHECK(Bytes(r.value().payload.begin(), r.value().payload.end()) == payload);
  }
}

TEST_CASE("frames: close payloads") {
  auto close = [](Bytes payload) { return ParseClose(payload); };
  auto empty = close({});
  REQUIRE(empty.ok());
  CHECK_FALSE(empty.value().has_code);
  CHECK(close({0x03}).error() == FrameError::kBadClosePayload);
  const Bytes bye = {0x03, 0xE8, 'b', 'y', 'e'};  // views need a live payload
  auto normal = ParseClose(bye);
  REQUIRE(normal.ok());
  CHECK(normal.value().code == 1000);
  CHECK(normal.value().reason == "bye");
  CHECK(close({0x03, 0xE8, 0xC0, 0x80}).error() == FrameError::kInvalidUtf8);
  for (int c : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    const auto code = static_cast<uint16_t>(c);
    CAPTURE(code);
    CHECK_FALSE(IsValidCloseCode(code));
    CHECK(close({static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)}).error() ==
          FrameError::kBadCloseCode);
  }
  for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000,
                        3999, 4000, 4999}) {
    const auto code = static_cast<uint16_t>(c);
    CAPTURE(code);
    CHECK(close({static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)}).ok());
  }
  // ParseFrame checks a close frame's payload too.
  Bytes bad_close = {0x88, 0x02, 0x03, 0xED};  // code 1005 on the wire
  CHECK(ParseFrame(bad_close, Role::kClient).error() == FrameError::kBadCloseCode);
  Bytes one_byte = {0x88, 0x01, 0x03};
  CHECK(ParseFrame(one_byte, Role::kClient).error() == FrameError::kBadClosePayload);
}

Frame MakeFrame(Bytes& storage, Opcode op, std::string_view payload, bool fin) {
  storage = Of(payload);
  Frame f;
  f.header.fin = fin;
  f.header.opcode = op;
  f.header.payload_length = payload.size();
  f.payload = storage;
  return f;
}

TEST_CASE("assembler: fragmentation rules and interleaved control frames") {
  std::array<uint8_t, 64> storage;
  Bytes b1, b2, b3, b4;
  SUBCASE("a ping between two fragments") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kBinary, "ab", false)).value().type ==
          EventType::kNone);
    CHECK(a.in_message());
    auto ping = a.OnFrame(MakeFrame(b2, Opcode::kPing, "p", true));
    REQUIRE(ping.ok());
    CHECK(ping.value().type == EventType::kPing);
    CHECK(Text(ping.value().payload) == "p");
    CHECK(a.OnFrame(MakeFrame(b3, Opcode::kContinuation, "cd", false)).ok());
    auto done = a.OnFrame(MakeFrame(b4, Opcode::kContinuation, "e", true));
    REQUIRE(done.ok());
    CHECK(done.value().type == EventType::kMessage);
    CHECK(done.value().opcode == Opcode::kBinary);
    CHECK(Text(done.value().payload) == "abcde");
    CHECK_FALSE(a.in_message());
  }
  SUBCASE("a continuation with no message in progress") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kContinuation, "x", true)).error() ==
          FrameError::kUnexpectedContinuation);
  }
  SUBCASE("a new message inside a fragmented one; the failure is sticky") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kText, "x", false)).ok());
    CHECK(a.OnFrame(MakeFrame(b2, Opcode::kText, "y", true)).error() ==
          FrameError::kExpectedContinuation);
    CHECK(a.OnFrame(MakeFrame(b3, Opcode::kPing, "", true)).error() ==
          FrameError::kExpectedContinuation);
  }
  SUBCASE("a single-frame message is a view of the frame, not a copy") {
    MessageAssembler a(storage);
    Frame f = MakeFrame(b1, Opcode::kText, "whole", true);
    auto e = a.OnFrame(f);
    REQUIRE(e.ok());
    CHECK(e.value().type == EventType::kMessage);
    CHECK(e.value().payload.data() == b1.data());
  }
  SUBCASE("close, with its code and reason") {
    MessageAssembler a(storage);
    Bytes payload = {0x03, 0xE9, 'o', 'k'};
    Frame f;
    f.header.fin = true;
    f.header.opcode = Opcode::kClose;
    f.payload = payload;
    auto e = a.OnFrame(f);
    REQUIRE(e.ok());
    CHECK(e.value().type == EventType::kClose);
    CHECK(e.value().close.code == kCloseGoingAway);
    CHECK(e.value().close.reason == "ok");
  }
}

TEST_CASE("assembler: the message size limit, at it and just past it") {
  std::array<uint8_t, 10> storage;
  Bytes b1, b2, b3, b4;
  MessageAssembler at(storage);
  CHECK(at.OnFrame(MakeFrame(b1, Opcode::kBinary, "12345", false)).ok());
  auto full = at.OnFrame(MakeFrame(b2, Opcode::kContinuation, "67890", true));
  REQUIRE(full.ok());
  CHECK(full.value().payload.size() == 10);
  MessageAssembler past(storage);
  CHECK(past.OnFrame(MakeFrame(b3, Opcode::kBinary, "12345", false)).ok());
  CHECK(past.OnFrame(MakeFrame(b4, Opcode::kContinuation, "678901", true)).error() ==
        FrameError::kMessageTooLarge);
  CHECK(CloseCodeFor(FrameError::kMessageTooLarge) == kCloseMessageTooBig);

  auto streaming = MessageAssembler::Streaming(4);
  CHECK(streaming.OnFrame(MakeFrame(b1, Opcode::kBinary, "12", false)).ok());
  CHECK(streaming.OnFrame(MakeFrame(b2, Opcode::kContinuation, "34", false)).ok());
  CHECK(streaming.OnFrame(MakeFrame(b3, Opcode::kContinuation, "5", true)).error() ==
        FrameError::kMessageTooLarge);
}

TEST_CASE("assembler: streaming mode reports each fragment as a view") {
  auto a = MessageAssembler::Streaming();
  Bytes b1, b2, b3;
  auto e1 = a.OnFrame(MakeFrame(b1, Opcode::kText, "he", false));
  auto e2 = a.OnFrame(MakeFrame(b2, Opcode::kContinuation, "ll", false));
  auto e3 = a.OnFrame(MakeFrame(b3, Opcode::kContinuation, "o", true));
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  REQUIRE(e3.ok());
  CHECK(e1.value().type == EventType::kFragment);
  CHECK(e1.value().opcode == Opcode::kText);
  CHECK_FALSE(e1.value().final);
  CHECK(e2.value().payload.data() == b2.data());
  CHECK(e3.value().final);
  CHECK(e3.value().opcode == Opcode::kText);
  CHECK_FALSE(a.in_message());
}

TEST_CASE("assembler: UTF-8 of text messages, across fragments") {
  std::array<uint8_t, 64> storage;
  Bytes b1, b2, b3;
  SUBCASE("a code point split between fragments is valid") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kText, "\xe2\x82", false)).ok());
    auto e = a.OnFrame(MakeFrame(b2, Opcode::kContinuation, "\xac!", true));
    REQUIRE(e.ok());
    CHECK(Text(e.value().payload) == "\xe2\x82\xac!");
  }
  SUBCASE("an invalid byte fails in the fragment that has it") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kText, "ok\xc0", false)).error() ==
          FrameError::kInvalidUtf8);
    CHECK(CloseCodeFor(FrameError::kInvalidUtf8) == kCloseInvalidPayload);
  }
  SUBCASE("a message that ends mid code point") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kText, "\xe2", false)).ok());
    CHECK(a.OnFrame(MakeFrame(b2, Opcode::kContinuation, "\x82", true)).error() ==
          FrameError::kInvalidUtf8);
  }
  SUBCASE("binary messages are not checked") {
    MessageAssembler a(storage);
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kBinary, "\xff\xfe", true)).ok());
  }
  SUBCASE("a streaming assembler checks text too") {
    auto a = MessageAssembler::Streaming();
    CHECK(a.OnFrame(MakeFrame(b1, Opcode::kText, "a", false)).ok());
    CHECK(a.OnFrame(MakeFrame(b2, Opcode::kContinuation, "\xed\xa0\x80", false)).error() ==
          FrameError::kInvalidUtf8);
  }
}

TEST_CASE("writer: length forms at their boundaries, and round trips") {
  std::vector<uint8_t> buf(70000 + kMaxFrameHeaderSize);
  for (size_t n : {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    CAPTURE(n);
    Bytes payload(n);
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<uint8_t>(i * 7);
    auto w = WriteFrame(buf, Opcode::kBinary, payload);
    REQUIRE(w.ok());
    CHECK(w.length() == FrameHeaderSize(n, false) + n);
    auto r = ParseFrame(std::span<uint8_t>(buf).first(w.length()), Role::kClient,
                        FrameLimits{.max_payload = 1 << 20});
    REQUIRE(r.ok());
    CHECK(Bytes(r.value().payload.begin(), r.value().payload.end()) == payload);
    auto m = WriteMaskedFrame(buf, Opcode::kBinary, payload, kRfcMask);
    REQUIRE(m.ok());
    CHECK(m.length() == FrameHeaderSize(n, true) + n);
    auto s = ParseFrame(std::span<uint8_t>(buf).first(m.length()), Role::kServer,
                        FrameLimits{.max_payload = 1 << 20});
    REQUIRE(s.ok());
    CHECK(Bytes(s.value().payload.begin(), s.value().payload.end()) == payload);
  }
  CHECK(FrameHeaderSize(125, false) == 2);
  CHECK(FrameHeaderSize(126, false) == 4);
  CHECK(FrameHeaderSize(65535, true) == 8);
  CHECK(FrameHeaderSize(65536, true) == 14);
}

TEST_CASE("writer: the RFC example bytes") {
  std::array<uint8_t, 32> buf;
  auto w = WriteMaskedFrame(buf, Opcode::kText, Of("Hello"), kRfcMask);
  REQUIRE(w.ok());
  CHECK(Bytes(buf.begin(), buf.begin() + 11) ==
        Bytes{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  auto f = WriteFrame(buf, Opcode::kText, Of("Hel"), false);
  REQUIRE(f.ok());
  CHECK(Bytes(buf.begin(), buf.begin() + 5) == Bytes{0x01, 0x03, 0x48, 0x65, 0x6c});
}

TEST_CASE("writer: frames no peer may accept are refused, short buffers too") {
  std::array<uint8_t, 256> buf;
  Bytes big(126, 'x');
  CHECK(WriteFrame(buf, Opcode::kPing, big).error() == WriteError::kInvalidValue);
  CHECK(WriteFrame(buf, Opcode::kPing, Of("x"), false).error() == WriteError::kInvalidValue);
  CHECK(WriteFrame(buf, static_cast<Opcode>(3), Of("x")).error() == WriteError::kInvalidValue);
  CHECK(WriteFrame(buf, Opcode::kPing, Bytes(125, 'x')).ok());
  CHECK(WriteCloseFrame(buf, 1005, "").error() == WriteError::kInvalidValue);
  CHECK(WriteCloseFrame(buf, 1000, std::string(124, 'r')).error() ==
        WriteError::kInvalidValue);
  CHECK(WriteCloseFrame(buf, 1000, "\xff").error() == WriteError::kInvalidValue);
  auto close = WriteCloseFrame(buf, 1000, std::string(123, 'r'));
  REQUIRE(close.ok());
  CHECK(close.length() == 2 + 125);
  auto parsed = ParseFrame(std::span<uint8_t>(buf).first(close.length()), Role::kClient);
  REQUIRE(parsed.ok());
  auto info = ParseClose(parsed.value().payload);
  REQUIRE(info.ok());
  CHECK(info.value().code == 1000);
  CHECK(info.value().reason.size() == 123);

  Bytes payload(10, 'y');
  for (size_t size = 0; size < 12; ++size) {
    std::vector<uint8_t> small(size);
    CHECK(WriteFrame(small, Opcode::kBinary, payload).error() == WriteError::kBufferTooSmall);
  }
  std::vector<uint8_t> exact(12);
  CHECK(WriteFrame(exact, Opcode::kBinary, payload).ok());
}

TEST_CASE("ApplyMask: unmasking in pieces at any offset equals unmasking at once") {
  Bytes data(37);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + 1);
  Bytes whole = data;
  ApplyMask(whole, kRfcMask);
  for (size_t i = 0; i < data.size(); ++i) CHECK(whole[i] == (data[i] ^ kRfcMask[i % 4]));
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    Bytes pieces = data;
    ApplyMask(std::span<uint8_t>(pieces).first(cut), kRfcMask, 0);
    ApplyMask(std::span<uint8_t>(pieces).subspan(cut), kRfcMask, cut);
    CHECK(pieces == whole);
  }
}

TEST_CASE("frames: parsing, assembling and writing allocate nothing") {
  std::array<uint8_t, 512> buf;
  std::array<uint8_t, 512> storage;
  Bytes payload(200, 'z');
  testing::AllocationScope scope;
  auto w = WriteMaskedFrame(buf, Opcode::kText, payload, kRfcMask, false);
  auto c = WriteFrameHeader(std::span<uint8_t>(buf).subspan(w.length()), true,
                            Opcode::kContinuation, 0, &kRfcMask);
  auto r = ParseFrame(buf, Role::kServer);
  MessageAssembler a(storage);
  auto e = a.OnFrame(r.value());
  auto r2 = ParseFrame(std::span<uint8_t>(buf).subspan(r.consumed()), Role::kServer);
  auto e2 = a.OnFrame(r2.value());
  auto close = WriteCloseFrame(buf, 1000, "bye");
  CHECK(scope.allocations() == 0);
  CHECK(c.ok());
  CHECK(e.ok());
  CHECK(e2.value().type == EventType::kMessage);
  CHECK(e2.value().payload.size() == 200);
  CHECK(close.ok());
}

TEST_CASE("frames: no read past the input (guard page)") {
  std::array<uint8_t, 300> buf;
  auto w = WriteMaskedFrame(buf, Opcode::kBinary, Bytes(200, 'q'), kRfcMask);
  REQUIRE(w.ok());
  for (size_t cut = 0; cut <= w.length(); ++cut) {
    testing::GuardedBuffer guarded(std::span<const uint8_t>(buf).first(cut));
    auto r = ParseFrame(guarded.mutable_span(), Role::kServer);
    CHECK(r.ok() == (cut == w.length()));
  }
  // A 64-bit length cut after its first byte.
  Bytes cut64 = {0x82, 0x7F, 0x00};
  testing::GuardedBuffer guarded(cut64);
  CHECK(ParseFrameHeader(guarded.span(), Role::kClient).incomplete());
}

}  // namespace
}  // namespace reef::ws
