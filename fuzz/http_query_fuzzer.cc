// Fuzzes the announce and scrape query parsers and the request writer.
//
// Properties, not just "does not crash":
//  - an accepted announce written back by WriteAnnounceQuery parses to the same request
//    (unless its raw key/trackerid cannot be written as is, which the writer must then
//    refuse with kInvalidValue, never a bad query);
//  - an accepted scrape holds 1..max info hashes, iterating yields exactly size() of
//    them, and writing them back parses to the same list;
//  - PercentDecode and PercentDecodedLength agree on every input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/http/query.h"

namespace {

using namespace reef::http;

void CheckAnnounce(std::string_view in) {
  auto r = ParseAnnounceQuery(in);
  if (r.failed()) {
    FUZZ_CHECK(!ErrorReason(r.error()).empty());
    return;
  }
  FUZZ_CHECK(r.ok());
  FUZZ_CHECK(r.consumed() == in.size());
  static std::array<uint8_t, 16384> buf;
  auto w = WriteAnnounceQuery(r.value(), buf);
  if (!w.ok()) {
    FUZZ_CHECK(w.error() == reef::WriteError::kInvalidValue);
    return;
  }
  std::string_view written(reinterpret_cast<const char*>(buf.data()), w.length());
  auto again = ParseAnnounceQuery(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == r.value());
}

void CheckScrape(std::string_view in) {
  QueryLimits limits;
  auto r = ParseScrapeQuery(in, limits);
  if (r.failed()) {
    FUZZ_CHECK(!ErrorReason(r.error()).empty());
    return;
  }
  const InfoHashList& list = r.value().info_hashes;
  FUZZ_CHECK(list.size() >= 1 && list.size() <= limits.max_scrape_info_hashes);
  std::array<reef::InfoHash, kDefaultMaxScrapeInfoHashes> hashes;
  size_t n = 0;
  for (const reef::InfoHash& h : list) {
    FUZZ_CHECK(n < hashes.size());
    hashes[n++] = h;
  }
  FUZZ_CHECK(n == list.size());
  static std::array<uint8_t, 16384> buf;
  auto w = WriteScrapeQuery(std::span<const reef::InfoHash>(hashes.data(), n), buf);
  FUZZ_CHECK(w.ok());
  auto again = ParseScrapeQuery(
      std::string_view(reinterpret_cast<const char*>(buf.data()), w.length()), limits);
  FUZZ_CHECK(again.ok());
  size_t i = 0;
  for (const reef::InfoHash& h : again.value().info_hashes) {
    FUZZ_CHECK(i < n && h == hashes[i]);
    ++i;
  }
  FUZZ_CHECK(i == n);
}

void CheckDecode(std::string_view in) {
  static std::array<uint8_t, 16384> out;
  auto len = PercentDecodedLength(in);
  auto n = PercentDecode(in, out);
  if (in.size() <= out.size()) FUZZ_CHECK(len == n);
  if (n) FUZZ_CHECK(*n <= in.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckAnnounce(in);
  CheckScrape(in);
  CheckDecode(in);
  return 0;
}
