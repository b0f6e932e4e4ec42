#include "server/redis/cluster_test_util.h"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "doctest/doctest.h"
#include "server/common/strings.h"

namespace reef::redis::testing {
namespace {

std::vector<NodeAddress> FromEnvironment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    FAIL(name << " is not set: run this test through tests/redis_cluster.py");
    return {};
  }
  std::vector<NodeAddress> nodes;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    auto node = ParseNodeAddress(ToStd(part));
    REQUIRE(node.ok());
    nodes.push_back(*node);
  }
  return nodes;
}

}  // namespace

std::vector<NodeAddress> ClusterMasters() { return FromEnvironment("REEF_REDIS_MASTERS"); }
std::vector<NodeAddress> ClusterNodes() { return FromEnvironment("REEF_REDIS_NODES"); }

void KillNode(const NodeAddress& node) {
  const char* pids = std::getenv("REEF_REDIS_PIDS");
  REQUIRE_MESSAGE(pids != nullptr, "REEF_REDIS_PIDS is not set");
  for (absl::string_view entry : absl::StrSplit(pids, ',')) {
    std::pair<absl::string_view, absl::string_view> port_pid = absl::StrSplit(entry, ':');
    int port = 0;
    int pid = 0;
    REQUIRE(absl::SimpleAtoi(port_pid.first, &port));
    REQUIRE(absl::SimpleAtoi(port_pid.second, &pid));
    if (port == node.port) {
      REQUIRE(kill(pid, SIGKILL) == 0);
      return;
    }
  }
  FAIL("no pid for " << node.ToString());
}

Reply Reply::From(const redisReply& reply) {
  Reply out;
  out.type = reply.type;
  out.integer = reply.integer;
  if (reply.str != nullptr) out.str.assign(reply.str, reply.len);
  for (size_t i = 0; i < reply.elements; ++i) out.elements.push_back(From(*reply.element[i]));
  return out;
}

ClusterOptions DefaultTestOptions() {
  ClusterOptions options;
  options.seeds = ClusterMasters();
  // Generous: sanitizer builds on a loaded machine are slow; the cases about timeouts
  // set their own.
  options.request_timeout_ms = 10000;
  options.connect_timeout_ms = 1000;
  options.reconnect_backoff_min_ms = 50;
  options.reconnect_backoff_max_ms = 500;
  options.refresh_min_interval_ms = 50;
  return options;
}

TestLoop::TestLoop(ClusterOptions options) : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (options.seeds.empty()) options = DefaultTestOptions();
  auto client = ClusterClient::Create(options, epoll_fd_);
  REQUIRE(client.ok());
  client_ = *std::move(client);
}

TestLoop::~TestLoop() {
  client_.reset();
  close(epoll_fd_);
}

bool TestLoop::RunUntil(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    int wait = client_->NextTimeoutMs();
    if (wait < 0 || wait > left) wait = static_cast<int>(left);
    if (wait > 20) wait = 20;
    epoll_event events[16];
    const int n = epoll_wait(epoll_fd_, events, 16, wait);
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      CHECK(client_->OwnsToken(token));
      client_->HandleEvent(token, events[i].events);
    }
    client_->Tick();
  }
  return true;
}

absl::StatusOr<Reply> TestLoop::Await(std::function<void(ClusterClient::Callback)> send) {
  // On the heap: if the test gives up waiting, the callback may still come later (at the
  // latest when the client is destroyed) and must find its state alive.
  struct State {
    bool answered = false;
    absl::StatusOr<Reply> result = absl::DeadlineExceededError("no answer in the test's time");
  };
  auto state = std::make_shared<State>();
  send([state](absl::StatusOr<const redisReply*> reply) {
    state->answered = true;
    if (reply.ok()) {
      state->result = Reply::From(**reply);
    } else {
      state->result = reply.status();
    }
  });
  client_->Flush();
  RunUntil([&] { return state->answered; }, 30000);
  return state->result;
}

absl::StatusOr<Reply> TestLoop::Call(uint16_t slot, std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return Await([&](ClusterClient::Callback done) {
    client_->Command(slot, FormatCommand(views), std::move(done));
  });
}

absl::StatusOr<Reply> TestLoop::CallNode(const NodeAddress& node,
                                         std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return Await([&](ClusterClient::Callback done) {
    client_->CommandToNode(node, FormatCommand(views), std::move(done));
  });
}

bool TestLoop::WaitForSlotMap() {
  return RunUntil([&] { return client_->slot_map() != nullptr; }, 10000);
}

std::string KeyServedBy(const SlotMap& map, const NodeAddress& master,
                        std::string_view prefix) {
  for (int n = 0; n < 1'000'000; ++n) {
    std::string key = StrCat(prefix, n);
    const NodeAddress* owner = map.NodeFor(KeySlot(key));
    if (owner != nullptr && *owner == master) return key;
  }
  FAIL("no key served by " << master.ToString());
  return "";
}

}  // namespace reef::redis::testing
