// Fuzzes the response side, used by the load generator: ParseResponseHead, then the
// announce and scrape body parsers on what follows the head.
//
// Properties, not just "does not crash":
//  - an accepted head has consumed() <= size and header views inside the input, and its
//    own bytes parse alone to the same head; every proper prefix of it is incomplete;
//  - an accepted announce body whose peers all have addresses, written back with
//    WriteAnnounceBody (same counts, same peers, compact iff it was compact), parses to
//    the same counts and the same peers in the same order;
//  - an accepted scrape body written back with ScrapeBodyWriter (hashes sorted and
//    unique) parses to the same files.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/http/response.h"
#include "protocol/http/response_parser.h"

namespace {

using namespace reef::http;

constexpr size_t kMaxPeers = 512;

bool Within(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void CheckHead(std::string_view in) {
  std::array<Header, 16> headers;
  auto r = ParseResponseHead(in, headers);
  if (!r.ok()) return;
  FUZZ_CHECK(r.consumed() <= in.size());
  FUZZ_CHECK(r.value().status >= 100 && r.value().status <= 999);
  for (const Header& h : r.value().headers) FUZZ_CHECK(Within(h.name, in) && Within(h.value, in));
  std::string_view head = in.substr(0, r.consumed());
  std::array<Header, 16> again_headers;
  auto again = ParseResponseHead(head, again_headers);
  FUZZ_CHECK(again.ok() && again.consumed() == r.consumed());
  FUZZ_CHECK(again.value().content_length == r.value().content_length);
  FUZZ_CHECK(again.value().keep_alive == r.value().keep_alive);
  if (!head.empty()) FUZZ_CHECK(ParseResponseHead(head.substr(0, head.size() - 1), again_headers).incomplete());
}

void CheckAnnounce(std::string_view body) {
  auto r = ParseAnnounceResponse(body);
  if (!r.ok()) return;
  const AnnounceResponseView& v = r.value();
  if (v.failure_reason || v.peer_count() > kMaxPeers) return;
  static std::array<ResponsePeer, kMaxPeers> peers;
  size_t n = 0;
  bool all_ids = true;
  PeerCursor cursor(v);
  ParsedPeer p;
  while (cursor.Next(&p)) {
    if (!p.address) return;  // a DNS name: not something our writer produces
    all_ids = all_ids && p.peer_id.has_value();
    peers[n++] = ResponsePeer{*p.address, p.port, p.peer_id.value_or(reef::PeerId())};
  }
  FUZZ_CHECK(n == v.peer_count());
  const bool compact = v.peer_list.empty();
  if (!compact && !all_ids) {
    bool any_id = false;
    PeerCursor again(v);
    while (again.Next(&p)) any_id = any_id || p.peer_id.has_value();
    if (any_id) return;  // mixed: our writer writes all ids or none
  }
  AnnounceResponse response;
  response.counts.interval = v.interval.value_or(0);
  response.counts.min_interval = v.min_interval;
  response.counts.complete = v.complete.value_or(0);
  response.counts.incomplete = v.incomplete.value_or(0);
  response.counts.tracker_id = v.tracker_id.value_or("");
  response.counts.warning_message = v.warning_message.value_or("");
  response.peers = std::span<const ResponsePeer>(peers.data(), n);
  response.compact = compact;
  response.include_peer_id = all_ids;
  static std::array<uint8_t, 1 << 16> buf;
  auto w = WriteAnnounceBody(response, buf);
  FUZZ_CHECK(w.ok());
  auto back = ParseAnnounceResponse(
      std::string_view(reinterpret_cast<const char*>(buf.data()), w.length()));
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back.value().interval.value_or(0) == response.counts.interval);
  FUZZ_CHECK(back.value().min_interval == v.min_interval);
  FUZZ_CHECK(back.value().peer_count() == n);
  PeerCursor c(back.value());
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(c.Next(&p));
    FUZZ_CHECK(p.address == peers[i].address);
    FUZZ_CHECK(p.port == peers[i].port);
  }
}

void CheckScrape(std::string_view body) {
  auto r = ParseScrapeResponse(body);
  if (!r.ok() || r.value().file_count > kMaxPeers) return;
  static std::array<ScrapeFile, kMaxPeers> files;
  size_t n = 0;
  ScrapeFileCursor cursor(r.value());
  while (cursor.Next(&files[n])) ++n;
  FUZZ_CHECK(n == r.value().file_count);
  std::sort(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(n),
            [](const ScrapeFile& a, const ScrapeFile& b) { return a.info_hash < b.info_hash; });
  // Lenient input may repeat a hash: keep the last, as a dict reader would.
  size_t unique = 0;
  for (size_t i = 0; i < n; ++i) {
    if (unique > 0 && files[unique - 1].info_hash == files[i].info_hash) {
      files[unique - 1] = files[i];
    } else {
      files[unique++] = files[i];
    }
  }
  static std::array<uint8_t, 1 << 16> buf;
  ScrapeBodyWriter w(buf);
  for (size_t i = 0; i < unique; ++i) w.AddFile(files[i].info_hash, files[i].stats);
  auto written = w.Finish();
  FUZZ_CHECK(written.ok());
  auto back = ParseScrapeResponse(
      std::string_view(reinterpret_cast<const char*>(buf.data()), written.length()));
  FUZZ_CHECK(back.ok() && back.value().file_count == unique);
  ScrapeFileCursor c(back.value());
  ScrapeFile f;
  for (size_t i = 0; i < unique; ++i) {
    FUZZ_CHECK(c.Next(&f));
    FUZZ_CHECK(f.info_hash == files[i].info_hash);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckHead(in);
  std::array<Header, 16> headers;
  auto head = ParseResponseHead(in, headers);
  std::string_view body = head.ok() ? in.substr(head.consumed()) : in;
  CheckAnnounce(body);
  CheckScrape(body);
  return 0;
}
