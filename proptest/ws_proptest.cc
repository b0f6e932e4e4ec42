// Properties of protocol/ws: WebTorrent messages, binary strings, JSON strings, frames.
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/json.h"
#include "protocol/ws/webtorrent.h"

namespace reef::ws {
namespace {

FixedBytes<20> Id() { return FixedBytes<20>(*rc::gen::arbitrary<std::array<uint8_t, 20>>()); }

// Any string of Unicode scalar values (as UTF-8), including control characters, quotes,
// backslashes, U+0080-U+00FF, astral planes.
std::string Utf8Text() {
  const auto points = *rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
      rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::inRange<uint32_t>(0x80, 0x100),
      rc::gen::inRange<uint32_t>(0x100, 0xD800), rc::gen::inRange<uint32_t>(0xE000, 0x110000)));
  std::string s;
  for (uint32_t cp : points) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | cp >> 6);
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | cp >> 12);
      s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | cp >> 18);
      s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return s;
}

// An SDP-like JSON object, written by our writer from arbitrary text; kept alive by the
// caller because messages hold views of it.
std::string SdpObject(std::string_view type) {
  const std::string sdp = Utf8Text();
  std::vector<uint8_t> buf(16 + 6 * sdp.size() + 64);
  JsonWriter w(buf);
  w.BeginObject();
  w.Key("type");
  w.String(type);
  w.Key("sdp");
  w.String(sdp);
  w.EndObject();
  const auto r = w.Result();
  RC_ASSERT(r.ok());
  return std::string(buf.begin(), buf.begin() + static_cast<long>(r.length()));
}

std::optional<uint64_t> Count() {
  if (!*rc::gen::arbitrary<bool>()) return std::nullopt;
  return *rc::gen::arbitrary<uint64_t>();
}

AnnounceEvent Event() {
  return *rc::gen::element(AnnounceEvent::kNone, AnnounceEvent::kStarted, AnnounceEvent::kStopped,
                           AnnounceEvent::kCompleted, AnnounceEvent::kUpdate,
                           AnnounceEvent::kPaused, AnnounceEvent::kEmpty);
}

template <typename Message, typename Parse>
void CheckRoundTrip(const Message& m, Parse parse) {
  std::vector<uint8_t> buf(256 * 1024);
  const auto w = WriteMessage(buf, m);
  RC_ASSERT(w.ok());
  const std::string json(buf.begin(), buf.begin() + static_cast<long>(w.length()));
  RC_ASSERT(ValidateJson(json).ok());
  auto r = parse(json);
  RC_ASSERT(r.ok());
  RC_ASSERT(r.consumed() == json.size());
  RC_ASSERT(std::holds_alternative<Message>(r.value()));
  RC_ASSERT(std::get<Message>(r.value()) == m);
  // A buffer one byte short is refused, never overrun.
  std::vector<uint8_t> small(w.length() - 1);
  RC_ASSERT(WriteMessage(small, m).error() == WriteError::kBufferTooSmall);
}

TEST_CASE("webtorrent: every client message round-trips") {
  proptest::Check("announce with offers", [] {
    AnnounceRequest a;
    a.info_hash = Id();
    a.peer_id = Id();
    a.event = Event();
    a.numwant = Count();
    a.uploaded = Count();
    a.downloaded = Count();
    a.left = Count();
    const size_t n = *rc::gen::inRange<size_t>(0, kMaxOffers + 1);
    std::vector<std::string> sdps;
    sdps.reserve(n);
    a.has_offers = n > 0 || *rc::gen::arbitrary<bool>();
    for (size_t i = 0; i < n; ++i) {
      sdps.push_back(SdpObject("offer"));
      RC_ASSERT(a.AddOffer(Offer{Id(), sdps.back()}));
    }
    CheckRoundTrip(a, ParseClientMessage);
  });
  proptest::Check("announce, answer form", [] {
    AnnounceRequest a;
    a.info_hash = Id();
    a.peer_id = Id();
    a.to_peer_id = Id();
    a.offer_id = Id();
    const std::string answer = SdpObject("answer");
    a.answer = answer;
    CheckRoundTrip(a, ParseClientMessage);
  });
  proptest::Check("scrape", [] {
    ScrapeRequest s;
    s.as_array = *rc::gen::arbitrary<bool>();
    const size_t n = s.as_array ? *rc::gen::inRange<size_t>(0, kMaxScrapeInfoHashes + 1) : 1;
    for (size_t i = 0; i < n; ++i) RC_ASSERT(s.Add(Id()));
    CheckRoundTrip(s, ParseClientMessage);
  });
}

TEST_CASE("webtorrent: every server message round-trips") {
  proptest::Check("announce response", [] {
    CheckRoundTrip(AnnounceResponse{Id(), *rc::gen::arbitrary<uint64_t>(),
                                    *rc::gen::arbitrary<uint64_t>(),
                                    *rc::gen::arbitrary<uint64_t>()},
                   ParseServerMessage);
  });
  proptest::Check("forwarded offer and answer", [] {
    const std::string offer = SdpObject("offer");
    const std::string answer = SdpObject("answer");
    CheckRoundTrip(OfferMessage{Id(), Id(), Id(), offer}, ParseServerMessage);
    CheckRoundTrip(AnswerMessage{Id(), Id(), Id(), answer}, ParseServerMessage);
  });
  proptest::Check("scrape response", [] {
    ScrapeResponse s;
    s.min_request_interval = Count();
    const size_t n = *rc::gen::inRange<size_t>(0, kMaxScrapeInfoHashes + 1);
    for (size_t i = 0; i < n; ++i) {
      ScrapeFile f{Id(), *rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<uint64_t>(),
                   *rc::gen::arbitrary<uint64_t>()};
      bool duplicate = false;
      for (const ScrapeFile& g : s.files()) duplicate = duplicate || g.info_hash == f.info_hash;
      if (!duplicate) RC_ASSERT(s.Add(f));
    }
    CheckRoundTrip(s, ParseServerMessage);
  });
  proptest::Check("error", [] {
    ErrorResponse e;
    std::string reason = Utf8Text();
    while (reason.size() > kMaxFailureReasonSize) reason.pop_back();
    while (!IsValidUtf8(reason)) reason.pop_back();  // cut at a code point boundary
    RC_ASSERT(e.SetFailureReason(reason));
    if (*rc::gen::arbitrary<bool>()) {
      e.action = *rc::gen::element(Action::kAnnounce, Action::kScrape);
      e.info_hash = Id();
    }
    CheckRoundTrip(e, ParseServerMessage);
  });
}

// Writes `bytes` as a binary string in one of the ways clients do: JSON.stringify's way
// (our writer), or with some bytes as \u00XX escapes (upper or lower case).
std::string EscapedBinaryString(std::span<const uint8_t> bytes, const std::vector<int>& how) {
  constexpr char kLower[] = "0123456789abcdef";
  constexpr char kUpper[] = "0123456789ABCDEF";
  std::string s = "\"";
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t b = bytes[i];
    const int mode = how.empty() ? 0 : how[i % how.size()] % 3;
    if (mode != 0) {
      const char* digits = mode == 1 ? kLower : kUpper;
      s += "\\u00";
      s += digits[b >> 4];
      s += digits[b & 0xF];
      continue;
    }
    std::array<uint8_t, 8> one;
    JsonWriter w(one);
    w.BinaryString(std::span<const uint8_t>(&bytes[i], 1));
    const auto r = w.Result();
    s.append(reinterpret_cast<const char*>(one.data()) + 1, r.length() - 2);
  }
  return s + "\"";
}

TEST_CASE("binary strings: any 20 bytes round-trip, however they are escaped") {
  proptest::Check("20 bytes", [](const std::array<uint8_t, 20>& bytes, const std::vector<int>& how) {
    const std::string json = EscapedBinaryString(bytes, how);
    JsonReader r(json);
    JsonString s;
    RC_ASSERT(r.ReadString(&s));
    RC_ASSERT(r.Finish());
    const auto decoded = DecodeBinaryFixed<20>(s);
    RC_ASSERT(decoded.has_value());
    RC_ASSERT(*decoded == FixedBytes<20>(bytes));
  });
  proptest::Check("other lengths are refused", [](const std::vector<uint8_t>& bytes) {
    RC_PRE(bytes.size() != 20);
    const std::string json = EscapedBinaryString(bytes, {});
    JsonReader r(json);
    JsonString s;
    RC_ASSERT(r.ReadString(&s));
    RC_ASSERT(!DecodeBinaryFixed<20>(s).has_value());
  });
}

TEST_CASE("json strings: any text round-trips through the writer and the reader") {
  proptest::Check("utf-8 text", [] {
    const std::string text = Utf8Text();
    std::vector<uint8_t> buf(6 * text.size() + 2);
    JsonWriter w(buf);
    w.String(text);
    const auto written = w.Result();
    RC_ASSERT(written.ok());
    const std::string json(buf.begin(), buf.begin() + static_cast<long>(written.length()));
    JsonReader r(json);
    JsonString s;
    RC_ASSERT(r.ReadString(&s));
    RC_ASSERT(r.Finish());
    RC_ASSERT(JsonStringEquals(s, text));
    std::vector<char> decoded(text.size());
    size_t n = 0;
    RC_ASSERT(DecodeJsonString(s, decoded, &n));
    RC_ASSERT(std::string(decoded.data(), n) == text);
  });
}

TEST_CASE("frames: a written frame cut at every byte is incomplete until its last byte") {
  proptest::Check("cut everywhere", [] {
    const Opcode op = *rc::gen::element(Opcode::kContinuation, Opcode::kText, Opcode::kBinary,
                                        Opcode::kClose, Opcode::kPing, Opcode::kPong);
    const bool control = IsControl(op);
    const size_t size = control ? *rc::gen::inRange<size_t>(0, kMaxControlPayload + 1)
                                : *rc::gen::oneOf(rc::gen::inRange<size_t>(0, 300),
                                                  rc::gen::inRange<size_t>(65530, 65600));
    std::vector<uint8_t> payload = *rc::gen::container<std::vector<uint8_t>>(
        size, rc::gen::arbitrary<uint8_t>());
    if (op == Opcode::kClose) {  // a valid close payload: empty, or code + UTF-8 reason
      payload.clear();
      if (*rc::gen::arbitrary<bool>()) {
        payload = {0x03, 0xE8};
        const std::string reason = *rc::gen::container<std::string>(
            *rc::gen::inRange<size_t>(0, 124), rc::gen::inRange<char>('a', 'z'));
        payload.insert(payload.end(), reason.begin(), reason.end());
      }
    }
    const bool fin = control || *rc::gen::arbitrary<bool>();
    const bool masked = *rc::gen::arbitrary<bool>();
    const MaskKey mask = *rc::gen::arbitrary<std::array<uint8_t, 4>>();
    std::vector<uint8_t> wire(payload.size() + kMaxFrameHeaderSize);
    const auto w = masked ? WriteMaskedFrame(wire, op, payload, mask, fin)
                          : WriteFrame(wire, op, payload, fin);
    RC_ASSERT(w.ok());
    RC_ASSERT(w.length() == FrameHeaderSize(payload.size(), masked) + payload.size());
    wire.resize(w.length());
    const Role role = masked ? Role::kServer : Role::kClient;
    const FrameLimits limits{.max_payload = 1 << 20};
    for (size_t cut = 0; cut < wire.size(); ++cut) {
      std::vector<uint8_t> prefix(wire.begin(), wire.begin() + static_cast<long>(cut));
      RC_ASSERT(ParseFrame(prefix, role, limits).incomplete());
    }
    auto r = ParseFrame(wire, role, limits);
    RC_ASSERT(r.ok());
    RC_ASSERT(r.consumed() == wire.size());
    RC_ASSERT(r.value().header.fin == fin);
    RC_ASSERT(r.value().header.opcode == op);
    RC_ASSERT(std::vector<uint8_t>(r.value().payload.begin(), r.value().payload.end()) == payload);
  });
}

TEST_CASE("frames: a message split into any fragments, with pings between, reassembles") {
  proptest::Check("fragments", [](const std::vector<uint8_t>& message,
                                  const std::vector<uint8_t>& cuts) {
    // Fragment boundaries from `cuts`; a ping after every other fragment.
    std::vector<uint8_t> wire;
    size_t at = 0;
    size_t k = 0;
    const MaskKey mask = {1, 2, 3, 4};
    do {
      const size_t len = std::min(message.size() - at,
                                  cuts.empty() ? message.size() : size_t{cuts[k % cuts.size()]});
      const bool fin = at + len == message.size();
      std::vector<uint8_t> frame(len + kMaxFrameHeaderSize);
      const auto w = WriteMaskedFrame(frame, k == 0 ? Opcode::kBinary : Opcode::kContinuation,
                                      std::span<const uint8_t>(message).subspan(at, len), mask, fin);
      RC_ASSERT(w.ok());
      wire.insert(wire.end(), frame.begin(), frame.begin() + static_cast<long>(w.length()));
      if (!fin && k % 2 == 1) {
        std::array<uint8_t, 16> ping;
        const auto p = WriteMaskedFrame(ping, Opcode::kPing, {}, mask);
        wire.insert(wire.end(), ping.begin(), ping.begin() + static_cast<long>(p.length()));
      }
      at += len;
      ++k;
      if (k > 4 * message.size() + 4) break;  // zero-length cuts: bound the loop
    } while (at < message.size());
    RC_PRE(at == message.size());

    std::vector<uint8_t> storage(message.size());
    MessageAssembler assembler(storage);
    std::span<uint8_t> rest(wire);
    std::vector<uint8_t> got;
    bool done = false;
    while (!rest.empty()) {
      auto r = ParseFrame(rest, Role::kServer);
      RC_ASSERT(r.ok());
      auto e = assembler.OnFrame(r.value());
      RC_ASSERT(e.ok());
      if (e.value().type == EventType::kMessage) {
        RC_ASSERT(!done);
        done = true;
        got.assign(e.value().payload.begin(), e.value().payload.end());
      }
      rest = rest.subspan(r.consumed());
    }
    RC_ASSERT(done);
    RC_ASSERT(got == message);
  });
}

}  // namespace
}  // namespace reef::ws
