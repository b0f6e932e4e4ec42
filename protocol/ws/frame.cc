#include "protocol/ws/frame.h"

#include <cstring>

#include "protocol/common/byte_writer.h"

namespace reef::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kReservedMask = 0x70;
constexpr uint8_t kOpcodeMask = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;

using HeaderResult = ParseResult<FrameHeader, FrameError>;

}  // namespace

ParseResult<FrameHeader, FrameError> ParseFrameHeader(std::span<const uint8_t> in, Role role,
                                                      const FrameLimits& limits) {
  if (in.empty()) return HeaderResult::Incomplete();
  FrameHeader h;
  const uint8_t b0 = in[0];
  if ((b0 & kReservedMask) != 0) return HeaderResult::Fail(FrameError::kReservedBits);
  const uint8_t op = b0 & kOpcodeMask;
  if (!IsKnownOpcode(op)) return HeaderResult::Fail(FrameError::kUnknownOpcode);
  h.fin = (b0 & kFinBit) != 0;
  h.opcode = static_cast<Opcode>(op);
  const bool control = IsControl(h.opcode);
  if (control && !h.fin) return HeaderResult::Fail(FrameError::kFragmentedControl);

  if (in.size() < 2) return HeaderResult::Incomplete();
  const uint8_t b1 = in[1];
  h.masked = (b1 & kMaskBit) != 0;
  if (role == Role::kServer && !h.masked) {
    return HeaderResult::Fail(FrameError::kUnmaskedClientFrame);
  }
  if (role == Role::kClient && h.masked) {
    return HeaderResult::Fail(FrameError::kMaskedServerFrame);
  }
  const uint8_t len7 = b1 & 0x7F;
  if (control && len7 > kMaxControlPayload) {
    return HeaderResult::Fail(FrameError::kControlTooLong);
  }

  size_t pos = 2;
  uint64_t length = len7;
  if (len7 == kLength16) {
    if (in.size() < pos + 2) return HeaderResult::Incomplete();
    length = static_cast<uint64_t>(in[pos]) << 8 | in[pos + 1];
    pos += 2;
    if (length < kLength16) return HeaderResult::Fail(FrameError::kNonMinimalLength);
  } else if (len7 == kLength64) {
    // Decide on the high bit as soon as its byte is here.
    if (in.size() > pos && (in[pos] & 0x80) != 0) {
      return HeaderResult::Fail(FrameError::kLengthHighBit);
    }
    if (in.size() < pos + 8) return HeaderResult::Incomplete();
    length = 0;
    for (size_t i = 0; i < 8; ++i) length = length << 8 | in[pos + i];
    pos += 8;
    if (length <= 0xFFFF) return HeaderResult::Fail(FrameError::kNonMinimalLength);
  }
  if (length > limits.max_payload) return HeaderResult::Fail(FrameError::kPayloadTooLarge);
  h.payload_length = length;

  if (h.masked) {
    if (in.size() < pos + 4) return HeaderResult::Incomplete();
    for (size_t i = 0; i < 4; ++i) h.mask[i] = in[pos + i];
    pos += 4;
  }
  h.header_length = pos;
  return HeaderResult::Ok(h, pos);
}

void ApplyMask(std::span<uint8_t> data, const MaskKey& mask, uint64_t offset) {
  size_t i = 0;
  // Align the mask to the data, then XOR eight bytes at a time.
  const size_t shift = static_cast<size_t>(offset % 4);
  uint8_t rotated[4];
  for (size_t k = 0; k < 4; ++k) rotated[k] = mask[(shift + k) % 4];
  uint32_t word32;
  std::memcpy(&word32, rotated, 4);
  const uint64_t word64 = static_cast<uint64_t>(word32) << 32 | word32;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, data.data() + i, 8);
    chunk ^= word64;
    std::memcpy(data.data() + i, &chunk, 8);
  }
  for (; i < data.size(); ++i) data[i] ^= rotated[i % 4];
}

ParseResult<CloseInfo, FrameError> ParseClose(std::span<const uint8_t> payload) {
  using Result = ParseResult<CloseInfo, FrameError>;
  CloseInfo info;
  if (payload.empty()) return Result::Ok(info, 0);
  if (payload.size() == 1) return Result::Fail(FrameError::kBadClosePayload);
  if (payload.size() > kMaxControlPayload) return Result::Fail(FrameError::kControlTooLong);
  info.has_code = true;
  info.code = static_cast<uint16_t>(payload[0] << 8 | payload[1]);
  if (!IsValidCloseCode(info.code)) return Result::Fail(FrameError::kBadCloseCode);
  const auto reason = payload.subspan(2);
  if (!IsValidUtf8(reason)) return Result::Fail(FrameError::kInvalidUtf8);
  info.reason = std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size());
  return Result::Ok(info, payload.size());
}

ParseResult<Frame, FrameError> ParseFrame(std::span<uint8_t> in, Role role,
                                          const FrameLimits& limits) {
  using Result = ParseResult<Frame, FrameError>;
  auto header = ParseFrameHeader(in, role, limits);
  if (header.failed()) return Result::Fail(header.error());
  if (header.incomplete()) return Result::Incomplete();
  const FrameHeader& h = header.value();
  // payload_length <= max_payload; compare without overflowing size_t.
  if (h.payload_length > in.size() - h.header_length) return Result::Incomplete();
  const size_t length = static_cast<size_t>(h.payload_length);
  Frame frame;
  frame.header = h;
  frame.payload = in.subspan(h.header_length, length);
  if (h.masked) ApplyMask(frame.payload, h.mask);
  if (h.opcode == Opcode::kClose) {
    auto close = ParseClose(frame.payload);
    if (close.failed()) return Result::Fail(close.error());
  }
  return Result::Ok(frame, h.header_length + length);
}

ParseResult<Event, FrameError> MessageAssembler::Fail(FrameError e) {
  failed_ = true;
  error_ = e;
  return ParseResult<Event, FrameError>::Fail(e);
}

ParseResult<Event, FrameError> MessageAssembler::OnFrame(const Frame& frame) {
  using Result = ParseResult<Event, FrameError>;
  if (failed_) return Result::Fail(error_);
  const FrameHeader& h = frame.header;
  const std::span<const uint8_t> payload = frame.payload;
  Event event;
  event.payload = payload;
  event.opcode = h.opcode;

  if (IsControl(h.opcode)) {
    // ParseFrame checked these; a hand-made Frame might not have been.
    if (!h.fin) return Fail(FrameError::kFragmentedControl);
    if (payload.size() > kMaxControlPayload) return Fail(FrameError::kControlTooLong);
    switch (h.opcode) {
      case Opcode::kPing:
        event.type = EventType::kPing;
        break;
      case Opcode::kPong:
        event.type = EventType::kPong;
        break;
      default: {
        auto close = ParseClose(payload);
        if (close.failed()) return Fail(close.error());
        event.type = EventType::kClose;
        event.close = close.value();
        break;
      }
    }
    return Result::Ok(event, payload.size());
  }

  if (h.opcode == Opcode::kContinuation) {
    if (!in_message_) return Fail(FrameError::kUnexpectedContinuation);
  } else {
    if (in_message_) return Fail(FrameError::kExpectedContinuation);
    if (h.opcode != Opcode::kText && h.opcode != Opcode::kBinary) {
      return Fail(FrameError::kUnknownOpcode);
    }
    in_message_ = true;
    message_opcode_ = h.opcode;
    message_size_ = 0;
    utf8_ = Utf8Validator();
  }
  event.opcode = message_opcode_;

  if (payload.size() > max_message_ - message_size_) return Fail(FrameError::kMessageTooLarge);
  if (message_opcode_ == Opcode::kText && !utf8_.Feed(payload)) {
    return Fail(FrameError::kInvalidUtf8);
  }
  if (h.fin && message_opcode_ == Opcode::kText && !utf8_.Complete()) {
    return Fail(FrameError::kInvalidUtf8);
  }

  const bool first = message_size_ == 0 && h.opcode != Opcode::kContinuation;
  if (h.fin && first) {
    // A whole message in one frame: hand it through without a copy.
    in_message_ = false;
    event.type = EventType::kMessage;
    return Result::Ok(event, payload.size());
  }

  if (streaming_) {
    message_size_ += payload.size();
    event.type = EventType::kFragment;
    event.final = h.fin;
    if (h.fin) in_message_ = false;
    return Result::Ok(event, payload.size());
  }

  const size_t at = static_cast<size_t>(message_size_);
  if (!payload.empty()) std::memcpy(storage_.data() + at, payload.data(), payload.size());
  message_size_ += payload.size();
  if (!h.fin) {
    event.type = EventType::kNone;
    event.payload = {};
    return Result::Ok(event, payload.size());
  }
  in_message_ = false;
  event.type = EventType::kMessage;
  event.payload = storage_.first(static_cast<size_t>(message_size_));
  return Result::Ok(event, payload.size());
}

WriteResult WriteFrameHeader(std::span<uint8_t> out, bool fin, Opcode opcode,
                             uint64_t payload_length, const MaskKey* mask) {
  const uint8_t op = static_cast<uint8_t>(opcode);
  if (!IsKnownOpcode(op)) return WriteResult::Fail(WriteError::kInvalidValue);
  if (IsControl(opcode) && (!fin || payload_length > kMaxControlPayload)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  if (payload_length >> 63 != 0) return WriteResult::Fail(WriteError::kInvalidValue);
  ByteWriter w(out);
  w.WriteU8(static_cast<uint8_t>((fin ? kFinBit : 0) | op));
  const uint8_t mask_bit = mask != nullptr ? kMaskBit : 0;
  if (payload_length > 0xFFFF) {
    w.WriteU8(mask_bit | kLength64);
    w.WriteU64Be(payload_length);
  } else if (payload_length >= kLength16) {
    w.WriteU8(mask_bit | kLength16);
    w.WriteU16Be(static_cast<uint16_t>(payload_length));
  } else {
    w.WriteU8(static_cast<uint8_t>(mask_bit | payload_length));
  }
  if (mask != nullptr) w.WriteBytes(*mask);
  return w.Result();
}

namespace {

WriteResult WriteWholeFrame(std::span<uint8_t> out, Opcode opcode,
                            std::span<const uint8_t> payload, const MaskKey* mask, bool fin) {
  auto header = WriteFrameHeader(out, fin, opcode, payload.size(), mask);
  if (!header.ok()) return header;
  const size_t h = header.length();
  if (payload.size() > out.size() - h) return WriteResult::Fail(WriteError::kBufferTooSmall);
  if (!payload.empty()) std::memcpy(out.data() + h, payload.data(), payload.size());
  if (mask != nullptr) ApplyMask(out.subspan(h, payload.size()), *mask);
  return WriteResult::Ok(h + payload.size());
}

}  // namespace

WriteResult WriteFrame(std::span<uint8_t> out, Opcode opcode, std::span<const uint8_t> payload,
                       bool fin) {
  return WriteWholeFrame(out, opcode, payload, nullptr, fin);
}

WriteResult WriteMaskedFrame(std::span<uint8_t> out, Opcode opcode,
                             std::span<const uint8_t> payload, const MaskKey& mask, bool fin) {
  return WriteWholeFrame(out, opcode, payload, &mask, fin);
}

WriteResult WriteCloseFrame(std::span<uint8_t> out, uint16_t code, std::string_view reason,
                            const MaskKey* mask) {
  if (!IsValidCloseCode(code) || reason.size() > kMaxControlPayload - 2 ||
      !IsValidUtf8(reason)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  std::array<uint8_t, kMaxControlPayload> payload;
  payload[0] = static_cast<uint8_t>(code >> 8);
  payload[1] = static_cast<uint8_t>(code);
  if (!reason.empty()) std::memcpy(payload.data() + 2, reason.data(), reason.size());
  return WriteWholeFrame(out, Opcode::kClose,
                         std::span<const uint8_t>(payload.data(), 2 + reason.size()), mask,
                         true);
}

}  // namespace reef::ws
