// Datagrams that real clients sent to a UDP tracker (python3-libtorrent 2.0.8 and
// transmission-cli 3.00, recorded by testdata/capture.py against a fake tracker that
// handed out connection id 0x0123456789abcdef). Each one parses, and its fields hold what
// the client was told or is known to send.
#include "protocol/udp/testdata/captures.inc"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::udp {
namespace {

constexpr uint64_t kFakeTrackerConnectionId = 0x0123456789abcdefULL;
constexpr int64_t kTorrentSize = 64 * 1024;  // one file, nothing downloaded yet

InfoHash CapturedHash() { return *InfoHash::FromHex(captures::kInfoHashHex); }

AnnounceRequest ParseAnnounce(std::span<const uint8_t> datagram) {
  RequestResult r = ParseRequest(datagram);
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<AnnounceRequest>(r.value()));
  CHECK(r.consumed() == 98);
  // Re-serializing gives back the client's 98 bytes exactly.
  std::array<uint8_t, 98> out{};
  WriteResult w = WriteAnnounceRequest(std::get<AnnounceRequest>(r.value()), out);
  REQUIRE(w.ok());
  CHECK(std::ranges::equal(out, datagram.first(98)));
  return std::get<AnnounceRequest>(r.value());
}

bool StartsWith(const PeerId& id, std::string_view prefix) {
  return std::ranges::equal(id.bytes().first(prefix.size()), prefix,
                            [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

void CheckConnect(std::span<const uint8_t> datagram) {
  RequestResult r = ParseRequest(datagram);
  REQUIRE(r.ok());
  CHECK(r.consumed() == datagram.size());
  CHECK(r.connection_id() == kProtocolId);
  CHECK(std::get<ConnectRequest>(r.value()).transaction_id == r.transaction_id());
  std::array<uint8_t, 16> out{};
  REQUIRE(WriteRequest(r.value(), out).ok());
  CHECK(std::ranges::equal(out, datagram));
}

void CheckScrape(std::span<const uint8_t> datagram) {
  RequestResult r = ParseRequest(datagram);
  REQUIRE(r.ok());
  const auto& s = std::get<ScrapeRequest>(r.value());
  CHECK(s.connection_id == kFakeTrackerConnectionId);
  REQUIRE(s.info_hashes.size() == 1);
  CHECK(s.info_hash(0) == CapturedHash());
  std::array<uint8_t, 36> out{};
  REQUIRE(WriteRequest(r.value(), out).ok());
  CHECK(std::ranges::equal(out, datagram));
}

TEST_CASE("libtorrent: connect") { CheckConnect(captures::kLibtorrentConnect); }
TEST_CASE("transmission: connect") { CheckConnect(captures::kTransmissionConnect); }
TEST_CASE("libtorrent: scrape of one hash") { CheckScrape(captures::kLibtorrentScrape); }
TEST_CASE("transmission: scrape of one hash") { CheckScrape(captures::kTransmissionScrape); }

TEST_CASE("libtorrent: announce started, with a BEP 41 URLData option after it") {
  AnnounceRequest a = ParseAnnounce(captures::kLibtorrentAnnounceStarted);
  CHECK(a.connection_id == kFakeTrackerConnectionId);
  CHECK(a.info_hash == CapturedHash());
  CHECK(StartsWith(a.peer_id, "-LT2080-"));  // libtorrent 2.0.8
  CHECK(a.downloaded == 0);
  CHECK(a.left == kTorrentSize);
  CHECK(a.uploaded == 0);
  CHECK(a.event == AnnounceEvent::kStarted);
  CHECK(a.ip == std::array<uint8_t, 4>{});  // "use my source address"
  CHECK(a.num_want == 200);                 // libtorrent's default num_want
  CHECK(a.port == captures::kLibtorrentPort);
  // After the 98 bytes: option type 2 (URLData), length, the tracker URL's path.
  std::span<const uint8_t> options = std::span(captures::kLibtorrentAnnounceStarted).subspan(98);
  REQUIRE(options.size() == 2 + captures::kTrackerPath.size());
  CHECK(options[0] == 2);
  CHECK(options[1] == captures::kTrackerPath.size());
  CHECK(std::ranges::equal(options.subspan(2), captures::kTrackerPath,
                           [](uint8_t x, char y) { return x == static_cast<uint8_t>(y); }));
}

TEST_CASE("libtorrent: announce stopped keeps peer id and key, wants no peers") {
  AnnounceRequest started = ParseAnnounce(captures::kLibtorrentAnnounceStarted);
  AnnounceRequest stopped = ParseAnnounce(captures::kLibtorrentAnnounceStopped);
  CHECK(stopped.event == AnnounceEvent::kStopped);
  CHECK(stopped.peer_id == started.peer_id);
  CHECK(stopped.key == started.key);
  CHECK(stopped.info_hash == started.info_hash);
  CHECK(stopped.num_want == 0);
  CHECK(stopped.transaction_id != started.transaction_id);
}

TEST_CASE("transmission: announce started, plain 98 bytes") {
  RequestResult r = ParseRequest(captures::kTransmissionAnnounceStarted);
  REQUIRE(r.ok());
  CHECK(r.consumed() == sizeof(captures::kTransmissionAnnounceStarted));  // no options
  AnnounceRequest a = ParseAnnounce(captures::kTransmissionAnnounceStarted);
  CHECK(a.connection_id == kFakeTrackerConnectionId);
  CHECK(a.info_hash == CapturedHash());
  CHECK(StartsWith(a.peer_id, "-TR3000-"));  // transmission 3.00
  CHECK(a.left == kTorrentSize);
  CHECK(a.event == AnnounceEvent::kStarted);
  CHECK(a.num_want == 80);  // transmission's default numwant
  CHECK(a.port == captures::kTransmissionPort);
}

TEST_CASE("transmission: announce stopped (it sends one before its first started, too)") {
  AnnounceRequest started = ParseAnnounce(captures::kTransmissionAnnounceStarted);
  AnnounceRequest stopped = ParseAnnounce(captures::kTransmissionAnnounceStopped);
  CHECK(stopped.event == AnnounceEvent::kStopped);
  CHECK(stopped.peer_id == started.peer_id);
  CHECK(stopped.key == started.key);
  CHECK(stopped.num_want == 0);
}

const std::vector<std::span<const uint8_t>>& AllCaptures() {
  static const std::vector<std::span<const uint8_t>> all = {
      captures::kLibtorrentConnect,           captures::kLibtorrentAnnounceStarted,
      captures::kLibtorrentAnnounceStopped,   captures::kLibtorrentScrape,
      captures::kTransmissionConnect,         captures::kTransmissionAnnounceStarted,
      captures::kTransmissionAnnounceStopped, captures::kTransmissionScrape,
  };
  return all;
}

TEST_CASE("captures: no over-read on any prefix, no allocation") {
  for (std::span<const uint8_t> datagram : AllCaptures()) {
    for (size_t n = 0; n <= datagram.size(); ++n) {
      testing::GuardedBuffer guarded(datagram.first(n));
      RequestResult r = ParseRequest(guarded.span());
      if (r.ok()) CHECK(r.consumed() <= n);
    }
    testing::AllocationScope scope;
    RequestResult r = ParseRequest(datagram);
    CHECK(r.ok());
    CHECK(scope.allocations() == 0);
  }
}

}  // namespace
}  // namespace reef::udp
