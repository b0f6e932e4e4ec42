#include "protocol/udp/write.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/test_vectors.h"
#include "testing/alloc_counter.h"

namespace reef::udp {
namespace {

using Bytes = std::vector<uint8_t>;

InfoHash HashOf(uint8_t first) {
  std::array<uint8_t, 20> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(first + i);
  return InfoHash(bytes);
}

// The table's announce request, as a value.
AnnounceRequest TableAnnounce() {
  AnnounceRequest a;
  a.connection_id = 0x0102030405060708ULL;
  a.transaction_id = 0x0a0b0c0d;
  a.info_hash = HashOf(0x10);
  a.peer_id = *PeerId::FromString("-RF0001-abcdefghijkl");
  a.downloaded = 0x100001000LL;
  a.left = 0xffff00;
  a.uploaded = 512;
  a.event = AnnounceEvent::kStarted;
  a.ip = {192, 168, 1, 2};
  a.key = 0xcafebabe;
  a.num_want = -1;
  a.port = 6881;
  return a;
}

// Writes `write(out)` into a buffer of exactly the expected size and checks the bytes;
// then checks every smaller buffer is refused as too small.
template <typename Write>
void CheckWrites(Write write, std::span<const uint8_t> expected) {
  Bytes out(expected.size());
  WriteResult r = write(std::span<uint8_t>(out));
  REQUIRE(r.ok());
  CHECK(r.length() == expected.size());
  CHECK(std::ranges::equal(out, expected));
  for (size_t n = 0; n < expected.size(); ++n) {
    Bytes small(n);
    WriteResult s = write(std::span<uint8_t>(small));
    CAPTURE(n);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error() == WriteError::kBufferTooSmall);
  }
}

TEST_CASE("writers reproduce the BEP 15 tables byte for byte") {
  SUBCASE("connect request") {
    CheckWrites([](std::span<uint8_t> out) { return WriteConnectRequest({0xdeadbeef}, out); },
                vectors::kConnectRequest);
  }
  SUBCASE("connect response") {
    CheckWrites(
        [](std::span<uint8_t> out) {
          return WriteConnectResponse({0xdeadbeef, 0x0102030405060708ULL}, out);
        },
        vectors::kConnectResponse);
  }
  SUBCASE("announce request") {
    CheckWrites([](std::span<uint8_t> out) { return WriteAnnounceRequest(TableAnnounce(), out); },
                vectors::kAnnounceRequest);
  }
  SUBCASE("announce response, IPv4, from a PeerList and from the incremental writer") {
    AnnounceResponse a;
    a.transaction_id = 0x0a0b0c0d;
    a.interval = 1800;
    a.leechers = 5;
    a.seeders = 9;
    a.peers =
        *PeerList::FromBytes(IpFamily::kV4, std::span(vectors::kAnnounceResponseV4).subspan(20));
    CheckWrites([&](std::span<uint8_t> out) { return WriteAnnounceResponse(a, out); },
                vectors::kAnnounceResponseV4);
    CheckWrites(
        [](std::span<uint8_t> out) {
          AnnounceResponseWriter w(out, IpFamily::kV4, {0x0a0b0c0d, 1800, 5, 9});
          w.AddPeerV4(std::array<uint8_t, 4>{10, 0, 0, 1}, 6881);
          w.AddPeerV4(std::array<uint8_t, 4>{192, 168, 0, 2}, 51413);
          return w.Finish();
        },
        vectors::kAnnounceResponseV4);
  }
  SUBCASE("announce response, IPv6") {
    CheckWrites(
        [](std::span<uint8_t> out) {
          AnnounceResponseWriter w(out, IpFamily::kV6, {0x0a0b0c0d, 3600, 0, 1});
          w.AddPeerV6(
              std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
              6881);
          return w.Finish();
        },
        vectors::kAnnounceResponseV6);
  }
  SUBCASE("scrape request, from a view and from InfoHash values") {
    ScrapeRequest s;
    s.connection_id = 0x0102030405060708ULL;
    s.transaction_id = 0x11223344;
    s.info_hashes = *InfoHashList::FromBytes(std::span(vectors::kScrapeRequest).subspan(16));
    CheckWrites([&](std::span<uint8_t> out) { return WriteScrapeRequest(s, out); },
                vectors::kScrapeRequest);
    const std::array<InfoHash, 2> hashes = {HashOf(0xa0), HashOf(0xc0)};
    CheckWrites(
        [&](std::span<uint8_t> out) {
          return WriteScrapeRequest(0x0102030405060708ULL, 0x11223344, hashes, out);
        },
        vectors::kScrapeRequest);
  }
  SUBCASE("scrape response, from a view and from the incremental writer") {
    ScrapeResponse s;
    s.transaction_id = 0x11223344;
    s.stats = *TorrentStatsList::FromBytes(std::span(vectors::kScrapeResponse).subspan(8));
    CheckWrites([&](std::span<uint8_t> out) { return WriteScrapeResponse(s, out); },
                vectors::kScrapeResponse);
    CheckWrites(
        [](std::span<uint8_t> out) {
          ScrapeResponseWriter w(out, 0x11223344);
          w.Add({3, 256, 7});
          w.Add({0, 65536, 0x7fffffff});
          return w.Finish();
        },
        vectors::kScrapeResponse);
  }
  SUBCASE("error response") {
    CheckWrites(
        [](std::span<uint8_t> out) {
          return WriteErrorResponse({0x11223344, "unknown torrent"}, out);
        },
        vectors::kErrorResponse);
  }
}

TEST_CASE("WriteRequest and WriteResponse dispatch on the variant") {
  std::array<uint8_t, 128> out{};
  WriteResult r = WriteRequest(Request(TableAnnounce()), out);
  REQUIRE(r.ok());
  CHECK(std::ranges::equal(std::span(out).first(r.length()), vectors::kAnnounceRequest));
  WriteResult e = WriteResponse(Response(ErrorResponse{0x11223344, "unknown torrent"}), out);
  REQUIRE(e.ok());
  CHECK(std::ranges::equal(std::span(out).first(e.length()), vectors::kErrorResponse));
}

TEST_CASE("lengths follow the BEP 15 formulas") {
  CHECK(ScrapeRequestSize(3) == 16 + 20 * 3);
  CHECK(AnnounceResponseSize(IpFamily::kV4, 50) == 20 + 6 * 50);
  CHECK(AnnounceResponseSize(IpFamily::kV6, 50) == 20 + 18 * 50);
  CHECK(ScrapeResponseSize(20) == 8 + 12 * 20);
  CHECK(ErrorResponseSize(5) == 8 + 5);
}

// ---- Values with no encoding, and the limits ----

TEST_CASE("an announce event outside 0..3 has no encoding") {
  AnnounceRequest a = TableAnnounce();
  a.event = static_cast<AnnounceEvent>(4);
  std::array<uint8_t, 98> out{};
  WriteResult r = WriteAnnounceRequest(a, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == WriteError::kInvalidValue);
}

TEST_CASE("limit: a scrape request carries 1..kMaxScrapeHashes hashes") {
  std::vector<InfoHash> hashes(kMaxScrapeHashes + 1);
  for (size_t i = 0; i < hashes.size(); ++i) hashes[i] = HashOf(static_cast<uint8_t>(i));
  Bytes out(2000);
  WriteResult none = WriteScrapeRequest(1, 2, std::span(hashes).first(0), out);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error() == WriteError::kInvalidValue);
  WriteResult most = WriteScrapeRequest(1, 2, std::span(hashes).first(kMaxScrapeHashes), out);
  REQUIRE(most.ok());
  CHECK(most.length() == 16 + 20 * kMaxScrapeHashes);
  CHECK(most.length() <= kMaxRequestSize);
  WriteResult past = WriteScrapeRequest(1, 2, hashes, out);
  REQUIRE_FALSE(past.ok());
  CHECK(past.error() == WriteError::kInvalidValue);

  // The same through a ScrapeRequest view.
  Bytes raw(20 * (kMaxScrapeHashes + 1), 7);
  ScrapeRequest s;
  s.info_hashes = *InfoHashList::FromBytes(std::span(raw).first(20 * kMaxScrapeHashes));
  CHECK(WriteScrapeRequest(s, out).ok());
  s.info_hashes = *InfoHashList::FromBytes(raw);
  CHECK(WriteScrapeRequest(s, out).error() == WriteError::kInvalidValue);
  s.info_hashes = InfoHashList();
  CHECK(WriteScrapeRequest(s, out).error() == WriteError::kInvalidValue);
}

TEST_CASE("limit: an error message of kMaxErrorMessageSize bytes is written, one more is not") {
  std::string message(kMaxErrorMessageSize, 'm');
  Bytes out(1000);
  WriteResult at = WriteErrorResponse({1, message}, out);
  REQUIRE(at.ok());
  CHECK(at.length() == 8 + kMaxErrorMessageSize);
  message.push_back('m');
  WriteResult past = WriteErrorResponse({1, message}, out);
  REQUIRE_FALSE(past.ok());
  CHECK(past.error() == WriteError::kInvalidValue);
}

TEST_CASE("limit: responses stop at kMaxResponseSize") {
  Bytes out(kMaxResponseSize + 100);
  SUBCASE("IPv4 peers") {
    AnnounceResponseWriter w(out, IpFamily::kV4, {});
    CHECK(w.room_for_peers() == kMaxPeersV4);
    const std::array<uint8_t, 4> ip = {1, 2, 3, 4};
    for (size_t i = 0; i < kMaxPeersV4; ++i) REQUIRE(w.AddPeerV4(ip, 1));
    CHECK(w.room_for_peers() == 0);
    CHECK(w.Finish().length() == 20 + 6 * kMaxPeersV4);
    CHECK_FALSE(w.AddPeerV4(ip, 1));
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
  }
  SUBCASE("IPv6 peers") {
    AnnounceResponseWriter w(out, IpFamily::kV6, {});
    CHECK(w.room_for_peers() == kMaxPeersV6);
    const std::array<uint8_t, 16> ip{};
    for (size_t i = 0; i < kMaxPeersV6; ++i) REQUIRE(w.AddPeerV6(ip, 1));
    CHECK(w.Finish().length() == 20 + 18 * kMaxPeersV6);
    CHECK_FALSE(w.AddPeerV6(ip, 1));
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
  }
  SUBCASE("scrape entries") {
    ScrapeResponseWriter w(out, 1);
    const size_t most = (kMaxResponseSize - 8) / 12;
    for (size_t i = 0; i < most; ++i) REQUIRE(w.Add({1, 2, 3}));
    CHECK(w.Finish().length() == 8 + 12 * most);
    CHECK_FALSE(w.Add({1, 2, 3}));
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
    Bytes raw(12 * (most + 1), 0);
    ScrapeResponse s{1, *TorrentStatsList::FromBytes(std::span(raw).first(12 * most))};
    CHECK(WriteScrapeResponse(s, out).ok());
    s.stats = *TorrentStatsList::FromBytes(raw);
    CHECK(WriteScrapeResponse(s, out).error() == WriteError::kInvalidValue);
  }
}

TEST_CASE("announce response writer: room, family, sticky failure") {
  std::array<uint8_t, 20 + 6 * 3 + 5> out{};  // room for 3 IPv4 peers, not 4
  AnnounceResponseWriter w(out, IpFamily::kV4, {7, 60, 1, 2});
  CHECK(w.room_for_peers() == 3);
  const std::array<uint8_t, 4> ip = {127, 0, 0, 1};
  CHECK(w.AddPeerV4(ip, 1));
  CHECK(w.AddPeer(Peer{IpFamily::kV4, {127, 0, 0, 2}, 2}));
  CHECK(w.AddCompactPeers(std::array<uint8_t, 6>{127, 0, 0, 3, 0, 3}));
  CHECK(w.peer_count() == 3);
  CHECK(w.room_for_peers() == 0);
  REQUIRE(w.Finish().ok());
  ResponseResult parsed = ParseResponse(std::span(out).first(w.Finish().length()), IpFamily::kV4);
  REQUIRE(parsed.ok());
  const auto& a = std::get<AnnounceResponse>(parsed.value());
  CHECK(a.transaction_id == 7);
  REQUIRE(a.peers.size() == 3);
  CHECK(a.peers[2].ip[3] == 3);
  CHECK(a.peers[2].port == 3);
  // The fourth does not fit: the writer fails, and stays failed.
  CHECK_FALSE(w.AddPeerV4(ip, 4));
  CHECK(w.peer_count() == 3);
  CHECK(w.Finish().error() == WriteError::kBufferTooSmall);

  std::array<uint8_t, 100> big{};
  AnnounceResponseWriter v4(big, IpFamily::kV4, {});
  CHECK_FALSE(v4.AddPeerV6(std::array<uint8_t, 16>{}, 1));  // the other family
  CHECK(v4.Finish().error() == WriteError::kInvalidValue);
  AnnounceResponseWriter partial(big, IpFamily::kV6, {});
  CHECK_FALSE(partial.AddCompactPeers(std::array<uint8_t, 17>{}));  // not whole peers
  CHECK(partial.Finish().error() == WriteError::kInvalidValue);
  std::array<uint8_t, 19> tiny{};
  AnnounceResponseWriter header_only(tiny, IpFamily::kV4, {});  // not even the header
  CHECK(header_only.room_for_peers() == 0);
  CHECK(header_only.Finish().error() == WriteError::kBufferTooSmall);
}

TEST_CASE("zero allocations: every writer") {
  AnnounceRequest announce = TableAnnounce();
  ScrapeRequest scrape{1, 2,
                       *InfoHashList::FromBytes(std::span(vectors::kScrapeRequest).subspan(16))};
  const std::array<InfoHash, 2> hashes = {HashOf(1), HashOf(2)};
  AnnounceResponse response{
      1, 2, 3, 4,
      *PeerList::FromBytes(IpFamily::kV4, std::span(vectors::kAnnounceResponseV4).subspan(20))};
  ScrapeResponse scrape_response{
      1, *TorrentStatsList::FromBytes(std::span(vectors::kScrapeResponse).subspan(8))};
  std::array<uint8_t, 2048> out{};
  const std::array<uint8_t, 4> ip = {1, 2, 3, 4};
  testing::AllocationScope scope;
  size_t total = 0;
  for (int i = 0; i < 10; ++i) {
    total += WriteConnectRequest({1}, out).length();
    total += WriteAnnounceRequest(announce, out).length();
    total += WriteScrapeRequest(scrape, out).length();
    total += WriteScrapeRequest(1, 2, hashes, out).length();
    total += WriteRequest(Request(announce), out).length();
    total += WriteConnectResponse({1, 2}, out).length();
    total += WriteAnnounceResponse(response, out).length();
    total += WriteScrapeResponse(scrape_response, out).length();
    total += WriteErrorResponse({1, "full scrapes are not supported"}, out).length();
    total += WriteResponse(Response(scrape_response), out).length();
    AnnounceResponseWriter w(out, IpFamily::kV4, {1, 2, 3, 4});
    for (uint16_t p = 0; p < 50; ++p) w.AddPeerV4(ip, p);
    total += w.Finish().length();
    ScrapeResponseWriter sw(out, 1);
    sw.Add({1, 2, 3});
    total += sw.Finish().length();
  }
  CHECK(scope.allocations() == 0);
  CHECK(total > 0);
}

}  // namespace
}  // namespace reef::udp
