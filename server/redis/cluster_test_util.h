// For tests against the real Redis Cluster that tests/redis_cluster.py starts: its nodes
// from the environment, an epoll loop around a ClusterClient, and blocking-style helpers
// that run the loop until a reply arrives (each bounded in time).
#ifndef REEF_SERVER_REDIS_CLUSTER_TEST_UTIL_H_
#define REEF_SERVER_REDIS_CLUSTER_TEST_UTIL_H_

#include <hiredis/hiredis.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/redis/cluster_client.h"

namespace reef::redis::testing {

// REEF_REDIS_MASTERS / REEF_REDIS_NODES as addresses; a test fails when they are unset
// (run it through tests/redis_cluster.py).
std::vector<NodeAddress> ClusterMasters();
std::vector<NodeAddress> ClusterNodes();
// Kills the redis-server of `node` with SIGKILL (REEF_REDIS_PIDS), as a crash would.
void KillNode(const NodeAddress& node);

// A reply copied out of hiredis's object, so it outlives the callback.
struct Reply {
  int type = 0;  // REDIS_REPLY_*
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;
  static Reply From(const redisReply& reply);
  bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

// An epoll fd and a client on it, run by hand.
class TestLoop {
 public:
  explicit TestLoop(ClusterOptions options = {});
  ~TestLoop();
  ClusterClient& client() { return *client_; }
  // Runs the loop (events, Tick) until `done` holds or `timeout_ms` passes.
  bool RunUntil(const std::function<bool()>& done, int timeout_ms = 10000);
  // Command / CommandToNode, then the loop until the answer; Flush first.
  absl::StatusOr<Reply> Call(uint16_t slot, std::vector<std::string> args);
  absl::StatusOr<Reply> CallNode(const NodeAddress& node, std::vector<std::string> args);
  // Waits for the first slot map (bounded).
  bool WaitForSlotMap();

 private:
  absl::StatusOr<Reply> Await(std::function<void(ClusterClient::Callback)> send);
  int epoll_fd_;
  std::unique_ptr<ClusterClient> client_;
};

ClusterOptions DefaultTestOptions();

// A key whose slot is served by `master` according to `map`: "<prefix><n>" for the
// first n that fits.
std::string KeyServedBy(const SlotMap& map, const NodeAddress& master, std::string_view prefix);

}  // namespace reef::redis::testing

#endif  // REEF_SERVER_REDIS_CLUSTER_TEST_UTIL_H_
