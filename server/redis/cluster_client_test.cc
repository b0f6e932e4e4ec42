// ClusterClient without a cluster: option checks, the RESP it writes, and what happens
// when no node answers. Against a real cluster: cluster_client_cluster_test.cc.
#include "server/redis/cluster_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "doctest/doctest.h"

namespace reef::redis {
namespace {

// One wakeup of an owner's loop: wait as the client says, hand it its events, Tick.
void RunOnce(ClusterClient& client, int epoll_fd) {
  const int timeout = client.NextTimeoutMs();
  CHECK(timeout >= 0);
  epoll_event events[8];
  const int n = epoll_wait(epoll_fd, events, 8, timeout);
  for (int i = 0; i < n; ++i) {
    CHECK(client.OwnsToken(events[i].data.u64));
    client.HandleEvent(events[i].data.u64, events[i].events);
  }
  client.Tick();
}

ClusterOptions ValidOptions() {
  ClusterOptions options;
  options.seeds = {NodeAddress{"127.0.0.1", 1}};  // nothing listens on port 1
  return options;
}

TEST_CASE("ValidateClusterOptions: every limit, at it and just past it") {
  CHECK(ValidateClusterOptions(ValidOptions()).ok());
  auto check = [](auto change, bool ok) {
    ClusterOptions options = ValidOptions();
    change(options);
    CHECK(ValidateClusterOptions(options).ok() == ok);
  };
  check([](ClusterOptions& o) { o.seeds.clear(); }, false);
  check([](ClusterOptions& o) { o.seeds.resize(kMaxClusterNodes, o.seeds[0]); }, true);
  check([](ClusterOptions& o) { o.seeds.resize(kMaxClusterNodes + 1, o.seeds[0]); }, false);
  check([](ClusterOptions& o) { o.request_timeout_ms = 0; }, false);
  check([](ClusterOptions& o) { o.request_timeout_ms = kMaxTimeoutMs; }, true);
  check([](ClusterOptions& o) { o.request_timeout_ms = kMaxTimeoutMs + 1; }, false);
  check([](ClusterOptions& o) { o.connect_timeout_ms = 0; }, false);
  check([](ClusterOptions& o) { o.connect_timeout_ms = kMaxTimeoutMs + 1; }, false);
  check([](ClusterOptions& o) { o.reconnect_backoff_min_ms = 0; }, false);
  check([](ClusterOptions& o) { o.reconnect_backoff_min_ms = o.reconnect_backoff_max_ms; },
        true);
  check([](ClusterOptions& o) { o.reconnect_backoff_min_ms = o.reconnect_backoff_max_ms + 1; },
        false);
  check([](ClusterOptions& o) { o.reconnect_backoff_max_ms = kMaxTimeoutMs + 1; }, false);
  check([](ClusterOptions& o) { o.refresh_min_interval_ms = 0; }, true);
  check([](ClusterOptions& o) { o.refresh_min_interval_ms = kMaxTimeoutMs + 1; }, false);
  check([](ClusterOptions& o) { o.max_redirects = 0; }, false);
  check([](ClusterOptions& o) { o.max_redirects = 16; }, true);
  check([](ClusterOptions& o) { o.max_redirects = 17; }, false);
  check([](ClusterOptions& o) { o.max_pending = 0; }, false);
  check([](ClusterOptions& o) { o.max_pending = size_t{1} << 24; }, true);
  check([](ClusterOptions& o) { o.max_pending = (size_t{1} << 24) + 1; }, false);
  check([](ClusterOptions& o) { o.epoll_token_base = UINT64_MAX - ClusterClient::kTokenSpan; },
        true);
  check([](ClusterOptions& o) {
    o.epoll_token_base = UINT64_MAX - ClusterClient::kTokenSpan + 1;
  }, false);
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  ClusterOptions bad = ValidOptions();
  bad.max_redirects = 0;
  CHECK(absl::IsInvalidArgument(ClusterClient::Create(bad, epoll_fd).status()));
  close(epoll_fd);
}

TEST_CASE("FormatCommand writes RESP arrays of bulk strings, binary bytes as they are") {
  CHECK(FormatCommand({"GET", "k"}) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  const std::string binary("\0\r\n", 3);
  CHECK(FormatCommand({"SET", binary, ""}) ==
        std::string("*3\r\n$3\r\nSET\r\n$3\r\n\0\r\n\r\n$0\r\n\r\n", 28));
}

TEST_CASE("no node reachable: requests wait for the map, then fail as unavailable") {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  ClusterOptions options = ValidOptions();
  options.request_timeout_ms = 200;
  options.reconnect_backoff_min_ms = 50;
  options.reconnect_backoff_max_ms = 400;
  auto client = ClusterClient::Create(options, epoll_fd);
  REQUIRE(client.ok());
  ClusterClient& c = **client;
  std::vector<absl::Status> results;
  for (int i = 0; i < 3; ++i) {
    c.Command(KeySlot("k"), FormatCommand({"GET", "k"}),
              [&](absl::StatusOr<const redisReply*> r) { results.push_back(r.status()); });
  }
  CHECK(results.empty());
  CHECK(c.pending() == 3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int wakeups = 0;
  while (results.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    RunOnce(c, epoll_fd);
    ++wakeups;
  }
  REQUIRE(results.size() == 3);
  for (const absl::Status& status : results) {
    CHECK(absl::IsUnavailable(status));
    CHECK(std::string(status.message()).starts_with(kUnavailable));
  }
  CHECK(c.pending() == 0);
  CHECK(c.stats().timeouts == 3);
  CHECK(c.stats().connects >= 2);  // reconnected after the backoff
  CHECK(c.slot_map() == nullptr);
  // The loop slept between attempts instead of spinning: 200 ms of backoffs of at least
  // 50 ms, so a handful of wakeups, far from thousands.
  CHECK(wakeups < 100);
  client->reset();
  close(epoll_fd);
}

TEST_CASE("a connect that does not finish is abandoned after connect_timeout_ms") {
  // A listener whose accept queue is full: the kernel drops further SYNs, so a connect to
  // it stays pending, as to a host that has gone silent.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(listen(listener, 0) == 0);
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    const int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    fillers.push_back(filler);
  }
  usleep(50'000);
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  ClusterOptions options = ValidOptions();
  options.seeds = {NodeAddress{"127.0.0.1", ntohs(address.sin_port)}};
  options.connect_timeout_ms = 100;
  options.request_timeout_ms = 5000;
  options.reconnect_backoff_min_ms = 50;
  auto client = ClusterClient::Create(options, epoll_fd);
  REQUIRE(client.ok());
  ClusterClient& c = **client;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (c.stats().connection_losses == 0 && std::chrono::steady_clock::now() < deadline) {
    RunOnce(c, epoll_fd);
  }
  // Abandoned within the loop's 3 s, so by the connect timeout: the request timeout
  // (5 s) had not come yet.
  CHECK(c.stats().connection_losses == 1);
  CHECK(c.slot_map() == nullptr);
  client->reset();
  for (int filler : fillers) close(filler);
  close(listener);
  close(epoll_fd);
}

TEST_CASE("destroying the client cancels what waits") {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  auto client = ClusterClient::Create(ValidOptions(), epoll_fd);
  REQUIRE(client.ok());
  absl::Status result;
  (*client)->Command(0, FormatCommand({"PING"}),
                     [&](absl::StatusOr<const redisReply*> r) { result = r.status(); });
  client->reset();
  CHECK(absl::IsCancelled(result));
  close(epoll_fd);
}

}  // namespace
}  // namespace reef::redis
