// What the hot path pays: AccessList::Allows against a bare hash-set lookup, with one
// and two reader threads, and a disabled log statement.
//   bazel run --config=opt //server/common:access_list_benchmark
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "server/common/access_list.h"
#include "server/common/log.h"

namespace reef {
namespace {

constexpr size_t kListed = 100'000;
constexpr size_t kQueries = 4096;  // a power of two: cheap wrap-around

std::vector<InfoHash> RandomHashes(size_t count, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<InfoHash> hashes(count);
  for (InfoHash& hash : hashes) {
    for (uint8_t& byte : hash.mutable_bytes()) byte = static_cast<uint8_t>(random());
  }
  return hashes;
}

// Half the queries are listed, half are not.
std::vector<InfoHash> Queries(const std::vector<InfoHash>& listed) {
  std::vector<InfoHash> queries = RandomHashes(kQueries, 2);
  for (size_t i = 0; i < kQueries; i += 2) queries[i] = listed[(i * 7919) % listed.size()];
  return queries;
}

struct Fixture {
  Fixture() : listed(RandomHashes(kListed, 1)), queries(Queries(listed)) {
    list.Replace(InfoHashSet(listed.begin(), listed.end()));
    plain = InfoHashSet(listed.begin(), listed.end());
  }
  std::vector<InfoHash> listed;
  std::vector<InfoHash> queries;
  AccessList list{AccessListMode::kAllow};
  InfoHashSet plain;
};

Fixture& Shared() {
  static Fixture* fixture = new Fixture;
  return *fixture;
}

void BM_PlainSetLookup(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.plain.contains(f.queries[i++ & (kQueries - 1)]));
  }
}
BENCHMARK(BM_PlainSetLookup)->Threads(1)->Threads(2);

void BM_AllowsAllowMode(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.list.Allows(f.queries[i++ & (kQueries - 1)]));
  }
}
BENCHMARK(BM_AllowsAllowMode)->Threads(1)->Threads(2);

void BM_AllowsOffMode(benchmark::State& state) {
  Fixture& f = Shared();
  static AccessList off(AccessListMode::kOff);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(off.Allows(f.queries[i++ & (kQueries - 1)]));
  }
}
BENCHMARK(BM_AllowsOffMode);

void BM_ReplaceList(benchmark::State& state) {
  Fixture& f = Shared();
  AccessList list(AccessListMode::kAllow);
  for (auto _ : state) {
    state.PauseTiming();
    InfoHashSet copy = f.plain;
    state.ResumeTiming();
    list.Replace(std::move(copy));  // includes freeing the previous 100k-hash set
  }
}
BENCHMARK(BM_ReplaceList)->Unit(benchmark::kMillisecond);

void BM_LogDisabled(benchmark::State& state) {
  SetMinLogLevel(LogLevel::kInfo);
  int value = 0;
  for (auto _ : state) {
    REEF_LOG(Debug) << "never formatted " << ++value;
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(value);
}
BENCHMARK(BM_LogDisabled);

}  // namespace
}  // namespace reef
