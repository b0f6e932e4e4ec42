// Announces through RedisSwarm against a running Redis Cluster, pipelined in batches as a
// worker would send a recvmmsg batch: announces per second, batch latency, and what one
// announce costs the cluster (commands and bytes, from the masters' INFO counters). Run by
// hand, never as a test:
//   bazel build --config=opt //server/redis:redis_swarm_benchmark
//   tests/redis_cluster.py -- bazel-bin/server/redis/redis_swarm_benchmark 20000 64
// Arguments: announces (default 20000), batch size (64), torrents (1000).
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/common/strings.h"
#include "server/redis/cluster_client.h"
#include "server/redis/redis_swarm.h"

namespace reef::redis {
namespace {

using Clock = std::chrono::steady_clock;

struct Loop {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  std::unique_ptr<ClusterClient> client;

  bool RunUntil(const std::function<bool()>& done, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      int wait = client->NextTimeoutMs();
      if (wait < 0 || wait > 10) wait = 10;
      epoll_event events[16];
      const int n = epoll_wait(epoll_fd, events, 16, wait);
      for (int i = 0; i < n; ++i) client->HandleEvent(events[i].data.u64, events[i].events);
      client->Tick();
    }
    return true;
  }
};

// INFO STATS counters of every master, summed.
std::map<std::string, long long> MasterCounters(Loop& loop,
                                                const std::vector<NodeAddress>& masters) {
  std::map<std::string, long long> sum;
  for (const NodeAddress& master : masters) {
    bool answered = false;
    loop.client->CommandToNode(master, FormatCommand({"INFO", "STATS"}),
                               [&](absl::StatusOr<const redisReply*> reply) {
                                 answered = true;
                                 if (!reply.ok()) return;
                                 for (absl::string_view line : absl::StrSplit(
                                          absl::string_view((*reply)->str, (*reply)->len),
                                          "\r\n")) {
                                   std::pair<absl::string_view, absl::string_view> kv =
                                       absl::StrSplit(line, ':');
                                   long long value = 0;
                                   if (absl::SimpleAtoi(kv.second, &value)) {
                                     sum[std::string(kv.first)] += value;
                                   }
                                 }
                               });
    loop.client->Flush();
    loop.RunUntil([&] { return answered; }, 10000);
  }
  return sum;
}

int Main(int argc, char** argv) {
  const long announces = argc > 1 ? std::atol(argv[1]) : 20000;
  const long batch = argc > 2 ? std::atol(argv[2]) : 64;
  const long torrents = argc > 3 ? std::atol(argv[3]) : 1000;
  const char* masters_env = std::getenv("REEF_REDIS_MASTERS");
  if (masters_env == nullptr || announces <= 0 || batch <= 0 || torrents <= 0) {
    std::fprintf(stderr, "run through tests/redis_cluster.py; arguments must be > 0\n");
    return 2;
  }
  std::vector<NodeAddress> masters;
  for (absl::string_view part : absl::StrSplit(masters_env, ',')) {
    absl::StatusOr<NodeAddress> master = ParseNodeAddress(ToStd(part));
    if (!master.ok()) {
      std::fprintf(stderr, "%s\n", master.status().ToString().c_str());
      return 2;
    }
    masters.push_back(*master);
  }
  Loop loop;
  ClusterOptions options;
  options.seeds = masters;
  options.request_timeout_ms = 10000;
  auto client = ClusterClient::Create(options, loop.epoll_fd);
  if (!client.ok()) return 2;
  loop.client = *std::move(client);
  RedisSwarmOptions swarm_options;
  swarm_options.prefix_cap = 0;  // every peer announces from 10.0.0.0/8 below
  auto made = RedisSwarm::Create(*loop.client, swarm_options, 1);
  if (!made.ok()) return 2;
  std::unique_ptr<RedisSwarm> swarm = *std::move(made);
  if (!loop.RunUntil([&] { return loop.client->slot_map() != nullptr; }, 10000)) {
    std::fprintf(stderr, "no slot map\n");
    return 1;
  }
  swarm::Rng rng(7);
  auto request = [&](long i) {
    swarm::AnnounceRequest r;
    std::array<uint8_t, kInfoHashSize> hash{};
    const uint64_t t = rng() % static_cast<uint64_t>(torrents);
    std::memcpy(hash.data(), &t, sizeof(t));
    r.info_hash = InfoHash(hash);
    r.endpoint = Endpoint::V4({10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                               static_cast<uint8_t>(i)},
                              6881);
    r.left = rng() % 4 == 0 ? 0 : 1000;
    r.peers_wanted = 50;
    return r;
  };
  long failed = 0;
  auto run_batch = [&](long first, long count) {
    long answered = 0;
    for (long i = first; i < first + count; ++i) {
      swarm->Announce(request(i % 100000), [&](absl::StatusOr<RedisAnnounce> a) {
        ++answered;
        if (!a.ok() || a->status != swarm::AnnounceStatus::kOk) {
          if (failed++ == 0) {
            std::fprintf(stderr, "first failure: %s\n",
                         a.ok() ? "tracker is full" : a.status().ToString().c_str());
          }
        }
      });
    }
    loop.client->Flush();
    loop.RunUntil([&] { return answered == count; }, 60000);
  };
  // Warm-up: every master loads the script (NOSCRIPT, then EVAL) and the torrents exist.
  run_batch(0, std::min(announces, 2000L));
  const auto before = MasterCounters(loop, masters);
  std::vector<double> batch_ms;
  const auto start = Clock::now();
  for (long done = 0; done < announces; done += batch) {
    const auto t0 = Clock::now();
    run_batch(done, std::min(batch, announces - done));
    batch_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = MasterCounters(loop, masters);
  std::sort(batch_ms.begin(), batch_ms.end());
  auto per = [&](const char* key) {
    const auto a = after.find(key);
    const auto b = before.find(key);
    if (a == after.end() || b == before.end()) return -1.0;
    return static_cast<double>(a->second - b->second) / static_cast<double>(announces);
  };
  std::printf("announces %ld in batches of %ld over %ld torrents: %.0f announces/s, "
              "batch p50 %.2f ms p99 %.2f ms, failed %ld\n",
              announces, batch, torrents, static_cast<double>(announces) / seconds,
              batch_ms[batch_ms.size() / 2], batch_ms[batch_ms.size() * 99 / 100], failed);
  std::printf("per announce on the masters: %.2f commands, %.0f bytes in, %.0f bytes out "
              "(%.0f of them replication)\n",
              per("total_commands_processed"), per("total_net_input_bytes"),
              per("total_net_output_bytes"), per("total_net_repl_output_bytes"));
  loop.client.reset();
  close(loop.epoll_fd);
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace reef::redis

int main(int argc, char** argv) { return reef::redis::Main(argc, argv); }
