// How long reef takes to write and to load its snapshot for a store of N peers (issue 14
// asks for 1 M). Run by hand, optimized:
//
//   bazel run --config=opt //server/snapshot:snapshot_timing -- --peers=1000000 --runs=5
//
// The store: --peers peers in torrents of --peers_per_torrent each, one in five IPv6, one in
// three a seeder, as announces through TorrentStore::Announce. Each run writes the store
// with WriteFromStore (copy per shard under its lock, SHA-256, write, fsync, rename, fsync
// of the directory) into --dir and loads it with LoadIntoStore into an empty store (read,
// check whole, then restore); prints each run and the medians. Nothing here is asserted:
// timings belong in docs, not in tests.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "server/common/clock.h"
#include "server/snapshot/store_snapshot.h"

namespace reef::snapshot {
namespace {

struct Flags {
  uint64_t peers = 1000000;
  uint32_t peers_per_torrent = 10;
  int runs = 5;
  std::string dir = "/tmp";
};

bool ParseFlag(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

swarm::TorrentStore MakeStore() {
  return *swarm::TorrentStore::Create({.shards = 64, .peer_inactivity_timeout_s = 2700});
}

void Fill(swarm::TorrentStore& store, const Flags& flags, int64_t now) {
  swarm::Rng rng(1);
  std::array<Endpoint, 1> out;
  for (uint64_t i = 0; i < flags.peers; ++i) {
    const uint64_t torrent = i / flags.peers_per_torrent;
    swarm::AnnounceRequest request;
    auto hash = request.info_hash.mutable_bytes();
    for (size_t b = 0; b < 8; ++b) hash[b] = static_cast<uint8_t>(torrent >> (8 * b));
    hash[19] = 0xee;
    auto id = request.peer_id.mutable_bytes();
    for (size_t b = 0; b < 8; ++b) id[b] = static_cast<uint8_t>(i >> (8 * b));
    const auto a = static_cast<uint8_t>(i >> 16), b = static_cast<uint8_t>(i >> 8),
               c = static_cast<uint8_t>(i);
    const auto port = static_cast<uint16_t>(1024 + i % 60000);
    request.endpoint = i % 5 == 4 ? Endpoint::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, a, b, c}, port)
                                  : Endpoint::V4({10, a, b, c}, port);
    request.left = i % 3 == 0 ? 0 : 1000;
    request.peers_wanted = 1;
    store.Announce(request, now - static_cast<int64_t>(i % 1800), out, rng);
  }
}

int Main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string value;
    const std::string arg = argv[i];
    if (ParseFlag(arg, "peers", &value)) {
      flags.peers = std::stoull(value);
    } else if (ParseFlag(arg, "peers_per_torrent", &value)) {
      flags.peers_per_torrent = static_cast<uint32_t>(std::max(1, std::stoi(value)));
    } else if (ParseFlag(arg, "runs", &value)) {
      flags.runs = std::max(1, std::stoi(value));
    } else if (ParseFlag(arg, "dir", &value)) {
      flags.dir = value;
    } else {
      fprintf(stderr, "unknown flag %s (--peers, --peers_per_torrent, --runs, --dir)\n", argv[i]);
      return 2;
    }
  }
  const std::string path = flags.dir + "/reef_snapshot_timing." + std::to_string(getpid());
  const Clock& clock = SystemClock();
  swarm::TorrentStore store = MakeStore();
  absl::Time start = absl::Now();
  Fill(store, flags, clock.MonotonicSeconds());
  const swarm::StoreStats stats = store.Stats();
  printf("store: %llu torrents, %llu peers (%llu IPv4, %llu IPv6), filled in %.2f s\n",
         static_cast<unsigned long long>(stats.torrents),
         static_cast<unsigned long long>(stats.peers_v4 + stats.peers_v6),
         static_cast<unsigned long long>(stats.peers_v4),
         static_cast<unsigned long long>(stats.peers_v6),
         absl::ToDoubleSeconds(absl::Now() - start));
  absl::StatusOr<SnapshotDirectory> directory = SnapshotDirectory::Open(path);
  if (!directory.ok()) {
    fprintf(stderr, "%s\n", std::string(directory.status().message()).c_str());
    return 1;
  }
  std::vector<double> writes, loads;
  uint64_t bytes = 0;
  for (int run = 0; run < flags.runs; ++run) {
    absl::StatusOr<WriteResult> written = WriteFromStore(*directory, store, clock);
    if (!written.ok()) return 1;
    bytes = written->bytes;
    swarm::TorrentStore loaded = MakeStore();
    Options options;
    options.path = path;
    options.peer_timeout_s = 2700;
    const LoadResult result = LoadIntoStore(options, clock, loaded);
    if (result.outcome != LoadResult::Outcome::kLoaded || loaded.Stats() != stats) {
      fprintf(stderr, "the loaded store differs from the written one\n");
      return 1;
    }
    writes.push_back(absl::ToDoubleSeconds(written->took));
    loads.push_back(absl::ToDoubleSeconds(result.took));
    printf("run %d: write %.3f s, load %.3f s\n", run + 1, writes.back(), loads.back());
  }
  unlink(path.c_str());
  printf("file: %llu bytes (%.1f bytes per peer)\n", static_cast<unsigned long long>(bytes),
         static_cast<double>(bytes) / static_cast<double>(flags.peers));
  printf("median of %d runs: write %.3f s, load %.3f s\n", flags.runs, Median(writes),
         Median(loads));
  return 0;
}

}  // namespace
}  // namespace reef::snapshot

int main(int argc, char** argv) { return reef::snapshot::Main(argc, argv); }
