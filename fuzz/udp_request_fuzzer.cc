// Fuzzes the tracker side of BEP 15: ParseRequest on any datagram.
//
// Properties, not just "does not crash":
//  - a parse consumes at most the datagram, and only datagrams up to kMaxRequestSize
//    parse; a failed parse consumes nothing, has the header ids exactly when there were
//    16 bytes, and is sendable only for announces and scrapes;
//  - the error response a server would send for a sendable error fits the limits and
//    parses back to the same transaction id and reason;
//  - WriteRequest(value) reproduces exactly the bytes the parse consumed (the encoding is
//    canonical), and parsing that again gives the same value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <variant>

#include "fuzz/fuzz_check.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"

namespace reef::udp {
namespace {

uint32_t Action(std::span<const uint8_t> in) {
  return uint32_t{in[8]} << 24 | uint32_t{in[9]} << 16 | uint32_t{in[10]} << 8 | in[11];
}

void CheckFailure(std::span<const uint8_t> in, const RequestResult& r) {
  FUZZ_CHECK(r.consumed() == 0);
  FUZZ_CHECK(r.has_transaction_id() == (in.size() >= kRequestHeaderSize));
  if (!r.sendable()) return;
  FUZZ_CHECK(Action(in) == 1 || Action(in) == 2);
  static std::array<uint8_t, ErrorResponseSize(kMaxErrorMessageSize)> out;
  WriteResult w = WriteErrorResponse({r.transaction_id(), ErrorReason(r.error())}, out);
  FUZZ_CHECK(w.ok());
  ResponseResult back = ParseResponse(std::span(out).first(w.length()), IpFamily::kV4);
  FUZZ_CHECK(back.ok());
  const auto* e = std::get_if<ErrorResponse>(&back.value());
  FUZZ_CHECK(e != nullptr);
  FUZZ_CHECK(e->transaction_id == r.transaction_id());
  FUZZ_CHECK(e->message == ErrorReason(r.error()));
}

void FuzzOne(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  RequestResult r = ParseRequest(in);
  if (r.failed()) {
    CheckFailure(in, r);
    return;
  }
  FUZZ_CHECK(r.ok());
  FUZZ_CHECK(r.consumed() <= size);
  FUZZ_CHECK(size <= kMaxRequestSize);
  FUZZ_CHECK(r.has_transaction_id());
  FUZZ_CHECK(!r.sendable());

  static std::array<uint8_t, kMaxRequestSize> out;
  WriteResult w = WriteRequest(r.value(), out);
  FUZZ_CHECK(w.ok());
  FUZZ_CHECK(w.length() == r.consumed());
  FUZZ_CHECK(std::memcmp(out.data(), data, w.length()) == 0);

  RequestResult again = ParseRequest(std::span(out).first(w.length()));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.consumed() == w.length());
  FUZZ_CHECK(again.value() == r.value());
  FUZZ_CHECK(again.transaction_id() == r.transaction_id());
  FUZZ_CHECK(again.connection_id() == r.connection_id());
}

}  // namespace
}  // namespace reef::udp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reef::udp::FuzzOne(data, size);
  return 0;
}
