// Benchmarks of the swarm store. Run by hand:
//   bazel run --config=opt //server/swarm:swarm_benchmark
// Never a timed test: the numbers go in reports and docs.
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "server/swarm/peer_set.h"
#include "server/swarm/rng.h"
#include "server/swarm/torrent_store.h"

namespace reef::swarm {
namespace {

InfoHash Hash(uint32_t n) {
  // Spread like SHA-1 output, so sharding and hashing see realistic keys.
  std::array<uint8_t, 20> bytes{};
  uint64_t x = n * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < 20; ++i) {
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    bytes[i] = static_cast<uint8_t>(x >> 56);
  }
  return InfoHash(bytes);
}

Endpoint V4(uint32_t host) {
  return Endpoint::V4({static_cast<uint8_t>(10 + (host >> 24)),
                           static_cast<uint8_t>(host >> 16), static_cast<uint8_t>(host >> 8),
                           static_cast<uint8_t>(host)},
                          6881);
}

AnnounceRequest Req(const InfoHash& info_hash, uint32_t host, bool seeder) {
  AnnounceRequest r;
  r.info_hash = info_hash;
  r.endpoint = V4(host);
  r.left = seeder ? 0 : 1000;
  r.peers_wanted = 0xffffffffu;
  return r;
}

StoreConfig Config() {
  StoreConfig c;
  c.shards = 64;
  c.max_response_peers = 50;
  c.peer_inactivity_timeout_s = 1200;
  return c;
}

// Fills `store` with `peers` peers in torrent `t` (a third of them seeders).
void Fill(TorrentStore& store, const InfoHash& t, uint32_t peers, Rng& rng) {
  std::array<Endpoint, 1> sink;
  for (uint32_t i = 0; i < peers; ++i) {
    AnnounceRequest r = Req(t, i, i % 3 == 0);
    r.peers_wanted = 0;
    store.Announce(r, 0, sink, rng);
  }
}

// One peer re-announcing into a swarm of state.range(0) peers, 50 peers back as
// Endpoint structs (the copy the UDP worker would then serialize).
void BM_ReannounceEndpoints(benchmark::State& state) {
  TorrentStore store = TorrentStore::Create(Config()).value();
  Rng rng(1);
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  const InfoHash t = Hash(1);
  Fill(store, t, size, rng);
  std::array<Endpoint, 50> out;
  uint32_t host = 0;
  for (auto _ : state) {
    const AnnounceResult r = store.Announce(Req(t, host, host % 3 == 0), 0, out, rng);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
    if (++host == size) host = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReannounceEndpoints)->Arg(1)->Arg(2)->Arg(3)->Arg(50)->Arg(10000);

// The same, writing compact 6-byte entries straight into the datagram buffer.
void BM_ReannounceCompact(benchmark::State& state) {
  TorrentStore store = TorrentStore::Create(Config()).value();
  Rng rng(1);
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  const InfoHash t = Hash(1);
  Fill(store, t, size, rng);
  std::array<uint8_t, 50 * 6> out;
  uint32_t host = 0;
  for (auto _ : state) {
    const AnnounceResult r = store.AnnounceCompact(Req(t, host, host % 3 == 0), 0, out, rng);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
    if (++host == size) host = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReannounceCompact)->Arg(1)->Arg(2)->Arg(3)->Arg(50)->Arg(10000);

// The same with 16 peers behind each address (NAT; the default prefix_cap): every peer
// a member of its prefix's group, so each lookup goes through the group's bookkeeping.
void BM_ReannounceSharedAddresses(benchmark::State& state) {
  TorrentStore store = TorrentStore::Create(Config()).value();
  Rng rng(1);
  constexpr uint32_t kPeers = 10000;
  constexpr uint32_t kPerAddress = 16;
  const InfoHash t = Hash(1);
  auto request = [&](uint32_t i) {
    AnnounceRequest r = Req(t, i / kPerAddress, i % 3 == 0);
    r.endpoint.port = static_cast<uint16_t>(6881 + i % kPerAddress);
    return r;
  };
  std::array<Endpoint, 1> sink;
  for (uint32_t i = 0; i < kPeers; ++i) {
    AnnounceRequest r = request(i);
    r.peers_wanted = 0;
    store.Announce(r, 0, sink, rng);
  }
  std::array<uint8_t, 50 * 6> out;
  uint32_t i = 0;
  for (auto _ : state) {
    const AnnounceResult r = store.AnnounceCompact(request(i), 0, out, rng);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
    if (++i == kPeers) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReannounceSharedAddresses);

// A new peer joining a swarm and leaving again (stopped): insert + remove, both forms.
void BM_JoinAndStop(benchmark::State& state) {
  TorrentStore store = TorrentStore::Create(Config()).value();
  Rng rng(1);
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  const InfoHash t = Hash(1);
  Fill(store, t, size, rng);
  std::array<uint8_t, 50 * 6> out;
  for (auto _ : state) {
    AnnounceRequest r = Req(t, 1u << 24, false);
    benchmark::DoNotOptimize(store.AnnounceCompact(r, 0, out, rng));
    r.event = AnnounceEvent::kStopped;
    benchmark::DoNotOptimize(store.AnnounceCompact(r, 0, out, rng));
  }
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_JoinAndStop)->Arg(1)->Arg(10000);

// The selection alone: 50 random peers from a 10k swarm (internal::PeerSet::Select).
void BM_Select50From10k(benchmark::State& state) {
  internal::PeerSet<4, kInlinePeers> set;
  std::array<uint8_t, 20> id{};
  for (uint32_t i = 0; i < 10000; ++i) {
    set.Upsert({10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                static_cast<uint8_t>(i), 0x1a, 0xe1},
               id, i % 3 == 0, false, 0);
  }
  Rng rng(1);
  std::array<uint8_t, 50 * 6> out;
  uint32_t requester = 0;
  const bool seeder_first = state.range(0) != 0;
  for (auto _ : state) {
    uint8_t* next = out.data();
    const uint32_t n = set.Select(requester, seeder_first, 50, rng, [&](const auto& endpoint, const auto&) {
      std::memcpy(next, endpoint.data(), 6);
      next += 6;
    });
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(out.data());
    requester = (requester + 1) % 10000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Select50From10k)->ArgName("leechers_first")->Arg(0)->Arg(1);

// A Zipf-ish workload: 100k torrents, popularity ~ 1/rank, 1M peers spread by that
// popularity (the top torrent has ~80k, most of the tail 0-1), and announces picking a
// torrent by popularity and one of ~1.1x its peer count of endpoints (so ~90% are
// re-announces and ~10% new peers). 50 peers back, compact.
struct ZipfWorkload {
  static constexpr uint32_t kTorrents = 100000;
  static constexpr uint32_t kPeers = 1000000;
  static constexpr size_t kRequests = 1 << 20;

  ZipfWorkload() {
    std::vector<double> weight(kTorrents);
    double total = 0;
    for (uint32_t i = 0; i < kTorrents; ++i) total += weight[i] = 1.0 / (i + 1);
    std::vector<double> cdf(kTorrents);
    double acc = 0;
    for (uint32_t i = 0; i < kTorrents; ++i) cdf[i] = (acc += weight[i] / total);
    pool.resize(kTorrents);
    for (uint32_t i = 0; i < kTorrents; ++i) {
      peers_of.push_back(static_cast<uint32_t>(std::lround(kPeers * weight[i] / total)));
      pool[i] = std::max<uint32_t>(1, peers_of[i] + peers_of[i] / 10);
    }
    Rng rng(7);
    requests.reserve(kRequests);
    for (size_t k = 0; k < kRequests; ++k) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      const auto t = static_cast<uint32_t>(
          std::min<size_t>(kTorrents - 1, static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin())));
      const uint32_t host = rng.Below(pool[t]);
      requests.push_back(Req(Hash(t), host, host % 3 == 0));
    }
  }

  void Populate(TorrentStore& store, Rng& rng) const {
    std::array<Endpoint, 1> sink;
    for (uint32_t t = 0; t < kTorrents; ++t) {
      const InfoHash h = Hash(t);
      for (uint32_t i = 0; i < std::max<uint32_t>(1, peers_of[t]); ++i) {
        AnnounceRequest r = Req(h, i, i % 3 == 0);
        r.peers_wanted = 0;
        store.Announce(r, 0, sink, rng);
      }
    }
  }

  std::vector<uint32_t> peers_of;
  std::vector<uint32_t> pool;
  std::vector<AnnounceRequest> requests;
};

const ZipfWorkload& Workload() {
  static const ZipfWorkload* const workload = new ZipfWorkload();
  return *workload;
}

TorrentStore& PopulatedStore() {
  static TorrentStore* const store = [] {
    auto* s = new TorrentStore(TorrentStore::Create(Config()).value());
    Rng rng(3);
    Workload().Populate(*s, rng);
    return s;
  }();
  return *store;
}

void BM_ZipfMix(benchmark::State& state) {
  const ZipfWorkload& w = Workload();
  TorrentStore& store = PopulatedStore();
  Rng rng(static_cast<uint64_t>(state.thread_index()) + 11);
  std::array<uint8_t, 50 * 6> out;
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const AnnounceResult r =
        store.AnnounceCompact(w.requests[k & (ZipfWorkload::kRequests - 1)], 0, out, rng);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZipfMix)->Threads(1)->Threads(2)->UseRealTime();

// Scraping one random (Zipf) torrent.
void BM_ZipfScrape(benchmark::State& state) {
  const ZipfWorkload& w = Workload();
  const TorrentStore& store = PopulatedStore();
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        store.Scrape(w.requests[k++ & (ZipfWorkload::kRequests - 1)].info_hash));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZipfScrape);

// One CleanShard over the populated Zipf store (64 shards: ~1.6k torrents, ~16k peers
// each) when nothing has expired: the pause a shard's workers see at every cleaning.
void BM_CleanShardNothingExpired(benchmark::State& state) {
  TorrentStore& store = PopulatedStore();
  size_t shard = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.CleanShard(shard, 10));
    shard = (shard + 1) % store.shard_count();
  }
  state.counters["torrents_per_shard"] =
      static_cast<double>(ZipfWorkload::kTorrents) / static_cast<double>(store.shard_count());
}
BENCHMARK(BM_CleanShardNothingExpired)->Unit(benchmark::kMicrosecond);

// One CleanShard that removes every peer and torrent of a shard of a store of 100k
// one-peer torrents (64 shards).
void BM_CleanShardAllExpired(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(Config()).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    for (uint32_t t = 0; t < 100000; ++t) {
      AnnounceRequest r = Req(Hash(t), t, false);
      r.peers_wanted = 0;
      store->Announce(r, 0, sink, rng);
    }
    state.ResumeTiming();
    benchmark::DoNotOptimize(store->CleanShard(0, 100000));
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_CleanShardAllExpired)->Unit(benchmark::kMicrosecond)->Iterations(20);

// Memory: heap bytes per torrent and per peer, from malloc's own accounting
// (mallinfo2: small blocks plus mmap'ed large ones), so allocator overhead and table
// slack are included.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

void BM_MemoryPerTorrentOnePeer(benchmark::State& state) {
  const bool v6 = state.range(0) != 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(Config()).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    constexpr uint32_t kTorrents = 1000000;
    for (uint32_t t = 0; t < kTorrents; ++t) {
      AnnounceRequest r = Req(Hash(t), t, false);
      if (v6) {
        std::array<uint8_t, 16> a{0x20, 0x01};
        a[15] = static_cast<uint8_t>(t);
        r.endpoint = Endpoint::V6(a, 6881);
      }
      r.peers_wanted = 0;
      store->Announce(r, 0, sink, rng);
    }
    state.counters["bytes_per_torrent"] =
        static_cast<double>(HeapInUse() - before) / kTorrents;
  }
}
BENCHMARK(BM_MemoryPerTorrentOnePeer)->ArgName("v6")->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

// Peers in swarms of 1,000, `per_prefix` of them sharing an address prefix (the default
// /32 or /64): with 1, every peer alone in its prefix (no prefix group); with 16, the
// default prefix_cap, every prefix a full group (the most prefix bookkeeping there is).
// IPv4 peers of a prefix differ in their port, IPv6 ones in their address within a /64.
void BM_MemoryPerPeerLargeSwarm(benchmark::State& state) {
  const bool v6 = state.range(0) != 0;
  const auto per_prefix = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(Config()).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    constexpr uint32_t kSwarm = 1000;
    constexpr uint32_t kTorrents = 1000;
    const size_t before = HeapInUse();
    for (uint32_t t = 0; t < kTorrents; ++t) {
      for (uint32_t i = 0; i < kSwarm; ++i) {
        const uint32_t prefix = i / per_prefix;
        const auto member = static_cast<uint16_t>(i % per_prefix);
        AnnounceRequest r = Req(Hash(t), prefix, i % 3 == 0);
        r.endpoint.port = static_cast<uint16_t>(6881 + member);
        if (v6) {
          std::array<uint8_t, 16> a{0x20, 0x01};
          a[6] = static_cast<uint8_t>(prefix >> 8);
          a[7] = static_cast<uint8_t>(prefix);
          a[15] = static_cast<uint8_t>(1 + member);
          r.endpoint = Endpoint::V6(a, 6881);
        }
        r.peers_wanted = 0;
        store->Announce(r, 0, sink, rng);
      }
    }
    state.counters["bytes_per_peer"] =
        static_cast<double>(HeapInUse() - before) / (double{kSwarm} * kTorrents);
  }
}
BENCHMARK(BM_MemoryPerPeerLargeSwarm)
    ->ArgNames({"v6", "per_prefix"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 16})
    ->Args({1, 16})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// The (torrent, address prefix) records that count `completed` once per window: one per
// torrent, the most a shard keeps (its share of max_torrents).
void BM_MemoryPerCompletionRecord(benchmark::State& state) {
  for (auto _ : state) {
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(Config()).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    constexpr uint32_t kTorrents = 1000000;
    for (uint32_t t = 0; t < kTorrents; ++t) {
      AnnounceRequest r = Req(Hash(t), t, true);
      r.peers_wanted = 0;
      store->Announce(r, 0, sink, rng);
    }
    const size_t before = HeapInUse();
    for (uint32_t t = 0; t < kTorrents; ++t) {
      AnnounceRequest r = Req(Hash(t), t, true);
      r.peers_wanted = 0;
      r.event = AnnounceEvent::kCompleted;
      store->Announce(r, 0, sink, rng);
    }
    state.counters["bytes_per_record"] =
        static_cast<double>(HeapInUse() - before) / kTorrents;
  }
}
BENCHMARK(BM_MemoryPerCompletionRecord)->Iterations(1)->Unit(benchmark::kMillisecond);

// Pauses at the budget's limit (issue 11): how long one shard's lock is held, at worst,
// by an announce that grows a table, and by cleaning, when the shard holds its full share
// of the default budget. Not a timed test: the figures go in docs/benchmarks.md.
//
// One shard of the default 256 holds at most max_torrents / 256 torrents and
// max_peers / 256 peers; these fill a one-shard store with that share.
StoreConfig ShareOfDefaultBudget() {
  const StoreConfig defaults;
  StoreConfig c = Config();
  c.shards = 1;
  c.max_torrents = defaults.max_torrents / defaults.shards;
  c.max_peers = defaults.max_peers / defaults.shards;
  return c;
}

// This thread's CPU time: on a shared machine, wall time would count the moments other
// processes ran, not the pause the store causes.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Cleans the full shard 0 twice, nothing expired (a full walk) and then everything, and
// reports each one's CPU time and its longest slice (the longest the shard's lock is held).
void ReportCleaning(benchmark::State& state, TorrentStore& store, const StoreConfig& c) {
  const int64_t times[] = {1, 1 + int64_t{c.peer_inactivity_timeout_s} + 1};
  const char* names[] = {"clean_none_expired", "clean_all_expired"};
  for (int i = 0; i < 2; ++i) {
    double longest_slice = 0;
    const double start = ThreadCpuSeconds();
    store.CleanShard(0, times[i], &longest_slice);
    state.counters[std::string(names[i]) + "_ms"] = (ThreadCpuSeconds() - start) * 1e3;
    state.counters[std::string(names[i]) + "_slice_ms"] = longest_slice * 1e3;
  }
}

// The slowest single announce while one shard fills with its share of torrents (one
// peer each): the torrent map's rehashes.
void BM_WorstPauseGrowingTorrents(benchmark::State& state) {
  const StoreConfig c = ShareOfDefaultBudget();
  for (auto _ : state) {
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(c).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    double worst = 0;
    for (uint32_t t = 0; t < c.max_torrents; ++t) {
      AnnounceRequest r = Req(Hash(t), t, false);
      r.peers_wanted = 0;
      const double start = ThreadCpuSeconds();
      store->Announce(r, 0, sink, rng);
      worst = std::max(worst, ThreadCpuSeconds() - start);
    }
    state.counters["torrents"] = static_cast<double>(c.max_torrents);
    state.counters["worst_announce_ms"] = worst * 1e3;
    // Cleaning that shard: nothing expired (a full walk), then everything expired.
    ReportCleaning(state, *store, c);
  }
}
BENCHMARK(BM_WorstPauseGrowingTorrents)->Iterations(1)->Unit(benchmark::kMillisecond);

// The slowest single announce while one swarm grows to the shard's whole peer share: the
// swarm's arrays, its index and its prefix table grow by doubling.
void BM_WorstPauseGrowingOneSwarm(benchmark::State& state) {
  const StoreConfig c = ShareOfDefaultBudget();
  for (auto _ : state) {
    auto store = std::make_unique<TorrentStore>(TorrentStore::Create(c).value());
    Rng rng(1);
    std::array<Endpoint, 1> sink;
    double worst = 0;
    const InfoHash t = Hash(1);
    for (uint32_t i = 0; i < c.max_peers; ++i) {
      AnnounceRequest r = Req(t, i, i % 3 == 0);
      r.peers_wanted = 0;
      const double start = ThreadCpuSeconds();
      store->Announce(r, 0, sink, rng);
      worst = std::max(worst, ThreadCpuSeconds() - start);
    }
    state.counters["peers"] = static_cast<double>(c.max_peers);
    state.counters["worst_announce_ms"] = worst * 1e3;
    ReportCleaning(state, *store, c);
  }
}
BENCHMARK(BM_WorstPauseGrowingOneSwarm)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace reef::swarm
