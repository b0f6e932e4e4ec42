// ClusterClient: non-blocking requests to a Redis Cluster from one event-loop thread,
// routed by hash slot (cluster_slots.h), over AsyncConnections on the owner's epoll fd.
//
// How an owner (a socket worker) drives it:
//
//   auto client = ClusterClient::Create(options, epoll_fd);     // one per worker thread
//   client->Command(slot, FormatCommand({"GET", key}), [](absl::StatusOr<const
//       redisReply*> reply) { ... });          // queued: nothing written yet
//   client->Flush();                           // after a batch: one write per node
//   loop:
//     n = epoll_wait(epoll_fd, events, max, client->NextTimeoutMs());
//     for each event: if (client->OwnsToken(event.data.u64))
//                       client->HandleEvent(event.data.u64, event.events);
//     client->Tick();                          // timeouts, reconnects, slot map refresh
//
// Promises:
//   - `done` is called exactly once per Command: with the reply (valid only during the
//     call; Redis error replies other than the ones below are replies too, e.g.
//     NOSCRIPT), or with an error status. It may be called before Command returns (a
//     request refused at once) and from HandleEvent, Tick, Flush or the destructor; it may
//     call Command again.
//   - Unavailable, the message starting with kUnavailable ("tracker temporarily
//     unavailable"), when the cluster cannot answer: the request was not answered within
//     request_timeout_ms (the connection it waits on is then closed, failing what else
//     waits on it, and reconnected), the node is down or being reconnected to, the
//     connection was lost, CLUSTERDOWN / TRYAGAIN / LOADING / MASTERDOWN, no node serves
//     the slot, more than max_redirects redirects. ResourceExhausted past max_pending.
//   - MOVED: the slot is assigned to the new node at once, the request is sent there, and
//     the whole slot map is fetched again (CLUSTER SLOTS) soon after. ASK: the request is
//     sent to the named node after ASKING; the map is left alone. A lost connection also
//     refreshes the map (a failover moves slots to a replica).
//   - Reconnects: a node whose connection failed is not tried again for a backoff that
//     doubles from reconnect_backoff_min_ms to reconnect_backoff_max_ms and drops back to
//     the minimum after a reply; requests for it meanwhile fail at once (nothing piles up).
//     A connect that has not finished in connect_timeout_ms is abandoned the same way.
//   - Before the first slot map arrives, requests wait (counted in max_pending) and time
//     out like the rest.
//   - Never blocks: every socket is non-blocking, every address numeric (no lookups).
//
// Threads: everything on the owner's thread. The destructor fails what is pending with
// Cancelled; do not destroy a client from inside one of its callbacks.
#ifndef REEF_SERVER_REDIS_CLUSTER_CLIENT_H_
#define REEF_SERVER_REDIS_CLUSTER_CLIENT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/redis/async_connection.h"
#include "server/redis/cluster_slots.h"

namespace reef::redis {

// The start of every Unavailable message: what a client of the tracker is told.
inline constexpr std::string_view kUnavailable = "tracker temporarily unavailable";

// The most nodes (seeds and masters) one client keeps connections to.
inline constexpr size_t kMaxClusterNodes = 1024;
inline constexpr uint32_t kMaxTimeoutMs = 60'000;

struct ClusterOptions {
  // Where to fetch the first slot map: numeric "ip:port" of any nodes of the cluster.
  std::vector<NodeAddress> seeds;
  uint32_t connect_timeout_ms = 1000;  // 1..kMaxTimeoutMs
  uint32_t request_timeout_ms = 1000;  // 1..kMaxTimeoutMs
  uint32_t reconnect_backoff_min_ms = 100;   // 1..max
  uint32_t reconnect_backoff_max_ms = 5000;  // ..kMaxTimeoutMs
  // The slot map is fetched again at most this often, however many redirects arrive.
  uint32_t refresh_min_interval_ms = 100;  // 0..kMaxTimeoutMs
  uint32_t max_redirects = 5;              // per request, 1..16
  // Requests waiting or in flight at once; one more is refused (ResourceExhausted).
  size_t max_pending = 65536;  // 1..1<<24
  // The epoll tokens (data.u64) the client's sockets are registered under:
  // [epoll_token_base, epoll_token_base + kTokenSpan). Pick a range the owner's own
  // tokens never use.
  uint64_t epoll_token_base = uint64_t{1} << 62;
};

absl::Status ValidateClusterOptions(const ClusterOptions& options);

// A command in RESP form, for Command().
std::string FormatCommand(std::span<const std::string_view> args);
std::string FormatCommand(std::initializer_list<std::string_view> args);

struct ClusterStats {
  uint64_t requests = 0;          // Command calls
  uint64_t replies = 0;           // requests answered with a reply
  uint64_t unavailable = 0;       // requests failed with Unavailable
  uint64_t timeouts = 0;          // of which: request_timeout_ms passed
  uint64_t refused = 0;           // ResourceExhausted: max_pending reached
  uint64_t moved = 0;             // MOVED redirects followed
  uint64_t asked = 0;             // ASK redirects followed
  uint64_t slot_map_refreshes = 0;  // slot maps applied
  uint64_t connects = 0;          // connections started
  uint64_t connection_losses = 0; // connections closed by an error or a timeout
};

class ClusterClient {
 public:
  static constexpr uint64_t kTokenStride = uint64_t{1} << 20;
  static constexpr uint64_t kTokenSpan = kMaxClusterNodes * kTokenStride;

  using Callback = absl::AnyInvocable<void(absl::StatusOr<const redisReply*>)>;

  // A client that starts fetching the slot map from the seeds at once. InvalidArgument
  // for options out of range.
  static absl::StatusOr<std::unique_ptr<ClusterClient>> Create(const ClusterOptions& options,
                                                              int epoll_fd);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Sends `command` (FormatCommand's output) to the master serving `slot`.
  void Command(uint16_t slot, std::string command, Callback done);
  // Sends `command` to `node` itself, without routing or redirects (CLUSTER commands,
  // SCRIPT LOAD on every master, tests).
  void CommandToNode(const NodeAddress& node, std::string command, Callback done);

  // Writes every connection's queued commands now (one write per node).
  void Flush();
  bool OwnsToken(uint64_t token) const {
    return token >= options_.epoll_token_base &&
           token - options_.epoll_token_base < kTokenSpan;
  }
  void HandleEvent(uint64_t token, uint32_t epoll_events);
  // Fails requests past their deadline, abandons slow connects, reconnects after the
  // backoff, refreshes the slot map when wanted.
  void Tick();
  // Milliseconds until Tick has something to do (0: now), or -1 for nothing pending.
  int NextTimeoutMs() const;

  // The slot map in use, or nullptr before the first one arrived.
  const SlotMap* slot_map() const { return slot_map_ ? &*slot_map_ : nullptr; }
  const ClusterStats& stats() const { return stats_; }
  const ClusterOptions& options() const { return options_; }
  // The owner's requests waiting or in flight (the client's own slot map fetches aside).
  size_t pending() const { return pending_; }

 private:
  struct Node;
  struct Request;

  ClusterClient(const ClusterOptions& options, int epoll_fd);
  void Submit(Request* request);
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);
  void HandleReply(Request* request, const redisReply* reply);
  void Dispatch(Request* request);
  void Finish(Request* request, absl::StatusOr<const redisReply*> result);
  void FailUnavailable(Request* request, std::string_view why);
  Node* NodeAt(const NodeAddress& address);  // nullptr past kMaxClusterNodes
  bool EnsureConnected(Node& node, int64_t now);
  void Reap(Node& node, int64_t now);
  void StartRefresh(int64_t now);
  void ApplySlotMap(absl::StatusOr<const redisReply*> reply, const NodeAddress& from);
  static int64_t NowMs();

  ClusterOptions options_;
  int epoll_fd_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::optional<SlotMap> slot_map_;
  std::deque<Request*> waiting_for_map_;
  size_t pending_ = 0;
  bool refresh_wanted_ = true;
  bool refresh_in_flight_ = false;
  int64_t next_refresh_ms_ = 0;
  size_t refresh_cursor_ = 0;
  bool shutting_down_ = false;
  ClusterStats stats_;
};

}  // namespace reef::redis

#endif  // REEF_SERVER_REDIS_CLUSTER_CLIENT_H_
