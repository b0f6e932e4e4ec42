// RFC 6455 frames: the header parser, in-place unmasking, close payloads, the message
// assembler (fragmentation rules, UTF-8 of text messages) and the frame writer.
//
// Everything works over the caller's bytes: nothing here allocates, and no parser reads
// past the span it is given. A parser reports "incomplete" (more bytes may make it valid)
// apart from an error (no more bytes can); errors are checked as early as the bytes that
// decide them are there, so a bad first byte is an error even in a one-byte input.
//
// A server parses client frames (Role::kServer: every frame must be masked) and writes
// unmasked frames; a client (the load generator, tests) does the opposite.
#ifndef REEF_PROTOCOL_WS_FRAME_H_
#define REEF_PROTOCOL_WS_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/common/errors.h"
#include "protocol/common/parse_result.h"
#include "protocol/ws/utf8.h"

namespace reef::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool IsControl(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }
constexpr bool IsKnownOpcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Which side is parsing: a server reads client frames, which must be masked; a client
// reads server frames, which must not be.
enum class Role : uint8_t { kServer, kClient };

// Control frames carry at most 125 bytes of payload (RFC 6455 section 5.5).
inline constexpr size_t kMaxControlPayload = 125;
// The longest frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask.
inline constexpr size_t kMaxFrameHeaderSize = 14;
// Default limit on one frame's payload and on a whole (reassembled) message. A WebTorrent
// announce with ten SDP offers is about 10 KiB; 64 KiB leaves room and bounds memory.
inline constexpr uint64_t kDefaultMaxPayload = 64 * 1024;

struct FrameLimits {
  uint64_t max_payload = kDefaultMaxPayload;  // a larger frame is kPayloadTooLarge
};

using MaskKey = std::array<uint8_t, 4>;

enum class FrameError : uint8_t {
  kReservedBits,           // RSV1-3 set without a negotiated extension
  kUnknownOpcode,          // opcode 3-7 or B-F
  kUnmaskedClientFrame,    // a client frame without the mask bit
  kMaskedServerFrame,      // a server frame with the mask bit
  kNonMinimalLength,       // a 16- or 64-bit length that would fit a shorter form
  kLengthHighBit,          // a 64-bit length with its most significant bit set
  kPayloadTooLarge,        // the frame's payload is over FrameLimits::max_payload
  kControlTooLong,         // a control frame with more than 125 bytes of payload
  kFragmentedControl,      // a control frame without FIN
  kBadClosePayload,        // a close payload of exactly one byte
  kBadCloseCode,           // a close code that may not be sent on the wire
  kInvalidUtf8,            // a text message or close reason that is not UTF-8
  kUnexpectedContinuation, // a continuation frame with no message in progress
  kExpectedContinuation,   // a new text/binary frame while a message is in progress
  kMessageTooLarge,        // the reassembled message is over the limit
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(FrameError::kNumErrors)>
    kFrameErrors = {{
        {"kReservedBits", "reserved bits set"},
        {"kUnknownOpcode", "unknown opcode"},
        {"kUnmaskedClientFrame", "client frames must be masked"},
        {"kMaskedServerFrame", "server frames must not be masked"},
        {"kNonMinimalLength", "payload length not minimally encoded"},
        {"kLengthHighBit", "64-bit payload length has its high bit set"},
        {"kPayloadTooLarge", "frame payload too large"},
        {"kControlTooLong", "control frame payload over 125 bytes"},
        {"kFragmentedControl", "control frames must not be fragmented"},
        {"kBadClosePayload", "close payload of one byte"},
        {"kBadCloseCode", "invalid close code"},
        {"kInvalidUtf8", "text is not valid utf-8"},
        {"kUnexpectedContinuation", "continuation frame without a message"},
        {"kExpectedContinuation", "new message before the last one finished"},
        {"kMessageTooLarge", "message too large"},
    }};

constexpr std::string_view ErrorName(FrameError e) { return LookUpError(kFrameErrors, e).name; }
constexpr std::string_view ErrorReason(FrameError e) {
  return LookUpError(kFrameErrors, e).reason;
}
static_assert(ProtocolError<FrameError>);

// Close status codes (RFC 6455 section 7.4).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseUnsupportedData = 1003;
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicyViolation = 1008;
inline constexpr uint16_t kCloseMessageTooBig = 1009;
inline constexpr uint16_t kCloseInternalError = 1011;

// Codes an endpoint may put in a close frame: 1000-1003, 1007-1014 (RFC 6455 and the IANA
// registry), 3000-4999 (registered and private use). 1004-1006 and 1015 are reserved and
// never sent; everything else is unassigned.
constexpr bool IsValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

// The close code to send when a peer's frames fail with `e`.
constexpr uint16_t CloseCodeFor(FrameError e) {
  switch (e) {
    case FrameError::kInvalidUtf8:
      return kCloseInvalidPayload;
    case FrameError::kPayloadTooLarge:
    case FrameError::kMessageTooLarge:
      return kCloseMessageTooBig;
    default:
      return kCloseProtocolError;
  }
}

struct FrameHeader {
  bool fin = false;
  Opcode opcode = Opcode::kContinuation;
  bool masked = false;
  MaskKey mask{};
  uint64_t payload_length = 0;
  size_t header_length = 0;  // 2 to 14 bytes
};

// Parses a frame header. On success consumed() is the header length; the payload follows.
// Checks everything the header alone decides: reserved bits, opcode, masking for `role`,
// length encoding and limits, and the control-frame rules (FIN, <= 125 bytes).
ParseResult<FrameHeader, FrameError> ParseFrameHeader(std::span<const uint8_t> in, Role role,
                                                      const FrameLimits& limits = {});

struct Frame {
  FrameHeader header;
  std::span<uint8_t> payload;  // unmasked, in place in the caller's buffer
};

// Parses one whole frame: incomplete until header and payload are both there. On success
// the payload has been unmasked in place (so call it once per frame: the bytes it consumed
// are no longer wire bytes) and a close frame's payload has been checked (ParseClose).
ParseResult<Frame, FrameError> ParseFrame(std::span<uint8_t> in, Role role,
                                          const FrameLimits& limits = {});

// XORs `data` with the mask, as if `data` started `offset` bytes into the payload (so a
// payload may be unmasked in pieces as it arrives).
void ApplyMask(std::span<uint8_t> data, const MaskKey& mask, uint64_t offset = 0);

struct CloseInfo {
  bool has_code = false;    // an empty close payload has no code (and means 1005)
  uint16_t code = 0;
  std::string_view reason;  // UTF-8, a view into the payload
  friend bool operator==(const CloseInfo&, const CloseInfo&) = default;
};

// Parses an (unmasked) close payload: empty, or a valid code and a UTF-8 reason.
ParseResult<CloseInfo, FrameError> ParseClose(std::span<const uint8_t> payload);

// What the assembler makes of one frame.
enum class EventType : uint8_t {
  kNone,      // a fragment was stored; the message is not finished yet
  kMessage,   // a whole text or binary message: `payload`
  kFragment,  // streaming mode only: a piece of a message; `final` on its last piece
  kPing,
  kPong,
  kClose,
};

struct Event {
  EventType type = EventType::kNone;
  Opcode opcode = Opcode::kContinuation;  // kText or kBinary for data, else the control op
  bool final = false;                     // kFragment: the message's last piece
  std::span<const uint8_t> payload;       // the message, the piece, or the control payload
  CloseInfo close;                        // kClose only
};

// Reassembles messages from frames and enforces the rules between frames: continuations
// only inside a message, no new message before the last finished, control frames
// anywhere, a size limit on the whole message, UTF-8 for text (checked fragment by
// fragment, failing at the first bad byte).
//
// Two modes. With storage, fragments are copied into the caller's buffer and one kMessage
// comes at the end (the largest message is storage.size()); a message in a single frame is
// passed through as a view of the frame, without a copy. Without storage (Streaming), each
// data frame of a fragmented message is reported as a kFragment view, and nothing is kept.
//
// A failed assembler stays failed: the connection is to be closed with CloseCodeFor(error).
class MessageAssembler {
 public:
  explicit MessageAssembler(std::span<uint8_t> storage)
      : storage_(storage), max_message_(storage.size()), streaming_(false) {}
  static MessageAssembler Streaming(uint64_t max_message = kDefaultMaxPayload) {
    return MessageAssembler(max_message);
  }

  // Takes the next frame, as ParseFrame returned it (payload already unmasked).
  // consumed() of the result is the frame's payload size.
  ParseResult<Event, FrameError> OnFrame(const Frame& frame);

  bool in_message() const { return in_message_; }

 private:
  explicit MessageAssembler(uint64_t max_message)
      : max_message_(max_message), streaming_(true) {}
  ParseResult<Event, FrameError> Fail(FrameError e);

  std::span<uint8_t> storage_;
  uint64_t max_message_;
  bool streaming_;
  bool in_message_ = false;
  bool failed_ = false;
  FrameError error_ = FrameError::kNumErrors;
  Opcode message_opcode_ = Opcode::kContinuation;
  uint64_t message_size_ = 0;
  Utf8Validator utf8_;
};

// Frame writer. Returns the bytes written, WriteError::kBufferTooSmall if `out` cannot
// hold the frame, WriteError::kInvalidValue for a frame no peer may accept (an unknown
// opcode, a control frame over 125 bytes or without FIN, an invalid close code or a close
// reason that is not UTF-8). Text payloads are written as given: callers pass UTF-8.

// The size of a header for `payload_length` bytes, masked or not.
constexpr size_t FrameHeaderSize(uint64_t payload_length, bool masked) {
  size_t size = 2;
  if (payload_length > 0xFFFF) {
    size += 8;
  } else if (payload_length >= 126) {
    size += 2;
  }
  return size + (masked ? 4 : 0);
}

// Writes only the header (for a payload sent separately, e.g. with writev).
WriteResult WriteFrameHeader(std::span<uint8_t> out, bool fin, Opcode opcode,
                             uint64_t payload_length, const MaskKey* mask = nullptr);

// A server frame: unmasked.
WriteResult WriteFrame(std::span<uint8_t> out, Opcode opcode, std::span<const uint8_t> payload,
                       bool fin = true);
// A client frame: masked with `mask`.
WriteResult WriteMaskedFrame(std::span<uint8_t> out, Opcode opcode,
                             std::span<const uint8_t> payload, const MaskKey& mask,
                             bool fin = true);
// A close frame with a status code and reason (<= 123 bytes of UTF-8); masked if `mask`.
WriteResult WriteCloseFrame(std::span<uint8_t> out, uint16_t code, std::string_view reason,
                            const MaskKey* mask = nullptr);

}  // namespace reef::ws

#endif  // REEF_PROTOCOL_WS_FRAME_H_
