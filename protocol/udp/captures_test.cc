// Datagrams that real clients sent to a UDP tracker (python3-libtorrent 2.0.8 and
// transmission-cli 3.00, recorded by tools/captures/udp_capture.py against a fake tracker
// that handed out connection id 0x0123456789abcdef), and responses a real tracker
// (Debian's opentracker) sent back. Each one parses, and its fields hold what the client was told
// or is known to send, or what the tracker was asked.
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

// ---- Responses from opentracker ----
// udp_capture.py sent: connect (transaction 0x1001); announces (0x1002, 0x1003) from two
// leechers on 127.0.0.1, ports 6881 and 6882, num_want 50; a scrape (0x1004); an announce
// of a hash off the whitelist (0x1005).

// Parses a response, re-serializes it and checks the bytes come back exactly.
template <typename T>
T ParseAndRewrite(std::span<const uint8_t> datagram) {
  ResponseResult r = ParseResponse(datagram, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == datagram.size());
  REQUIRE(std::holds_alternative<T>(r.value()));
  std::array<uint8_t, 64> out{};
  WriteResult w = WriteResponse(r.value(), out);
  REQUIRE(w.ok());
  CHECK(std::ranges::equal(std::span(out).first(w.length()), datagram));
  return std::get<T>(r.value());
}

Peer Loopback(uint16_t port) { return Peer{IpFamily::kV4, {127, 0, 0, 1}, port}; }

TEST_CASE("opentracker: connect response") {
  auto c = ParseAndRewrite<ConnectResponse>(captures::kOpentrackerConnectResponse);
  CHECK(c.transaction_id == 0x1001);
  CHECK(c.connection_id != 0);
}

TEST_CASE("opentracker: announce responses list the announcing peers, itself included") {
  auto first = ParseAndRewrite<AnnounceResponse>(captures::kOpentrackerAnnounceResponseFirstPeer);
  CHECK(first.transaction_id == 0x1002);
  CHECK(first.interval > 0);
  CHECK(first.leechers == 1);
  CHECK(first.seeders == 0);
  REQUIRE(first.peers.size() == 1);
  CHECK(first.peers[0] == Loopback(6881));

  auto second = ParseAndRewrite<AnnounceResponse>(captures::kOpentrackerAnnounceResponseSecondPeer);
  CHECK(second.transaction_id == 0x1003);
  CHECK(second.leechers == 2);
  CHECK(second.seeders == 0);
  REQUIRE(second.peers.size() == 2);
  CHECK(((second.peers[0] == Loopback(6881) && second.peers[1] == Loopback(6882)) ||
         (second.peers[0] == Loopback(6882) && second.peers[1] == Loopback(6881))));
}

TEST_CASE("opentracker: scrape response counts the two leechers") {
  auto s = ParseAndRewrite<ScrapeResponse>(captures::kOpentrackerScrapeResponse);
  CHECK(s.transaction_id == 0x1004);
  REQUIRE(s.stats.size() == 1);
  CHECK(s.stats[0] == TorrentStats{0, 0, 2});  // seeders, completed, leechers
}

TEST_CASE("opentracker: its refusal is a bare 8-byte announce header, which BEP 15 lacks") {
  ResponseResult r =
      ParseResponse(captures::kOpentrackerAnnounceRefusedOffWhitelist, IpFamily::kV4);
  REQUIRE(r.failed());
  CHECK(r.error() == ParseError::kAnnounceResponseTooShort);
  REQUIRE(r.has_transaction_id());
  CHECK(r.transaction_id() == 0x1005);  // so a client can still match it to its request
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
  for (std::span<const uint8_t> datagram :
       {std::span<const uint8_t>(captures::kOpentrackerConnectResponse),
        std::span<const uint8_t>(captures::kOpentrackerAnnounceResponseFirstPeer),
        std::span<const uint8_t>(captures::kOpentrackerAnnounceResponseSecondPeer),
        std::span<const uint8_t>(captures::kOpentrackerScrapeResponse),
        std::span<const uint8_t>(captures::kOpentrackerAnnounceRefusedOffWhitelist)}) {
    for (size_t n = 0; n <= datagram.size(); ++n) {
      testing::GuardedBuffer guarded(datagram.first(n));
      ResponseResult r = ParseResponse(guarded.span(), IpFamily::kV4);
      if (r.ok()) CHECK(r.consumed() <= n);
    }
    testing::AllocationScope scope;
    ResponseResult r = ParseResponse(datagram, IpFamily::kV4);
    CHECK(r.has_transaction_id());
    CHECK(scope.allocations() == 0);
  }
}

}  // namespace
}  // namespace reef::udp
