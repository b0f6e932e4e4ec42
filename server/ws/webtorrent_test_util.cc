#include "server/ws/webtorrent_test_util.h"

#include <array>

#include "protocol/ws/utf8.h"

namespace reef::ws::testing {

std::vector<uint8_t> ClientFrame(Opcode opcode, std::span<const uint8_t> payload, bool fin,
                                 const MaskKey& mask) {
  std::vector<uint8_t> out(payload.size() + kMaxFrameHeaderSize);
  const WriteResult w = WriteMaskedFrame(out, opcode, payload, mask, fin);
  out.resize(w.ok() ? w.length() : 0);
  return out;
}

std::vector<uint8_t> ClientTextFrame(std::string_view text, const MaskKey& mask) {
  return ClientFrame(Opcode::kText,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                              text.size()),
                     true, mask);
}

FixedBytes<20> Id20(char tag, uint32_t n) {
  std::array<uint8_t, 20> b;
  b.fill(static_cast<uint8_t>(tag));
  // Bytes that need escaping and bytes over 0x7f, as real binary strings have.
  b[1] = 0x00;
  b[2] = '"';
  b[3] = 0xe9;
  for (int i = 0; i < 4; ++i) b[16 + static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  return FixedBytes<20>(b);
}

std::string SdpJson(std::string_view type, uint32_t n) {
  return std::string(R"({"type":")") + std::string(type) + R"(","sdp":"v=0\r\no=- )" +
         std::to_string(n) + R"( 2 IN IP4 127.0.0.1\r\n"})";
}

namespace {

std::string Write(const auto& message, size_t room) {
  std::string out(room, '\0');
  const WriteResult w =
      WriteMessage(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()),
                   message);
  out.resize(w.ok() ? w.length() : 0);
  return out;
}

}  // namespace

std::string AnnounceJson(const InfoHash& info_hash, const PeerId& peer_id, AnnounceEvent event,
                         std::optional<uint64_t> left, std::optional<uint64_t> numwant,
                         const std::vector<OfferSpec>& offers) {
  AnnounceRequest a;
  a.info_hash = info_hash;
  a.peer_id = peer_id;
  a.event = event;
  a.left = left;
  a.numwant = numwant;
  a.uploaded = 0;
  a.downloaded = 0;
  size_t room = 1024;
  for (const OfferSpec& o : offers) {
    a.AddOffer({o.offer_id, o.offer_json});
    room += o.offer_json.size() + 256;
  }
  return Write(a, room);
}

std::string AnswerJson(const InfoHash& info_hash, const PeerId& peer_id, const PeerId& to_peer_id,
                       const OfferId& offer_id, const std::string& answer_json) {
  AnnounceRequest a;
  a.info_hash = info_hash;
  a.peer_id = peer_id;
  a.to_peer_id = to_peer_id;
  a.offer_id = offer_id;
  a.answer = answer_json;
  return Write(a, answer_json.size() + 1024);
}

std::string ScrapeJson(const std::vector<InfoHash>& info_hashes, bool as_array) {
  ScrapeRequest s;
  s.as_array = as_array;
  for (const InfoHash& h : info_hashes) s.Add(h);
  return Write(s, 256 + 130 * info_hashes.size());
}

std::optional<std::vector<ReceivedFrame>> ParseServerFrames(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  std::vector<ReceivedFrame> frames;
  size_t at = 0;
  while (at < copy.size()) {
    // The header alone: parsing checks masking, RSV, opcode, minimal lengths, control rules.
    const auto header = ParseFrameHeader(std::span<const uint8_t>(copy).subspan(at),
                                         Role::kClient, FrameLimits{.max_payload = 1u << 30});
    if (!header.ok()) return std::nullopt;
    const FrameHeader& h = header.value();
    if (!h.fin || h.opcode == Opcode::kContinuation || h.opcode == Opcode::kBinary) {
      return std::nullopt;  // reef sends every message whole, as text
    }
    if (h.payload_length > copy.size() - at - h.header_length) return std::nullopt;
    const auto payload = std::span<const uint8_t>(copy).subspan(
        at + h.header_length, static_cast<size_t>(h.payload_length));
    if (h.opcode == Opcode::kText && !IsValidUtf8(payload)) return std::nullopt;
    if (h.opcode == Opcode::kClose && ParseClose(payload).failed()) return std::nullopt;
    frames.push_back({h.opcode, std::string(payload.begin(), payload.end())});
    at += h.header_length + payload.size();
  }
  return frames;
}

std::optional<ServerMessage> ParseServer(const ReceivedFrame& frame) {
  if (frame.opcode != Opcode::kText) return std::nullopt;
  auto parsed = ParseServerMessage(frame.payload);
  if (!parsed.ok()) return std::nullopt;
  return parsed.value();
}

}  // namespace reef::ws::testing
