#include "server/redis/cluster_client.h"

#include <time.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "server/common/strings.h"

namespace reef::redis {

struct ClusterClient::Node {
  ClusterClient* owner = nullptr;
  NodeAddress address;
  uint64_t index = 0;
  uint64_t generation = 0;  // bumped per connection, part of its epoll token
  std::unique_ptr<AsyncConnection> connection;
  std::deque<Request*> in_flight;  // in the order sent, so replies pop the front
  int64_t connect_deadline_ms = 0;
  int64_t retry_at_ms = 0;         // no new connection before this
  uint32_t backoff_ms = 0;
  bool timed_out = false;          // the connection is being closed for a timeout
};

struct ClusterClient::Request {
  std::string command;
  uint16_t slot = 0;
  bool routed = true;  // by slot, following redirects; false: CommandToNode
  std::optional<NodeAddress> target;  // where to send it instead of the slot's master
  int64_t deadline_ms = 0;
  uint32_t redirects = 0;
  bool asking = false;  // send ASKING first (an ASK redirect)
  Node* node = nullptr;
  bool counted = true;  // the owner's: counted in pending_ and stats (not a map refresh)
  Callback done;
};

absl::Status ValidateClusterOptions(const ClusterOptions& o) {
  const auto in = [](uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v <= hi; };
  if (o.seeds.empty()) return absl::InvalidArgumentError("seeds: at least one node");
  if (o.seeds.size() > kMaxClusterNodes) {
    return absl::InvalidArgumentError("seeds: at most kMaxClusterNodes (1024)");
  }
  if (!in(o.connect_timeout_ms, 1, kMaxTimeoutMs) ||
      !in(o.request_timeout_ms, 1, kMaxTimeoutMs) ||
      !in(o.reconnect_backoff_max_ms, 1, kMaxTimeoutMs) ||
      !in(o.reconnect_backoff_min_ms, 1, o.reconnect_backoff_max_ms) ||
      !in(o.refresh_min_interval_ms, 0, kMaxTimeoutMs)) {
    return absl::InvalidArgumentError(
        "timeouts: 1..60000 ms, reconnect_backoff_min_ms <= reconnect_backoff_max_ms, "
        "refresh_min_interval_ms 0..60000");
  }
  if (!in(o.max_redirects, 1, 16)) return absl::InvalidArgumentError("max_redirects: 1..16");
  if (!in(o.max_pending, 1, size_t{1} << 24)) {
    return absl::InvalidArgumentError("max_pending: 1..16777216");
  }
  if (o.epoll_token_base > std::numeric_limits<uint64_t>::max() - ClusterClient::kTokenSpan) {
    return absl::InvalidArgumentError("epoll_token_base: the token range must fit in 64 bits");
  }
  return absl::OkStatus();
}

std::string FormatCommand(std::span<const std::string_view> args) {
  std::string out = StrCat("*", args.size(), "\r\n");
  for (const std::string_view arg : args) {
    StrAppend(&out, "$", arg.size(), "\r\n");
    out.append(arg);
    out.append("\r\n");
  }
  return out;
}

std::string FormatCommand(std::initializer_list<std::string_view> args) {
  return FormatCommand(std::span<const std::string_view>(args.begin(), args.size()));
}

absl::StatusOr<std::unique_ptr<ClusterClient>> ClusterClient::Create(
    const ClusterOptions& options, int epoll_fd) {
  if (absl::Status status = ValidateClusterOptions(options); !status.ok()) return status;
  std::unique_ptr<ClusterClient> client(new ClusterClient(options, epoll_fd));
  client->StartRefresh(NowMs());
  return client;
}

ClusterClient::ClusterClient(const ClusterOptions& options, int epoll_fd)
    : options_(options), epoll_fd_(epoll_fd) {}

ClusterClient::~ClusterClient() {
  shutting_down_ = true;
  while (!waiting_for_map_.empty()) {
    Request* request = waiting_for_map_.front();
    waiting_for_map_.pop_front();
    Finish(request, absl::CancelledError("redis client shut down"));
  }
  // Freeing a connection calls back every request in flight on it (with nullptr).
  for (auto& node : nodes_) node->connection.reset();
}

int64_t ClusterClient::NowMs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1'000'000;
}

void ClusterClient::Command(uint16_t slot, std::string command, Callback done) {
  Submit(new Request{std::move(command), slot, true, std::nullopt, 0, 0, false, nullptr,
                     true, std::move(done)});
}

void ClusterClient::CommandToNode(const NodeAddress& node, std::string command,
                                  Callback done) {
  Submit(new Request{std::move(command), 0, false, node, 0, 0, false, nullptr, true,
                     std::move(done)});
}

void ClusterClient::Submit(Request* request) {
  if (request->counted) {
    ++stats_.requests;
    if (pending_ >= options_.max_pending) {
      ++stats_.refused;
      Callback done = std::move(request->done);
      delete request;
      done(absl::ResourceExhaustedError(StrCat(kUnavailable, ": more than max_pending (",
                                               options_.max_pending, ") redis requests")));
      return;
    }
    ++pending_;
  }
  request->deadline_ms = NowMs() + options_.request_timeout_ms;
  Dispatch(request);
}

void ClusterClient::Dispatch(Request* request) {
  if (shutting_down_) {
    Finish(request, absl::CancelledError("redis client shut down"));
    return;
  }
  const NodeAddress* address = nullptr;
  if (request->target.has_value()) {
    address = &*request->target;
  } else if (!slot_map_.has_value()) {
    waiting_for_map_.push_back(request);
    return;
  } else {
    address = slot_map_->NodeFor(request->slot);
    if (address == nullptr) {
      refresh_wanted_ = true;
      FailUnavailable(request, StrCat("no redis node serves slot ", request->slot));
      return;
    }
  }
  Node* node = NodeAt(*address);
  if (node == nullptr) {
    FailUnavailable(request, "more than kMaxClusterNodes redis nodes");
    return;
  }
  const int64_t now = NowMs();
  if (!EnsureConnected(*node, now)) {
    FailUnavailable(request, StrCat("redis ", node->address.ToString(),
                                    " is down (reconnecting)"));
    return;
  }
  if (request->asking) {
    request->asking = false;
    static const std::string kAsking = FormatCommand({"ASKING"});
    node->connection->Send(kAsking, nullptr, nullptr);
  }
  if (!node->connection->Send(request->command, OnReply, request)) {
    FailUnavailable(request, StrCat("redis ", node->address.ToString(), ": connection lost"));
    return;
  }
  request->node = node;
  node->in_flight.push_back(request);
}

void ClusterClient::OnReply(redisAsyncContext* context, void* reply, void* privdata) {
  auto* request = static_cast<Request*>(privdata);
  Node* node = request->node;
  // Replies come in the order the requests were sent on this connection.
  if (!node->in_flight.empty() && node->in_flight.front() == request) {
    node->in_flight.pop_front();
  } else {
    std::erase(node->in_flight, request);
  }
  request->node = nullptr;
  (void)context;
  ClusterClient& self = *node->owner;
  if (reply == nullptr && self.shutting_down_) {
    self.Finish(request, absl::CancelledError("redis client shut down"));
    return;
  }
  if (reply == nullptr) {
    // The connection closed before the reply came: a timeout (Tick closed it) or a loss.
    if (node->timed_out) {
      ++self.stats_.timeouts;
      self.FailUnavailable(request, StrCat("redis ", node->address.ToString(),
                                           " did not answer within ",
                                           self.options_.request_timeout_ms, " ms"));
    } else {
      self.FailUnavailable(request, StrCat("redis ", node->address.ToString(), ": ",
                                           node->connection != nullptr
                                               ? node->connection->error()
                                               : std::string("connection lost")));
    }
    self.refresh_wanted_ = true;
    return;
  }
  node->backoff_ms = 0;
  self.HandleReply(request, static_cast<const redisReply*>(reply));
}

void ClusterClient::HandleReply(Request* request, const redisReply* reply) {
  if (reply->type == REDIS_REPLY_ERROR && request->routed) {
    const std::string_view error(reply->str, reply->len);
    if (std::optional<Redirect> redirect = ParseRedirect(error)) {
      if (++request->redirects > options_.max_redirects) {
        FailUnavailable(request, StrCat("more than ", options_.max_redirects,
                                        " redirects for slot ", request->slot));
        return;
      }
      if (redirect->kind == Redirect::Kind::kMoved) {
        ++stats_.moved;
        if (slot_map_.has_value()) slot_map_->Assign(redirect->slot, redirect->target);
        refresh_wanted_ = true;
        // To the node named, whatever slot the caller gave: the key's slot decides.
        request->target = redirect->target;
        Dispatch(request);
      } else {
        ++stats_.asked;
        // ASK: this one request goes to the target, after ASKING; the map stays.
        request->target = redirect->target;
        request->asking = true;
        Dispatch(request);
      }
      return;
    }
    for (const std::string_view transient : {"CLUSTERDOWN", "TRYAGAIN", "LOADING",
                                              "MASTERDOWN"}) {
      if (error.starts_with(transient)) {
        refresh_wanted_ = true;
        FailUnavailable(request, StrCat("redis: ", error));
        return;
      }
    }
  }
  ++stats_.replies;
  Finish(request, reply);
}

void ClusterClient::Finish(Request* request, absl::StatusOr<const redisReply*> result) {
  if (request->counted) --pending_;
  Callback done = std::move(request->done);
  delete request;
  done(std::move(result));
}

void ClusterClient::FailUnavailable(Request* request, std::string_view why) {
  ++stats_.unavailable;
  Finish(request, absl::UnavailableError(StrCat(kUnavailable, ": ", why)));
}

ClusterClient::Node* ClusterClient::NodeAt(const NodeAddress& address) {
  for (auto& node : nodes_) {
    if (node->address == address) return node.get();
  }
  if (nodes_.size() >= kMaxClusterNodes) return nullptr;
  auto node = std::make_unique<Node>();
  node->owner = this;
  node->address = address;
  node->index = nodes_.size();
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

bool ClusterClient::EnsureConnected(Node& node, int64_t now) {
  if (node.connection != nullptr) return node.connection->alive();
  if (now < node.retry_at_ms) return false;
  ++stats_.connects;
  ++node.generation;
  const uint64_t token =
      options_.epoll_token_base + node.index * kTokenStride + node.generation % kTokenStride;
  absl::StatusOr<std::unique_ptr<AsyncConnection>> connection =
      AsyncConnection::Connect(node.address, epoll_fd_, token);
  if (!connection.ok()) {
    ++stats_.connection_losses;
    node.backoff_ms = std::clamp(node.backoff_ms * 2, options_.reconnect_backoff_min_ms,
                                 options_.reconnect_backoff_max_ms);
    node.retry_at_ms = now + node.backoff_ms;
    return false;
  }
  node.connection = *std::move(connection);
  node.connect_deadline_ms = now + options_.connect_timeout_ms;
  return true;
}

void ClusterClient::Reap(Node& node, int64_t now) {
  // Called outside hiredis's callbacks only: the connection is gone (or closed just now,
  // which called back everything in flight), so the object can go.
  node.connection.reset();
  node.timed_out = false;
  ++stats_.connection_losses;
  node.backoff_ms = std::clamp(node.backoff_ms * 2, options_.reconnect_backoff_min_ms,
                               options_.reconnect_backoff_max_ms);
  node.retry_at_ms = now + node.backoff_ms;
  refresh_wanted_ = true;  // a failover may have moved this node's slots
}

void ClusterClient::Flush() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->connection != nullptr) nodes_[i]->connection->Flush();
  }
}

void ClusterClient::HandleEvent(uint64_t token, uint32_t epoll_events) {
  if (!OwnsToken(token)) return;
  const uint64_t offset = token - options_.epoll_token_base;
  const uint64_t index = offset / kTokenStride;
  if (index >= nodes_.size()) return;
  Node& node = *nodes_[index];
  // An event of a connection that has been replaced since is stale: ignore it.
  if (node.connection == nullptr || node.generation % kTokenStride != offset % kTokenStride) {
    return;
  }
  node.connection->HandleEvents(epoll_events);
  if (node.connection != nullptr && !node.connection->alive()) Reap(node, NowMs());
}

void ClusterClient::Tick() {
  const int64_t now = NowMs();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = *nodes_[i];
    if (node.connection == nullptr) continue;
    const bool connect_late =
        node.connection->alive() && !node.connection->connected() &&
        now >= node.connect_deadline_ms;
    const bool reply_late =
        !node.in_flight.empty() && now >= node.in_flight.front()->deadline_ms;
    if (connect_late || reply_late) {
      node.timed_out = true;
      node.connection->Close();  // calls back everything in flight on it
    }
    if (!node.connection->alive()) Reap(node, now);
  }
  while (!waiting_for_map_.empty() && now >= waiting_for_map_.front()->deadline_ms) {
    Request* request = waiting_for_map_.front();
    waiting_for_map_.pop_front();
    ++stats_.timeouts;
    FailUnavailable(request, StrCat("no redis slot map within ",
                                    options_.request_timeout_ms, " ms"));
  }
  if (refresh_wanted_ && !refresh_in_flight_ && now >= next_refresh_ms_) StartRefresh(now);
}

int ClusterClient::NextTimeoutMs() const {
  const int64_t now = NowMs();
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& node : nodes_) {
    if (node->connection == nullptr) continue;
    if (!node->in_flight.empty()) next = std::min(next, node->in_flight.front()->deadline_ms);
    if (!node->connection->connected()) next = std::min(next, node->connect_deadline_ms);
  }
  if (!waiting_for_map_.empty()) next = std::min(next, waiting_for_map_.front()->deadline_ms);
  if (refresh_wanted_ && !refresh_in_flight_) next = std::min(next, next_refresh_ms_);
  if (next == std::numeric_limits<int64_t>::max()) return -1;
  return static_cast<int>(std::clamp<int64_t>(next - now, 0, kMaxTimeoutMs));
}

void ClusterClient::StartRefresh(int64_t now) {
  // Ask the nodes in turn, seeds first then every master the map names, skipping those
  // waiting out a backoff, so one dead node does not stop the map from being fetched.
  std::vector<NodeAddress> candidates = options_.seeds;
  if (slot_map_.has_value()) {
    for (const NodeAddress& master : slot_map_->nodes()) candidates.push_back(master);
  }
  for (size_t tried = 0; tried < candidates.size(); ++tried) {
    const NodeAddress& address = candidates[refresh_cursor_++ % candidates.size()];
    Node* node = NodeAt(address);
    if (node == nullptr || (node->connection == nullptr && now < node->retry_at_ms)) continue;
    refresh_wanted_ = false;
    refresh_in_flight_ = true;
    next_refresh_ms_ = now + options_.refresh_min_interval_ms;
    Submit(new Request{FormatCommand({"CLUSTER", "SLOTS"}), 0, false, address, 0, 0, false,
                       nullptr, false,
                       [this, address](absl::StatusOr<const redisReply*> reply) {
                         ApplySlotMap(std::move(reply), address);
                       }});
    return;
  }
  // Every node is waiting out a backoff: try again when the shortest could be over.
  next_refresh_ms_ = now + options_.reconnect_backoff_min_ms;
}

void ClusterClient::ApplySlotMap(absl::StatusOr<const redisReply*> reply,
                                 const NodeAddress& from) {
  refresh_in_flight_ = false;
  if (shutting_down_) return;
  absl::StatusOr<SlotMap> map = reply.ok() ? SlotMap::FromClusterSlots(**reply, from.host)
                                           : absl::StatusOr<SlotMap>(reply.status());
  if (!map.ok() || map->covered_slots() == 0) {
    refresh_wanted_ = true;  // try the next node
    return;
  }
  ++stats_.slot_map_refreshes;
  slot_map_ = *std::move(map);
  std::deque<Request*> waiting;
  waiting.swap(waiting_for_map_);
  for (Request* request : waiting) Dispatch(request);
}

}  // namespace reef::redis
