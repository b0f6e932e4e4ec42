// Fuzzes protocol/ws frames: ParseFrameHeader, ParseFrame, ParseClose, MessageAssembler
// and the frame writer.
//
// The first input byte picks the role and the limits; the rest is a stream of frames.
// Properties, not just "does not crash":
//  - ParseFrame never consumes more than it was given, and a frame it accepts, written
//    again by the writer (same FIN, opcode, mask, payload), gives back exactly the bytes it
//    consumed: length encodings are minimal, so there is one encoding per frame;
//  - the same frame cut one byte short is incomplete, never an error;
//  - ParseFrameHeader agrees with ParseFrame on errors and on the header;
//  - the assembler, fed the frames in order (with storage, and streaming), accepts or
//    rejects the same stream, and a whole message it returns is the concatenation of the
//    data frames' payloads and, for text, valid UTF-8.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/utf8.h"

namespace {

using reef::ws::EventType;
using reef::ws::Frame;
using reef::ws::FrameLimits;
using reef::ws::MessageAssembler;
using reef::ws::Opcode;
using reef::ws::Role;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 256 * 1024) return 0;
  const uint8_t control = data[0];
  const Role role = (control & 1) != 0 ? Role::kClient : Role::kServer;
  const FrameLimits limits{.max_payload = (control & 2) != 0 ? 300 : reef::ws::kDefaultMaxPayload};
  std::vector<uint8_t> wire(data + 1, data + size);  // mutable: ParseFrame unmasks in place
  const std::vector<uint8_t> original = wire;

  static std::array<uint8_t, 4096> storage;
  const size_t storage_size = (control & 4) != 0 ? 16 : storage.size();
  MessageAssembler assembled(std::span<uint8_t>(storage.data(), storage_size));
  auto streamed = MessageAssembler::Streaming(storage_size);
  std::vector<uint8_t> message;  // the data payloads of the message in progress
  bool assembled_failed = false;
  bool streamed_failed = false;

  std::span<uint8_t> rest(wire);
  size_t offset = 0;
  std::vector<uint8_t> rewritten(reef::ws::kMaxFrameHeaderSize + limits.max_payload);
  for (int frames = 0; frames < 1000 && !rest.empty(); ++frames) {
    auto header = reef::ws::ParseFrameHeader(rest, role, limits);
    auto r = reef::ws::ParseFrame(rest, role, limits);
    FUZZ_CHECK(r.status() == header.status() || (header.ok() && !r.ok()));
    if (header.failed()) FUZZ_CHECK(r.error() == header.error());
    if (!r.ok()) break;
    const Frame& frame = r.value();
    FUZZ_CHECK(r.consumed() <= rest.size());
    FUZZ_CHECK(frame.header.header_length == header.consumed());
    FUZZ_CHECK(r.consumed() == frame.header.header_length + frame.payload.size());
    FUZZ_CHECK(frame.payload.size() <= limits.max_payload);
    if (reef::ws::IsControl(frame.header.opcode)) {
      FUZZ_CHECK(frame.header.fin && frame.payload.size() <= reef::ws::kMaxControlPayload);
    }

    // Write it again: the same bytes.
    auto w = frame.header.masked
                 ? reef::ws::WriteMaskedFrame(rewritten, frame.header.opcode, frame.payload,
                                              frame.header.mask, frame.header.fin)
                 : reef::ws::WriteFrame(rewritten, frame.header.opcode, frame.payload,
                                        frame.header.fin);
    FUZZ_CHECK(w.ok());
    FUZZ_CHECK(w.length() == r.consumed());
    FUZZ_CHECK(std::memcmp(rewritten.data(), original.data() + offset, w.length()) == 0);

    // One byte short: incomplete.
    std::vector<uint8_t> cut(original.begin() + static_cast<long>(offset),
                             original.begin() + static_cast<long>(offset + r.consumed() - 1));
    FUZZ_CHECK(reef::ws::ParseFrame(cut, role, limits).incomplete());

    // The two assemblers.
    auto a = assembled.OnFrame(frame);
    auto s = streamed.OnFrame(frame);
    if (!assembled_failed && !streamed_failed) {
      FUZZ_CHECK(a.ok() == s.ok());
      if (a.failed()) FUZZ_CHECK(a.error() == s.error());
    }
    assembled_failed = assembled_failed || a.failed();
    streamed_failed = streamed_failed || s.failed();
    if (!reef::ws::IsControl(frame.header.opcode)) {
      if (frame.header.opcode != Opcode::kContinuation) message.clear();
      message.insert(message.end(), frame.payload.begin(), frame.payload.end());
    }
    if (a.ok() && a.value().type == EventType::kMessage) {
      const auto payload = a.value().payload;
      FUZZ_CHECK(payload.size() == message.size());
      FUZZ_CHECK(message.empty() || std::memcmp(payload.data(), message.data(), message.size()) == 0);
      if (a.value().opcode == Opcode::kText) FUZZ_CHECK(reef::ws::IsValidUtf8(payload));
      FUZZ_CHECK(!assembled.in_message());
    }
    if (a.ok() && a.value().type == EventType::kClose) {
      FUZZ_CHECK(reef::ws::ParseClose(frame.payload).ok());
    }

    offset += r.consumed();
    rest = rest.subspan(r.consumed());
  }
  return 0;
}
