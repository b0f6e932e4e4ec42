// The tracker core's rules, one TEST_CASE (or a few) per rule in tracker.h, with a fake
// clock and no protocol at all.
#include "server/tracker/tracker.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/recording_writer.h"
#include "testing/alloc_counter.h"

namespace reef::tracker {
namespace {

InfoHash Hash(uint8_t seed) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(seed);
  return InfoHash(bytes);
}

PeerId Id(uint8_t seed) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(seed);
  return PeerId(bytes);
}

IpAddress V4(uint8_t host) { return IpAddress::V4({10, 0, 0, host}); }
IpAddress V6(uint8_t host) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  a[15] = host;
  return IpAddress::V6(a);
}

using testing::RecordingWriter;

struct Fixture {
  explicit Fixture(Options options = {}, AccessListMode mode = AccessListMode::kOff)
      : store(swarm::TorrentStore::Create(
                  {.shards = 4, .max_response_peers = 100, .peer_inactivity_timeout_s = 1200})
                  .value()),
        access(mode),
        core(options, store, access, clock, 7) {}

  AnnounceOutcome Announce(const Client& client, const AnnounceRequest& request,
                           RecordingWriter* out = nullptr) {
    RecordingWriter writer;
    AnnounceOutcome outcome = core.Announce(client, request, writer);
    if (out != nullptr) *out = writer;
    return outcome;
  }

  FakeClock clock;
  swarm::TorrentStore store;
  AccessList access;
  Tracker core;
};

AnnounceRequest Request(uint8_t torrent, uint16_t port, std::optional<uint64_t> left,
                        Event event = Event::kStarted, uint8_t peer_id = 1) {
  AnnounceRequest r;
  r.info_hash = Hash(torrent);
  r.peer_id = Id(peer_id);
  r.port = port;
  r.left = left;
  r.event = event;
  return r;
}

Client Udp(const IpAddress& address) { return {Protocol::kUdp, address}; }

TEST_CASE("the peer is the address the request came from, with the port it announced") {
  Fixture f;
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  RecordingWriter w;
  (void)f.Announce({Protocol::kHttp, V4(2)}, Request(1, 7000, 5), &w);
  REQUIRE(w.peers.size() == 1);
  CHECK(w.peers[0] == Endpoint{V4(1), 6881});
  CHECK(w.ids[0] == Id(1));
  CHECK(PeerEndpoint(V4(9), 80) == Endpoint::V4({10, 0, 0, 9}, 80));
  // The same address with another port is another peer.
  (void)f.Announce(Udp(V4(1)), Request(1, 6882, 0));
  CHECK(f.store.Scrape(Hash(1)).seeders == 2);
}

TEST_CASE("port 0 is refused with its reason; the writer is never called; counted") {
  Fixture f;
  RecordingWriter w;
  const AnnounceOutcome out = f.Announce(Udp(V4(1)), Request(1, 0, 0), &w);
  REQUIRE_FALSE(out.ok());
  CHECK(*out.refusal == Refusal::kPortZero);
  CHECK(RefusalReason(*out.refusal) == "port must be 1-65535");
  CHECK(w.calls.empty());
  CHECK(f.store.Scrape(Hash(1)) == swarm::SwarmCounts{});
  const CountersSnapshot c = f.core.counters().Snapshot();
  CHECK(c.Refused(Protocol::kUdp, Action::kAnnounce) == 1);
  CHECK(c.Refusals(Refusal::kPortZero) == 1);
  CHECK(c.Served(Protocol::kUdp, Action::kAnnounce) == 0);
  // Port 1 and 65535 are fine.
  CHECK(f.Announce(Udp(V4(1)), Request(1, 1, 0)).ok());
  CHECK(f.Announce(Udp(V4(1)), Request(1, 65535, 0)).ok());
}

TEST_CASE("the access list refuses announces and hides scrapes") {
  Fixture f({}, AccessListMode::kAllow);
  f.access.Replace(InfoHashSet{Hash(1)});
  RecordingWriter w;
  const AnnounceOutcome refused = f.Announce(Udp(V4(1)), Request(2, 6881, 0), &w);
  REQUIRE_FALSE(refused.ok());
  CHECK(*refused.refusal == Refusal::kNotAllowed);
  CHECK(RefusalReason(Refusal::kNotAllowed) == "info_hash not allowed on this tracker");
  CHECK(w.calls.empty());
  CHECK(f.Announce(Udp(V4(1)), Request(1, 6881, 0)).ok());
  CHECK(f.core.CheckAnnounce(Request(2, 6881, 0)) == Refusal::kNotAllowed);
  CHECK(f.core.CheckAnnounce(Request(1, 6881, 0)) == std::nullopt);

  // Scrape: the refused hash answers like an unknown torrent, in request order.
  const std::vector<InfoHash> hashes = {Hash(2), Hash(1), Hash(3)};
  std::vector<std::pair<InfoHash, Counts>> got;
  const Client client{Protocol::kHttps, V6(1)};
  CHECK(f.core.Scrape(client, hashes, [&](const InfoHash& h, const Counts& c) {
    got.emplace_back(h, c);
  }) == std::nullopt);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::pair{Hash(2), Counts{}});
  CHECK(got[1] == std::pair{Hash(1), Counts{1, 0, 0}});
  CHECK(got[2] == std::pair{Hash(3), Counts{}});
  const CountersSnapshot c = f.core.counters().Snapshot();
  CHECK(c.hidden_info_hashes[static_cast<size_t>(Protocol::kHttps)] == 2);
  CHECK(c.Refusals(Refusal::kNotAllowed) == 1);
  CHECK(c.served[static_cast<size_t>(Protocol::kHttps)][static_cast<size_t>(Action::kScrape)]
                [static_cast<size_t>(AddressFamily::kV6)] == 1);
}

TEST_CASE("num_want: not given means max_response_peers, 0 none, more is capped") {
  Fixture f({.max_response_peers = 5});
  CHECK(f.core.PeersWanted(std::nullopt) == 5);
  CHECK(f.core.PeersWanted(0) == 0);
  CHECK(f.core.PeersWanted(3) == 3);
  CHECK(f.core.PeersWanted(5) == 5);
  CHECK(f.core.PeersWanted(6) == 5);
  CHECK(f.core.PeersWanted(std::numeric_limits<uint32_t>::max()) == 5);

  for (uint8_t i = 1; i <= 10; ++i) (void)f.Announce(Udp(V4(i)), Request(1, 6881, 100));
  for (const auto& [num_want, expected] :
       std::vector<std::pair<std::optional<uint32_t>, uint32_t>>{
           {std::nullopt, 5}, {0, 0}, {3, 3}, {1000, 5}}) {
    AnnounceRequest r = Request(1, 7000, 100);
    r.num_want = num_want;
    RecordingWriter w;
    const AnnounceOutcome out = f.Announce(Udp(V4(99)), r, &w);
    CHECK(out.peers == expected);
    CHECK(w.peers.size() == expected);
    CHECK(w.calls.front() == "begin " + std::to_string(expected));
  }
}

TEST_CASE("left: 0 is a seeder; anything else, and left not given, a leecher") {
  static_assert(IsSeeder(0));
  static_assert(!IsSeeder(1));
  static_assert(!IsSeeder(std::numeric_limits<uint64_t>::max()));
  static_assert(!IsSeeder(std::nullopt));
  Fixture f;
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  (void)f.Announce(Udp(V4(2)), Request(1, 6881, 1));
  (void)f.Announce(Udp(V4(3)), Request(1, 6881, std::nullopt));  // a magnet client
  CHECK(f.store.Scrape(Hash(1)) == swarm::SwarmCounts{1, 2, 0});
  // The one that did not say becomes a seeder when it says 0.
  (void)f.Announce(Udp(V4(3)), Request(1, 6881, 0, Event::kCompleted));
  CHECK(f.store.Scrape(Hash(1)) == swarm::SwarmCounts{2, 1, 1});
}

TEST_CASE("events: stopped removes the peer and returns none; completed counts once") {
  Fixture f;
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  (void)f.Announce(Udp(V4(2)), Request(1, 6881, 0, Event::kCompleted));
  (void)f.Announce(Udp(V4(2)), Request(1, 6881, 0, Event::kCompleted));
  RecordingWriter w;
  const AnnounceOutcome out = f.Announce(Udp(V4(1)), Request(1, 6881, 0, Event::kStopped), &w);
  CHECK(out.ok());
  CHECK(out.peers == 0);
  CHECK(w.calls == std::vector<std::string>{"begin 0"});
  CHECK(out.reply.counts == Counts{1, 0, 1});
  CHECK(w.reply == out.reply);
  // A stop for a torrent nobody announced creates nothing.
  (void)f.Announce(Udp(V4(1)), Request(9, 6881, 0, Event::kStopped));
  CHECK(f.store.Stats().torrents == 1);
}

TEST_CASE("the reply: counts after the announce, the intervals; told before the peers") {
  Fixture f({.announce_interval_s = 1234, .min_announce_interval_s = 321});
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  (void)f.Announce(Udp(V4(2)), Request(1, 6881, 7));
  RecordingWriter w;
  const AnnounceOutcome out = f.Announce(Udp(V4(3)), Request(1, 6881, 7), &w);
  CHECK(out.reply == AnnounceReply{Counts{1, 2, 0}, 1234, 321});
  CHECK(w.reply == out.reply);
  CHECK(w.family == AddressFamily::kV4);
  CHECK(w.calls == std::vector<std::string>{"begin 2", "add", "add"});
  // Never the requester; only its own family.
  (void)f.Announce(Udp(V6(1)), Request(1, 6881, 0));
  RecordingWriter w6;
  (void)f.Announce(Udp(V6(2)), Request(1, 6881, 7), &w6);
  CHECK(w6.family == AddressFamily::kV6);
  REQUIRE(w6.peers.size() == 1);
  CHECK(w6.peers[0] == Endpoint{V6(1), 6881});
  CHECK(w6.reply.counts == Counts{2, 3, 0});  // counts are of both families
  // The writer's capacity caps the count it is told.
  RecordingWriter small;
  small.capacity = 1;
  (void)f.core.Announce(Udp(V4(3)), Request(1, 6881, 7), small);
  CHECK(small.calls == std::vector<std::string>{"begin 1", "add"});
}

TEST_CASE("counts are clamped to INT32_MAX for every protocol") {
  static_assert(ClampCount(0) == 0);
  static_assert(ClampCount(7) == 7);
  static_assert(ClampCount(0x7fffffffu) == 0x7fffffff);
  static_assert(ClampCount(0x80000000u) == 0x7fffffff);
  static_assert(ClampCount(0xffffffffu) == 0x7fffffff);
  static_assert(ClampCounts({0xffffffffu, 3, 0x80000001u}) == Counts{0x7fffffff, 3, 0x7fffffff});
}

TEST_CASE("scrape: more than max_scrape_hashes is refused, at the limit served") {
  Fixture f({.max_scrape_hashes = 3});
  std::vector<InfoHash> hashes = {Hash(1), Hash(2), Hash(3)};
  int calls = 0;
  auto sink = [&](const InfoHash&, const Counts&) { ++calls; };
  CHECK(f.core.Scrape(Udp(V4(1)), hashes, sink) == std::nullopt);
  CHECK(calls == 3);
  hashes.push_back(Hash(4));
  CHECK(f.core.Scrape(Udp(V4(1)), hashes, sink) == Refusal::kTooManyHashes);
  CHECK(calls == 3);  // the sink is not called for a refused scrape
  CHECK(RefusalReason(Refusal::kTooManyHashes) == "too many info hashes in one scrape");
  const CountersSnapshot c = f.core.counters().Snapshot();
  CHECK(c.Served(Protocol::kUdp, Action::kScrape) == 1);
  CHECK(c.Refused(Protocol::kUdp, Action::kScrape) == 1);
}

TEST_CASE("peers are stamped with the monotonic clock, not the wall clock") {
  Fixture f;
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  // The wall clock jumps a year; nothing is idle.
  f.clock.SetWall(f.clock.WallSeconds() + 365 * 24 * 3600);
  for (size_t s = 0; s < f.store.shard_count(); ++s) {
    f.store.CleanShard(s, f.clock.MonotonicSeconds());
  }
  CHECK(f.store.Scrape(Hash(1)).seeders == 1);
  // The monotonic clock passes the timeout: the cleaner (same clock) removes it.
  f.clock.SetMonotonic(f.clock.MonotonicSeconds() + 1201);
  for (size_t s = 0; s < f.store.shard_count(); ++s) {
    f.store.CleanShard(s, f.clock.MonotonicSeconds());
  }
  CHECK(f.store.Scrape(Hash(1)).seeders == 0);
}

TEST_CASE("counters: per protocol, action and family; snapshots sum") {
  Fixture f;
  (void)f.Announce({Protocol::kUdp, V4(1)}, Request(1, 6881, 0));
  (void)f.Announce({Protocol::kHttp, V6(1)}, Request(1, 6881, 0));
  (void)f.Announce({Protocol::kWss, V6(2)}, Request(1, 0, 0));
  const std::vector<InfoHash> one = {Hash(1)};
  (void)f.core.Scrape({Protocol::kWs, V4(3)}, one, [](const InfoHash&, const Counts&) {});
  const CountersSnapshot c = f.core.counters().Snapshot();
  auto served = [&](Protocol p, Action a, AddressFamily fam) {
    return c.served[static_cast<size_t>(p)][static_cast<size_t>(a)][static_cast<size_t>(fam)];
  };
  CHECK(served(Protocol::kUdp, Action::kAnnounce, AddressFamily::kV4) == 1);
  CHECK(served(Protocol::kUdp, Action::kAnnounce, AddressFamily::kV6) == 0);
  CHECK(served(Protocol::kHttp, Action::kAnnounce, AddressFamily::kV6) == 1);
  CHECK(served(Protocol::kWs, Action::kScrape, AddressFamily::kV4) == 1);
  CHECK(c.refused[static_cast<size_t>(Protocol::kWss)][0][1] == 1);
  CHECK(c.refusals[static_cast<size_t>(Protocol::kWss)][static_cast<size_t>(Refusal::kPortZero)] ==
        1);

  CountersSnapshot sum;
  sum += c;
  sum += c;
  CHECK(sum.Served(Protocol::kUdp, Action::kAnnounce) == 2);
  CHECK(sum.Refusals(Refusal::kPortZero) == 2);
  CHECK(ProtocolName(Protocol::kWss) == "wss");
  CHECK(ActionName(Action::kScrape) == "scrape");
  CHECK(RefusalName(Refusal::kNotAllowed) == "info hash not allowed");
}

// Counts without storing anything (so without allocating).
struct CountingWriter {
  uint32_t Capacity(AddressFamily) const { return 50; }
  void Begin(AddressFamily, const AnnounceReply&, uint32_t n) { begun = n; }
  template <size_t N>
  void Add(const std::array<uint8_t, N>&, const swarm::PeerIdBytes&) {
    ++added;
  }
  uint32_t begun = 0;
  uint32_t added = 0;
};

TEST_CASE("announcing into a known small swarm allocates nothing") {
  Fixture f;
  (void)f.Announce(Udp(V4(1)), Request(1, 6881, 0));
  (void)f.Announce(Udp(V4(2)), Request(1, 6881, 5));
  CountingWriter writer;
  const Client client = Udp(V4(2));
  const AnnounceRequest request = Request(1, 6881, 5);
  ::reef::testing::AllocationScope scope;
  const AnnounceOutcome out = f.core.Announce(client, request, writer);
  CHECK(scope.allocations() == 0);
  CHECK(out.ok());
  CHECK(writer.begun == 1);
  CHECK(writer.added == 1);
}

}  // namespace
}  // namespace reef::tracker
