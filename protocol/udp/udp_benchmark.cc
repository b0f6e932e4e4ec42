// Micro-benchmarks of the hot paths of a UDP tracker:
//   bazel run --config=opt //protocol/udp:udp_benchmark
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/test_vectors.h"
#include "protocol/udp/write.h"

namespace reef::udp {
namespace {

void BM_ParseAnnounceRequest(benchmark::State& state) {
  std::span<const uint8_t> datagram = vectors::kAnnounceRequest;
  for (auto _ : state) {
    benchmark::DoNotOptimize(datagram.data());
    RequestResult r = ParseRequest(datagram);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(datagram.size()));
}
BENCHMARK(BM_ParseAnnounceRequest);

// 50 IPv4 peers copied from a store-like array, through the incremental writer.
void BM_WriteAnnounceResponse50PeersV4(benchmark::State& state) {
  struct StoredPeer {
    std::array<uint8_t, 4> ip;
    uint16_t port;
  };
  std::vector<StoredPeer> store(50);
  for (size_t i = 0; i < store.size(); ++i) {
    store[i] = {{10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
                static_cast<uint16_t>(6881 + i)};
  }
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    AnnounceResponseWriter w(out, IpFamily::kV4, {0x01020304, 1800, 25, 25});
    for (const StoredPeer& p : store) w.AddPeerV4(p.ip, p.port);
    WriteResult r = w.Finish();
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * (20 + 6 * 50));
}
BENCHMARK(BM_WriteAnnounceResponse50PeersV4);

// The same 50 peers, IPv6.
void BM_WriteAnnounceResponse50PeersV6(benchmark::State& state) {
  std::vector<std::array<uint8_t, 16>> ips(50);
  for (size_t i = 0; i < ips.size(); ++i) {
    ips[i] = {0x20, 0x01, 0x0d, 0xb8};
    ips[i][15] = static_cast<uint8_t>(i);
  }
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    AnnounceResponseWriter w(out, IpFamily::kV6, {0x01020304, 1800, 25, 25});
    for (const auto& ip : ips) w.AddPeerV6(ip, 6881);
    WriteResult r = w.Finish();
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteAnnounceResponse50PeersV6);

// 50 peers already compact in the store: one copy.
void BM_WriteAnnounceResponse50PeersCompact(benchmark::State& state) {
  std::vector<uint8_t> compact(6 * 50, 7);
  std::array<uint8_t, 1500> out{};
  for (auto _ : state) {
    AnnounceResponseWriter w(out, IpFamily::kV4, {0x01020304, 1800, 25, 25});
    w.AddCompactPeers(compact);
    WriteResult r = w.Finish();
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteAnnounceResponse50PeersCompact);

// A scrape of 20 hashes, parsed, then every hash read out of the view.
void BM_ParseScrapeRequest20Hashes(benchmark::State& state) {
  std::vector<uint8_t> datagram(vectors::kScrapeRequest, vectors::kScrapeRequest + 16);
  for (size_t i = 0; i < 20; ++i) datagram.insert(datagram.end(), 20, static_cast<uint8_t>(i));
  for (auto _ : state) {
    benchmark::DoNotOptimize(datagram.data());
    RequestResult r = ParseRequest(datagram);
    const auto& s = std::get<ScrapeRequest>(r.value());
    for (size_t i = 0; i < s.info_hashes.size(); ++i) {
      InfoHash h = s.info_hash(i);
      benchmark::DoNotOptimize(h);
    }
  }
}
BENCHMARK(BM_ParseScrapeRequest20Hashes);

void BM_ParseConnectRequest(benchmark::State& state) {
  std::span<const uint8_t> datagram = vectors::kConnectRequest;
  for (auto _ : state) {
    benchmark::DoNotOptimize(datagram.data());
    RequestResult r = ParseRequest(datagram);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseConnectRequest);

}  // namespace
}  // namespace reef::udp
