// Both event-loop backends over real loopback sockets.
#include "server/udp/event_loop.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/udp/socket.h"

namespace reef::udp {
namespace {

// Replies "ok:" + the request, except to "silent", which gets nothing.
class EchoHandler final : public DatagramHandler {
 public:
  size_t Handle(const sockaddr_storage&, std::span<const uint8_t> request,
                std::span<uint8_t> reply) override {
    handled.fetch_add(1);
    std::string_view text(reinterpret_cast<const char*>(request.data()), request.size());
    if (text == "silent") return 0;
    if (request.size() + 3 > reply.size()) return 0;
    std::memcpy(reply.data(), "ok:", 3);
    std::memcpy(reply.data() + 3, request.data(), request.size());
    return request.size() + 3;
  }
  std::atomic<int> handled{0};
};

struct Backend {
  const char* name;
  std::unique_ptr<UdpEventLoop> (*make)(const LoopOptions&);
};

std::unique_ptr<UdpEventLoop> MakeEpoll(const LoopOptions& o) { return MakeEpollLoop(o); }
std::unique_ptr<UdpEventLoop> MakeUring(const LoopOptions& o) {
  auto loop = MakeIoUringLoop(o);
  return loop.ok() ? std::move(*loop) : nullptr;
}

// A server socket, a loop on its own thread, and a connected client socket.
class Harness {
 public:
  Harness(const Backend& backend, const char* address, const LoopOptions& options) {
    loop_ = backend.make(options);
    REQUIRE_MESSAGE(loop_ != nullptr, backend.name, ": backend refused by this kernel");
    auto listen = SocketAddress::Parse(address);
    REQUIRE(listen.ok());
    auto opened = OpenUdpSocket(*listen, {});
    REQUIRE(opened.ok());
    server_fd_ = opened->fd;
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    REQUIRE(stop_fd_ >= 0);
    auto bound = BoundAddress(server_fd_);
    REQUIRE(bound.ok());
    client_fd_ = socket(bound->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(connect(client_fd_, bound->sockaddr_ptr(), bound->sockaddr_len()) == 0);
    // Generous: a reply normally comes in microseconds, and only a failing test waits.
    timeval timeout{.tv_sec = 30, .tv_usec = 0};
    setsockopt(client_fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    thread_ = std::thread([this] {
      const int fds[] = {server_fd_};
      status_ = loop_->Run(fds, stop_fd_, handler_);
    });
  }

  ~Harness() {
    Stop();
    close(client_fd_);
    close(server_fd_);
    close(stop_fd_);
  }

  void Stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    CHECK(write(stop_fd_, &one, sizeof(one)) == sizeof(one));
    thread_.join();
  }

  void Send(std::string_view text) {
    CHECK(send(client_fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
  }

  // The next reply, or "" after the receive timeout.
  std::string Receive() {
    char buf[65536];
    ssize_t n;
    // Retried on EINTR: under TSan, blocking calls here are sometimes interrupted.
    do {
      n = recv(client_fd_, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
  }

  bool NothingWithin(int milliseconds) {
    pollfd p{.fd = client_fd_, .events = POLLIN, .revents = 0};
    return poll(&p, 1, milliseconds) == 0;
  }

  EchoHandler handler_;
  std::unique_ptr<UdpEventLoop> loop_;
  absl::Status status_ = absl::UnknownError("not run");
  int server_fd_ = -1;
  int client_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

const Backend kBackends[] = {{"epoll", MakeEpoll}, {"io_uring", MakeUring}};

TEST_CASE("each backend answers datagrams, IPv4 and IPv6, and stops cleanly") {
  for (const Backend& backend : kBackends) {
    for (const char* address : {"127.0.0.1:0", "[::1]:0"}) {
      const std::string backend_name = backend.name;
    CAPTURE(backend_name);
      CAPTURE(address);
      Harness h(backend, address, {});
      h.Send("hello");
      CHECK(h.Receive() == "ok:hello");
      h.Stop();
      CHECK(h.status_.ok());
      CHECK(h.loop_->stats().received.load() == 1);
      CHECK(h.loop_->stats().sent.load() == 1);
    }
  }
}

TEST_CASE("each backend keeps up with bursts and answers every datagram once") {
  for (const Backend& backend : kBackends) {
    const std::string backend_name = backend.name;
    CAPTURE(backend_name);
    Harness h(backend, "127.0.0.1:0", {.batch = 8});
    constexpr int kBursts = 50;
    constexpr int kPerBurst = 40;  // more than one batch, fewer than the socket holds
    int answered = 0;
    for (int burst = 0; burst < kBursts; ++burst) {
      for (int i = 0; i < kPerBurst; ++i) h.Send("n" + std::to_string(burst * kPerBurst + i));
      for (int i = 0; i < kPerBurst; ++i) answered += h.Receive().starts_with("ok:n") ? 1 : 0;
    }
    h.Stop();
    const LoopStats& stats = h.loop_->stats();
    INFO("received ", stats.received.load(), " sent ", stats.sent.load(), " send errors ",
         stats.send_errors.load(), " send dropped ", stats.send_dropped.load());
    CHECK(answered == kBursts * kPerBurst);
    CHECK(h.handler_.handled.load() == kBursts * kPerBurst);
  }
}

TEST_CASE("a datagram one byte over the limit is dropped and counted; at the limit it passes") {
  for (const Backend& backend : kBackends) {
    const std::string backend_name = backend.name;
    CAPTURE(backend_name);
    LoopOptions options;
    options.max_datagram_bytes = 100;
    options.max_reply_bytes = 200;
    Harness h(backend, "127.0.0.1:0", options);
    h.Send(std::string(101, 'x'));
    h.Send(std::string(100, 'y'));
    CHECK(h.Receive() == "ok:" + std::string(100, 'y'));
    CHECK(h.NothingWithin(100));
    h.Stop();
    CHECK(h.loop_->stats().oversized.load() == 1);
    CHECK(h.handler_.handled.load() == 1);
  }
}

TEST_CASE("a handler that returns 0 sends nothing, and the loop goes on") {
  for (const Backend& backend : kBackends) {
    const std::string backend_name = backend.name;
    CAPTURE(backend_name);
    Harness h(backend, "127.0.0.1:0", {});
    h.Send("silent");
    CHECK(h.NothingWithin(100));
    h.Send("after");
    CHECK(h.Receive() == "ok:after");
    h.Stop();
    CHECK(h.loop_->stats().sent.load() == 1);
  }
}

TEST_CASE("an empty datagram reaches the handler") {
  for (const Backend& backend : kBackends) {
    const std::string backend_name = backend.name;
    CAPTURE(backend_name);
    Harness h(backend, "127.0.0.1:0", {});
    h.Send("");
    CHECK(h.Receive() == "ok:");
  }
}

}  // namespace
}  // namespace reef::udp
