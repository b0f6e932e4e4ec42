// Fuzzes the client side of BEP 15: ParseResponse on any datagram, with both peer
// families.
//
// Properties, not just "does not crash":
//  - a parse consumes at most the datagram, only datagrams up to kMaxResponseSize parse,
//    a failed parse consumes nothing and has the transaction id exactly when there were 8
//    bytes; nothing is ever "sendable" on the client side;
//  - the family hint changes only how announce peers are cut: every other message parses
//    the same way with either hint;
//  - WriteResponse(value) reproduces exactly the bytes the parse consumed, and parsing
//    that again gives the same value; an error message longer than kMaxErrorMessageSize
//    (which other trackers may send) is refused by the writer as kInvalidValue;
//  - the incremental writers, fed peer by peer / entry by entry from the parsed views,
//    write the same bytes as the one-shot writers.
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

std::array<uint8_t, kMaxResponseSize> out;
std::array<uint8_t, kMaxResponseSize> out2;

void CheckIncrementalWriters(const Response& value, size_t length) {
  if (const auto* a = std::get_if<AnnounceResponse>(&value)) {
    AnnounceResponseWriter w(out2, a->peers.family(),
                             {a->transaction_id, a->interval, a->leechers, a->seeders});
    for (size_t i = 0; i < a->peers.size(); ++i) FUZZ_CHECK(w.AddPeer(a->peers[i]));
    FUZZ_CHECK(w.peer_count() == a->peers.size());
    WriteResult r = w.Finish();
    FUZZ_CHECK(r.ok() && r.length() == length);
    FUZZ_CHECK(std::memcmp(out2.data(), out.data(), length) == 0);
  }
  if (const auto* s = std::get_if<ScrapeResponse>(&value)) {
    ScrapeResponseWriter w(out2, s->transaction_id);
    for (const TorrentStats& stats : s->stats) FUZZ_CHECK(w.Add(stats));
    WriteResult r = w.Finish();
    FUZZ_CHECK(r.ok() && r.length() == length);
    FUZZ_CHECK(std::memcmp(out2.data(), out.data(), length) == 0);
  }
}

void Check(std::span<const uint8_t> in, const ResponseResult& r, IpFamily family) {
  FUZZ_CHECK(!r.sendable());
  if (r.failed()) {
    FUZZ_CHECK(r.consumed() == 0);
    FUZZ_CHECK(r.has_transaction_id() == (in.size() >= kResponseHeaderSize));
    return;
  }
  FUZZ_CHECK(r.consumed() <= in.size());
  FUZZ_CHECK(in.size() <= kMaxResponseSize);
  FUZZ_CHECK(r.has_transaction_id());

  WriteResult w = WriteResponse(r.value(), out);
  if (const auto* e = std::get_if<ErrorResponse>(&r.value());
      e != nullptr && e->message.size() > kMaxErrorMessageSize) {
    FUZZ_CHECK(!w.ok() && w.error() == WriteError::kInvalidValue);
    return;
  }
  FUZZ_CHECK(w.ok());
  FUZZ_CHECK(w.length() == r.consumed());
  FUZZ_CHECK(std::memcmp(out.data(), in.data(), w.length()) == 0);

  ResponseResult again = ParseResponse(std::span(out).first(w.length()), family);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.consumed() == w.length());
  FUZZ_CHECK(again.value() == r.value());
  FUZZ_CHECK(again.transaction_id() == r.transaction_id());
  CheckIncrementalWriters(r.value(), w.length());
}

void FuzzOne(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  ResponseResult v4 = ParseResponse(in, IpFamily::kV4);
  Check(in, v4, IpFamily::kV4);
  ResponseResult v6 = ParseResponse(in, IpFamily::kV6);
  Check(in, v6, IpFamily::kV6);
  // Only announce peers depend on the hint.
  const bool announce = size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1;
  if (!announce) {
    FUZZ_CHECK(v4.status() == v6.status());
    if (v4.ok()) FUZZ_CHECK(v4.value() == v6.value());
    if (v4.failed()) FUZZ_CHECK(v4.error() == v6.error());
  }
}

}  // namespace
}  // namespace reef::udp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reef::udp::FuzzOne(data, size);
  return 0;
}
