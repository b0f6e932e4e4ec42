// Model-based property test of the swarm store (rapidcheck state testing).
//
// A naive reference model (std::maps of peers per torrent and family, times as plain
// int64 seconds) and a TorrentStore receive the same random sequence of announces (all
// five events, both families, several torrents, endpoints that share addresses or
// ports, peer ids reused across endpoints), clock steps and cleanings of single shards.
// After every command the store must agree with the model on:
//   - the counts an announce or a scrape returns, and the store's totals (Stats);
//   - the peers an announce returns, up to the random choice: exactly
//     min(peers_wanted, max_response_peers, room, peers of that family - 1) distinct
//     peers, all of the requester's family and present in the model, never the
//     requester, with the right peer ids (record output) or bytes (compact output), and
//     for a seeder every leecher before any seeder; a PeerWriter told the counts and the
//     exact number of peers before the first one;
//   - what a cleaning removes (peers and torrents), and which swarms exist and whether
//     each is stored inline (the model tracks the inline/heap switch rule).
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <rapidcheck/state.h>

#include "proptest/rapidcheck_doctest.h"
#include "server/swarm/torrent_store.h"

namespace reef::swarm {
namespace {

// ---------------------------------------------------------------------------------------
// The reference model

struct EndpointKey {
  AddressFamily family;
  uint8_t host;
  uint8_t port;  // index; the port is 6881 + index
  friend auto operator<=>(const EndpointKey&, const EndpointKey&) = default;
};

Endpoint ToEndpoint(const EndpointKey& k) {
  const auto port = static_cast<uint16_t>(6881 + k.port);
  // Both families start with the same bytes, so only the family tells them apart.
  if (k.family == AddressFamily::kV4) return Endpoint::V4({10, 0, 0, k.host}, port);
  return Endpoint::V6({10, 0, 0, k.host, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, port);
}

InfoHash Torrent(int t) {
  std::array<uint8_t, 20> bytes{};
  bytes[0] = static_cast<uint8_t>(t);
  bytes[19] = 0xa5;
  return InfoHash(bytes);
}

PeerId PeerIdOf(uint32_t n) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(static_cast<uint8_t>('A' + n));
  return PeerId(bytes);
}

struct ModelPeer {
  uint32_t peer_id = 0;
  bool seeder = false;
  bool completed_counted = false;
  int64_t last_seen = 0;
};

struct ModelSwarm {
  std::map<EndpointKey, ModelPeer> peers;
  uint32_t completed = 0;
  bool on_heap = false;  // the store's rule: heap past kInlinePeers, inline again when
                         // a cleaning leaves kInlinePeers or fewer

  uint32_t seeders() const {
    return static_cast<uint32_t>(std::count_if(peers.begin(), peers.end(),
                                               [](const auto& kv) { return kv.second.seeder; }));
  }
  uint32_t leechers() const { return static_cast<uint32_t>(peers.size()) - seeders(); }
};

struct Model {
  // The shape of the run, chosen per test case.
  StoreConfig config;
  int torrents = 1;
  uint8_t hosts = 1;
  uint8_t ports = 1;
  std::vector<size_t> shard_of;  // per torrent, from TorrentStore::ShardOf

  int64_t now = 0;
  std::map<std::pair<int, AddressFamily>, ModelSwarm> swarms;

  const ModelSwarm* Find(int t, AddressFamily f) const {
    const auto it = swarms.find({t, f});
    return it == swarms.end() ? nullptr : &it->second;
  }

  bool HasTorrent(int t) const {
    return Find(t, AddressFamily::kV4) != nullptr || Find(t, AddressFamily::kV6) != nullptr;
  }

  SwarmCounts Counts(int t) const {
    SwarmCounts c;
    for (AddressFamily f : {AddressFamily::kV4, AddressFamily::kV6}) {
      if (const ModelSwarm* s = Find(t, f)) {
        c.seeders += s->seeders();
        c.leechers += s->leechers();
        c.completed += s->completed;
      }
    }
    return c;
  }

  StoreStats Stats() const {
    StoreStats stats;
    for (int t = 0; t < torrents; ++t) stats.torrents += HasTorrent(t) ? 1u : 0u;
    for (const auto& [key, swarm] : swarms) {
      stats.seeders += swarm.seeders();
      stats.leechers += swarm.leechers();
      (key.second == AddressFamily::kV4 ? stats.peers_v4 : stats.peers_v6) +=
          swarm.peers.size();
    }
    return stats;
  }
};

struct Sut {
  explicit Sut(const StoreConfig& config, int64_t start)
      : store(TorrentStore::Create(config).value()), now(start) {}
  TorrentStore store;
  Rng rng{20240611};
  int64_t now;
};

using Command = rc::state::Command<Model, Sut>;

// Checks what the store holds against the model after a command.
void CheckState(const Model& m, const Sut& sut) {
  RC_ASSERT(sut.store.Stats() == m.Stats());
  for (int t = 0; t < m.torrents; ++t) {
    RC_ASSERT(sut.store.Scrape(Torrent(t)) == m.Counts(t));
    for (AddressFamily f : {AddressFamily::kV4, AddressFamily::kV6}) {
      const ModelSwarm* want = m.Find(t, f);
      const std::optional<SwarmInfo> got = sut.store.InspectSwarm(Torrent(t), f);
      RC_ASSERT(got.has_value() == (want != nullptr));
      if (want == nullptr) continue;
      RC_ASSERT(got->seeders == want->seeders());
      RC_ASSERT(got->leechers == want->leechers());
      RC_ASSERT(got->completed == want->completed);
      RC_ASSERT(got->is_inline == !want->on_heap);
    }
  }
}

const char* EventName(AnnounceEvent e) {
  switch (e) {
    case AnnounceEvent::kNone: return "none";
    case AnnounceEvent::kStarted: return "started";
    case AnnounceEvent::kStopped: return "stopped";
    case AnnounceEvent::kCompleted: return "completed";
    case AnnounceEvent::kPaused: return "paused";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------
// Commands

enum class Output { kEndpoints, kRecords, kCompact, kCounting };

// A PeerWriter that checks its contract: Capacity once, then Begin once with the
// requester's family and the exact number of Add calls that follow.
struct CountingWriter {
  uint32_t Capacity(AddressFamily) {
    ++capacity_calls;
    return room;
  }
  void Begin(AddressFamily f, const SwarmCounts& c, uint32_t n) {
    RC_ASSERT(capacity_calls == 1);
    RC_ASSERT(begin_calls == 0);
    ++begin_calls;
    family = f;
    counts = c;
    announced = n;
  }
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const PeerIdBytes& id) {
    RC_ASSERT(begin_calls == 1);
    peers.push_back(EndpointOf(peer));
    ids.push_back(PeerId(id));
  }

  uint32_t room = 0;
  int capacity_calls = 0;
  int begin_calls = 0;
  AddressFamily family = AddressFamily::kV4;
  SwarmCounts counts;
  uint32_t announced = 0;
  std::vector<Endpoint> peers;
  std::vector<PeerId> ids;
};

struct Announce : Command {
  int torrent;
  EndpointKey who;
  uint32_t peer_id;
  uint64_t left;
  AnnounceEvent event;
  uint32_t wanted;
  uint32_t room;  // output entries
  Output output;

  explicit Announce(const Model& m)
      : torrent(*rc::gen::inRange(0, m.torrents)),
        who{*rc::gen::element(AddressFamily::kV4, AddressFamily::kV4, AddressFamily::kV6),
            *rc::gen::inRange<uint8_t>(0, m.hosts), *rc::gen::inRange<uint8_t>(0, m.ports)},
        peer_id(*rc::gen::inRange<uint32_t>(0, 3)),
        left(*rc::gen::element<uint64_t>(0, 0, 1, 1000, ~uint64_t{0})),
        event(*rc::gen::element(AnnounceEvent::kNone, AnnounceEvent::kNone,
                                AnnounceEvent::kStarted, AnnounceEvent::kStarted,
                                AnnounceEvent::kStopped, AnnounceEvent::kCompleted,
                                AnnounceEvent::kPaused)),
        wanted(*rc::gen::element<uint32_t>(0, 1, 2, 3, 5, 8, 50, ~uint32_t{0})),
        room(*rc::gen::element<uint32_t>(0, 1, 3, 64, 64, 64)),
        output(*rc::gen::element(Output::kEndpoints, Output::kRecords, Output::kCompact,
                                 Output::kCounting)) {}

  void apply(Model& m) const override {
    const auto key = std::make_pair(torrent, who.family);
    if (event == AnnounceEvent::kStopped) {
      const auto it = m.swarms.find(key);
      if (it != m.swarms.end()) it->second.peers.erase(who);
      return;  // an emptied swarm stays until cleaned; none is created
    }
    ModelSwarm& swarm = m.swarms[key];
    const bool is_new = swarm.peers.count(who) == 0;
    ModelPeer& peer = swarm.peers[who];
    if (is_new) peer.completed_counted = false;
    peer.peer_id = peer_id;
    peer.seeder = left == 0;
    peer.last_seen = m.now;
    if (event == AnnounceEvent::kCompleted && !peer.completed_counted) {
      peer.completed_counted = true;
      ++swarm.completed;
    }
    if (swarm.peers.size() > kInlinePeers) swarm.on_heap = true;
  }

  void run(const Model& m, Sut& sut) const override {
    const Model next = nextState(m);
    AnnounceRequest r;
    r.info_hash = Torrent(torrent);
    r.peer_id = PeerIdOf(peer_id);
    r.endpoint = ToEndpoint(who);
    r.left = left;
    r.event = event;
    r.peers_wanted = wanted;

    // What the store wrote, as endpoints, plus the peer ids where the output has them.
    std::vector<Endpoint> got;
    std::vector<std::optional<PeerId>> ids;
    AnnounceResult result;
    switch (output) {
      case Output::kEndpoints: {
        std::vector<Endpoint> out(room);
        result = sut.store.Announce(r, sut.now, out, sut.rng);
        RC_ASSERT(result.peers_written <= room);
        got.assign(out.begin(), out.begin() + result.peers_written);
        ids.assign(got.size(), std::nullopt);
        break;
      }
      case Output::kRecords: {
        std::vector<PeerRecord> out(room);
        result = sut.store.Announce(r, sut.now, out, sut.rng);
        RC_ASSERT(result.peers_written <= room);
        for (uint32_t i = 0; i < result.peers_written; ++i) {
          got.push_back(out[i].endpoint);
          ids.emplace_back(out[i].peer_id);
        }
        break;
      }
      case Output::kCounting: {
        CountingWriter writer;
        writer.room = room;
        result = sut.store.Announce(r, sut.now, sut.rng, writer);
        RC_ASSERT(writer.begin_calls == 1);
        RC_ASSERT(writer.family == who.family);
        RC_ASSERT(writer.counts == result.counts);
        RC_ASSERT(writer.announced == result.peers_written);
        RC_ASSERT(writer.peers.size() == result.peers_written);
        got = writer.peers;
        for (const PeerId& id : writer.ids) ids.emplace_back(id);
        break;
      }
      case Output::kCompact: {
        const size_t entry = TorrentStore::CompactEntrySize(who.family);
        // A byte short of `room` entries: the last partial entry must stay unused.
        std::vector<uint8_t> out(room * entry + (room > 0 ? entry - 1 : 0), 0xee);
        result = sut.store.AnnounceCompact(r, sut.now, out, sut.rng);
        RC_ASSERT(result.peers_written <= room);
        for (uint32_t i = 0; i < result.peers_written; ++i) {
          const uint8_t* p = out.data() + i * entry;
          const auto port = static_cast<uint16_t>((p[entry - 2] << 8) | p[entry - 1]);
          Endpoint e;
          if (who.family == AddressFamily::kV4) {
            e = Endpoint::V4({p[0], p[1], p[2], p[3]}, port);
          } else {
            std::array<uint8_t, 16> a;
            std::copy(p, p + 16, a.begin());
            e = Endpoint::V6(a, port);
          }
          got.push_back(e);
          ids.emplace_back(std::nullopt);
        }
        for (size_t i = result.peers_written * entry; i < out.size(); ++i) {
          RC_ASSERT(out[i] == 0xee);
        }
        break;
      }
    }

    RC_ASSERT(result.counts == next.Counts(torrent));
    if (event == AnnounceEvent::kStopped) {
      RC_ASSERT(result.peers_written == 0u);
    } else {
      const ModelSwarm& swarm = next.swarms.at({torrent, who.family});
      const auto others = static_cast<uint32_t>(swarm.peers.size() - 1);
      const uint32_t expected =
          std::min({wanted, m.config.max_response_peers, room, others});
      RC_ASSERT(result.peers_written == expected);

      // Which model peer each returned endpoint is.
      std::map<Endpoint, EndpointKey, bool (*)(const Endpoint&, const Endpoint&)>
          by_endpoint([](const Endpoint& a, const Endpoint& b) {
            return std::tie(a.address.family, a.address.bytes, a.port) <
                   std::tie(b.address.family, b.address.bytes, b.port);
          });
      for (const auto& [key, peer] : swarm.peers) by_endpoint.emplace(ToEndpoint(key), key);
      std::set<EndpointKey> seen;
      uint32_t leechers_returned = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        RC_ASSERT(got[i].family() == who.family);
        const auto it = by_endpoint.find(got[i]);
        RC_ASSERT(it != by_endpoint.end());  // a peer the model has, of this family
        const EndpointKey key = it->second;
        RC_ASSERT(!(key == who));            // never the requester
        RC_ASSERT(seen.insert(key).second);  // never twice
        const ModelPeer& peer = swarm.peers.at(key);
        if (ids[i].has_value()) RC_ASSERT(*ids[i] == PeerIdOf(peer.peer_id));
        leechers_returned += peer.seeder ? 0 : 1;
      }
      if (left == 0) {
        // A seeder: leechers first (the requester is a seeder, so no leecher is it).
        RC_ASSERT(leechers_returned == std::min(expected, swarm.leechers()));
      }
    }
    CheckState(next, sut);
  }

  void show(std::ostream& os) const override {
    os << "Announce(torrent " << torrent << ", "
       << (who.family == AddressFamily::kV4 ? "v4" : "v6") << " host " << int{who.host}
       << " port " << int{who.port} << ", id " << peer_id << ", left " << left << ", "
       << EventName(event) << ", wanted " << wanted << ", room " << room << ", output "
       << static_cast<int>(output) << ")";
  }
};

struct AdvanceClock : Command {
  int64_t seconds;
  explicit AdvanceClock(const Model& m)
      : seconds(*rc::gen::inRange<int64_t>(0, 2 * int64_t{m.config.peer_inactivity_timeout_s} + 2)) {}
  void apply(Model& m) const override { m.now += seconds; }
  void run(const Model&, Sut& sut) const override { sut.now += seconds; }
  void show(std::ostream& os) const override { os << "AdvanceClock(" << seconds << ")"; }
};

struct Clean : Command {
  size_t shard;  // == shard count sometimes: out of range, cleans nothing
  explicit Clean(const Model& m) : shard(*rc::gen::inRange<size_t>(0, m.config.shards + 1)) {}

  void apply(Model& m) const override {
    for (auto it = m.swarms.begin(); it != m.swarms.end();) {
      if (m.shard_of[static_cast<size_t>(it->first.first)] != shard) {
        ++it;
        continue;
      }
      ModelSwarm& swarm = it->second;
      std::erase_if(swarm.peers, [&](const auto& kv) {
        return m.now - kv.second.last_seen > m.config.peer_inactivity_timeout_s;
      });
      if (swarm.peers.size() <= kInlinePeers) swarm.on_heap = false;
      it = swarm.peers.empty() ? m.swarms.erase(it) : std::next(it);
    }
  }

  void run(const Model& m, Sut& sut) const override {
    const Model next = nextState(m);
    const CleanStats stats = sut.store.CleanShard(shard, sut.now);
    const StoreStats before = m.Stats();
    const StoreStats after = next.Stats();
    RC_ASSERT(stats.peers_removed ==
              (before.peers_v4 + before.peers_v6) - (after.peers_v4 + after.peers_v6));
    RC_ASSERT(stats.torrents_removed == before.torrents - after.torrents);
    CheckState(next, sut);
  }

  void show(std::ostream& os) const override { os << "Clean(shard " << shard << ")"; }
};

struct Scrape : Command {
  int torrent;
  explicit Scrape(const Model& m) : torrent(*rc::gen::inRange(0, m.torrents + 1)) {}
  void run(const Model& m, Sut& sut) const override {
    const SwarmCounts want = torrent < m.torrents ? m.Counts(torrent) : SwarmCounts{};
    RC_ASSERT(sut.store.Scrape(Torrent(torrent)) == want);
  }
  void show(std::ostream& os) const override { os << "Scrape(torrent " << torrent << ")"; }
};

// ---------------------------------------------------------------------------------------
// Properties

// Runs the state machine with pools of the given size; the config and the clock's
// starting point are drawn.
void RunStateMachine(int torrents, uint8_t hosts, uint8_t ports) {
  Model m;
  m.config.shards = *rc::gen::inRange<size_t>(1, 5);
  m.config.max_response_peers = *rc::gen::inRange<uint32_t>(1, 8);
  m.config.peer_inactivity_timeout_s = *rc::gen::inRange<uint32_t>(1, 30);
  m.torrents = torrents;
  m.hosts = hosts;
  m.ports = ports;
  // Anywhere on the clock, across the store's 31-bit wrap and the 32-bit one, or below 0.
  m.now = *rc::gen::element<int64_t>(0, 1000, (int64_t{1} << 31) - 40,
                                     (int64_t{1} << 32) - 40, -100, int64_t{1} << 45);
  Sut sut(m.config, m.now);
  for (int t = 0; t < torrents; ++t) m.shard_of.push_back(sut.store.ShardOf(Torrent(t)));
  rc::state::check(m, sut,
                   rc::state::gen::execOneOfWithArgs<Announce, Announce, Announce, Announce,
                                                     Announce, Announce, AdvanceClock, Clean,
                                                     Clean, Scrape>());
}

TEST_CASE("swarm store matches the model: several torrents, small swarms") {
  proptest::Check("store == model", [] { RunStateMachine(3, 3, 2); });
}

TEST_CASE("swarm store matches the model: one torrent, larger swarms (heap form)") {
  proptest::Check("store == model", [] { RunStateMachine(1, 6, 3); });
}

TEST_CASE("swarm store matches the model: two torrents, few endpoints, much churn") {
  proptest::Check("store == model", [] { RunStateMachine(2, 2, 2); });
}

}  // namespace
}  // namespace reef::swarm
