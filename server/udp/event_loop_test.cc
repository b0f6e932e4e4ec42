// Both event-loop backends over real loopback sockets.
#include "server/udp/event_loop.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/udp/socket.h"
#include "testing/skip.h"

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
// The io_uring loop as an older kernel gets it, with only `choices`: each fallback serves
// as well, and says which it is.
std::unique_ptr<UdpEventLoop> MakeUringWith(const LoopOptions& o, const IoUringChoices& choices) {
  LoopOptions older = o;
  older.io_uring = choices;
  auto loop = MakeIoUringLoop(older);
  if (!loop.ok()) return nullptr;
  CHECK((*loop)->Describe() == "io_uring (" + IoUringChoicesText(choices) + ")");
  return std::move(*loop);
}
std::unique_ptr<UdpEventLoop> MakeUringCooperative(const LoopOptions& o) {
  return MakeUringWith(o, {.defer_taskrun = false, .coop_taskrun = true, .send_to = false});
}
std::unique_ptr<UdpEventLoop> MakeUringOldest(const LoopOptions& o) {
  return MakeUringWith(o, {.defer_taskrun = false, .coop_taskrun = false, .send_to = false});
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

const Backend kBackends[] = {{"epoll", MakeEpoll},
                             {"io_uring", MakeUring},
                             {"io_uring, cooperative task work, sendmsg", MakeUringCooperative},
                             {"io_uring, task work by interrupt, sendmsg", MakeUringOldest}};

// Whether the running kernel is at least major.minor (uname's release, "6.18.44-...").
bool KernelAtLeast(int major, int minor) {
  utsname name{};
  int have_major = 0;
  int have_minor = 0;
  if (uname(&name) != 0 || std::sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2) {
    return false;
  }
  return have_major > major || (have_major == major && have_minor >= minor);
}

TEST_CASE("io_uring uses deferred task work and sends with the address from Linux 6.1" *
          reef::testing::SkipUnless(KernelAtLeast(6, 1), "needs Linux 6.1 or later")) {
  absl::StatusOr<IoUringChoices> probe = ProbeIoUring();
  REQUIRE_MESSAGE(probe.ok(), probe.status().ToString());
  CHECK(*probe == IoUringChoices{});  // all of them
  std::unique_ptr<UdpEventLoop> loop = MakeUring({});
  REQUIRE(loop != nullptr);
  CHECK(loop->Describe() == "io_uring (deferred task work, send with address)");
  CHECK(MakeEpoll({})->Describe() == "epoll");
}

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
    // io_uring with 3 send slots: a round of more replies hands them to the kernel early.
    for (size_t slots : {size_t{256}, size_t{3}}) {
      const std::string backend_name = backend.name;
      CAPTURE(backend_name);
      CAPTURE(slots);
      Harness h(backend, "127.0.0.1:0", {.batch = 8, .max_sends_in_flight = slots});
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
      CHECK(stats.received.load() == kBursts * kPerBurst);
      CHECK(stats.sent.load() == kBursts * kPerBurst);
      CHECK(stats.send_dropped.load() == 0);
    }
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

namespace reef::udp {
namespace {

// Runs a loop over `fds` on its own thread; the test can wait, bounded, for it to return
// by itself, or stop it.
class LoopThread {
 public:
  LoopThread(UdpEventLoop& loop, std::vector<int> fds, DatagramHandler& handler, int stop_fd = -2)
      : fds_(std::move(fds)) {
    own_stop_ = stop_fd == -2;
    stop_fd_ = own_stop_ ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : stop_fd;
    thread_ = std::thread([this, &loop, &handler] {
      status_ = loop.Run(fds_, stop_fd_, handler);
      done_.store(true);
    });
  }
  ~LoopThread() {
    Stop();
    if (own_stop_) close(stop_fd_);
  }

  // Whether Run() returned by itself within `seconds`.
  bool ReturnsWithin(int seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done_.load();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    if (!done_.load() && own_stop_) {
      const uint64_t one = 1;
      CHECK(write(stop_fd_, &one, sizeof(one)) == sizeof(one));
    }
    thread_.join();
  }

  const absl::Status& status() const { return status_; }

 private:
  std::vector<int> fds_;
  bool own_stop_ = false;
  int stop_fd_ = -1;
  std::atomic<bool> done_{false};
  absl::Status status_ = absl::UnknownError("not run");
  std::thread thread_;
};

TEST_CASE("the io_uring probe runs every operation the loop uses, over AF_UNIX sockets") {
  absl::StatusOr<IoUringChoices> probe = ProbeIoUring();
  REQUIRE_MESSAGE(probe.ok(), probe.status().ToString());
  // Asked for less, it gives no more.
  absl::StatusOr<IoUringChoices> oldest =
      ProbeIoUring({.defer_taskrun = false, .coop_taskrun = false, .send_to = false});
  REQUIRE_MESSAGE(oldest.ok(), oldest.status().ToString());
  CHECK(*oldest == IoUringChoices{.defer_taskrun = false, .coop_taskrun = false, .send_to = false});
  CHECK(IoUringChoicesText(*oldest) == "task work by interrupt, sendmsg");
  CHECK(IoUringChoicesText({.defer_taskrun = false, .coop_taskrun = true, .send_to = true}) ==
        "cooperative task work, send with address");
}

TEST_CASE("receive errors: only \"try again\" errors are retried") {
  for (int error : {ENOBUFS, ENOMEM, EAGAIN, EWOULDBLOCK, EINTR, ECONNREFUSED, EHOSTUNREACH,
                    ENETUNREACH, EHOSTDOWN}) {
    CAPTURE(error);
    CHECK(ReceiveErrorActionFor(error) == ReceiveErrorAction::kRetry);
  }
  for (int error : {EBADF, ENOTSOCK, EINVAL, EFAULT, EOPNOTSUPP, ECANCELED, EPERM, EACCES, ENOTCONN,
                    EIO, 0, 4095}) {
    CAPTURE(error);
    CHECK(ReceiveErrorActionFor(error) == ReceiveErrorAction::kFail);
  }
}

TEST_CASE("a \"try again\" error is retried 64 times in a row, not 65; a datagram resets it") {
  ReceiveRetries retries;
  for (size_t i = 0; i < kMaxReceiveRetriesInARow; ++i) CHECK(retries.ShouldRetry(ENOBUFS));
  retries.OnDatagram();
  for (size_t i = 0; i < kMaxReceiveRetriesInARow; ++i) CHECK(retries.ShouldRetry(ENOMEM));
  CHECK_FALSE(retries.ShouldRetry(ENOMEM));
  CHECK(ReceiveRetries::Failure(ENOMEM, "recvmmsg").message() ==
        "recvmmsg failed 65 times in a row with no datagram between: Cannot allocate memory");
  ReceiveRetries fresh;
  CHECK_FALSE(fresh.ShouldRetry(EBADF));
  CHECK(ReceiveRetries::Failure(EBADF, "recvmmsg").message() == "recvmmsg: Bad file descriptor");
}

// A real receive failure the loop cannot serve past: the "socket" is a pipe, so every
// receive fails with ENOTSOCK. Each backend must end Run() with that error by itself (the
// supervisor then stops reef), not re-arm forever at 100% CPU answering nothing.
TEST_CASE("a receive error that is not \"try again\" ends Run with the error") {
  for (const Backend& backend : kBackends) {
    const std::string backend_name = backend.name;
    CAPTURE(backend_name);
    std::unique_ptr<UdpEventLoop> loop = backend.make({});
    REQUIRE(loop != nullptr);
    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
    REQUIRE(write(pipe_fds[1], "x", 1) == 1);  // readable, so epoll looks at it too
    EchoHandler handler;
    {
      LoopThread running(*loop, {pipe_fds[0]}, handler);
      CHECK(running.ReturnsWithin(10));
      running.Stop();
      CHECK_FALSE(running.status().ok());
      CHECK_MESSAGE(running.status().message().find("Socket operation on non-socket") !=
                        absl::string_view::npos,
                    running.status().ToString());
    }
    CHECK(handler.handled.load() == 0);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
  }
}

TEST_CASE("io_uring: a broken stop descriptor is an error, not a request to stop") {
  std::unique_ptr<UdpEventLoop> loop = MakeUring({});
  REQUIRE(loop != nullptr);
  auto listen = SocketAddress::Parse("127.0.0.1:0");
  REQUIRE(listen.ok());
  auto opened = OpenUdpSocket(*listen, {});
  REQUIRE(opened.ok());
  EchoHandler handler;
  {
    LoopThread running(*loop, {opened->fd}, handler, /*stop_fd=*/-1);
    CHECK(running.ReturnsWithin(10));
    running.Stop();
    CHECK_MESSAGE(running.status().code() == absl::StatusCode::kFailedPrecondition,  // EBADF
                  running.status().ToString());
    CHECK(running.status().message().find("stop eventfd") != absl::string_view::npos);
  }
  close(opened->fd);
}

// Blocks in its first datagram until released, so the kernel fills every buffer of the
// io_uring ring and the multishot receive ends with ENOBUFS.
class BlockingHandler final : public DatagramHandler {
 public:
  size_t Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                std::span<uint8_t> reply) override {
    if (handled.fetch_add(1) == 0) {
      for (int i = 0; i < 5000 && !released.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return echo.Handle(from, request, reply);
  }
  EchoHandler echo;
  std::atomic<int> handled{0};
  std::atomic<bool> released{false};
};

TEST_CASE("io_uring: when every buffer is in use the receive is re-armed, nothing is lost") {
  // 64 buffers (batch 8); 200 datagrams arrive while the handler holds the first.
  BlockingHandler handler;
  std::unique_ptr<UdpEventLoop> loop = MakeUring({.batch = 8});
  REQUIRE(loop != nullptr);
  auto listen = SocketAddress::Parse("127.0.0.1:0");
  REQUIRE(listen.ok());
  SocketOptions socket_options;
  socket_options.receive_buffer_bytes = 4 << 20;
  auto opened = OpenUdpSocket(*listen, socket_options);
  REQUIRE(opened.ok());
  auto bound = BoundAddress(opened->fd);
  REQUIRE(bound.ok());
  const int client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(connect(client, bound->sockaddr_ptr(), bound->sockaddr_len()) == 0);
  const int client_buffer = 4 << 20;
  setsockopt(client, SOL_SOCKET, SO_RCVBUF, &client_buffer, sizeof(client_buffer));
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  constexpr int kDatagrams = 200;
  {
    LoopThread running(*loop, {opened->fd}, handler);
    for (int i = 0; i < kDatagrams; ++i) {
      const std::string text = "d" + std::to_string(i);
      REQUIRE(send(client, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    handler.released.store(true);
    int answered = 0;
    char buf[64];
    for (int i = 0; i < kDatagrams; ++i) {
      ssize_t n;
      do {
        n = recv(client, buf, sizeof(buf), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) break;
      ++answered;
    }
    running.Stop();
    CHECK(running.status().ok());
    CHECK(answered == kDatagrams);
  }
  CHECK(handler.handled.load() == kDatagrams);
  CHECK(loop->stats().received.load() == kDatagrams);
  CHECK(loop->stats().receive_retries.load() >= 1);
  close(client);
  close(opened->fd);
}

}  // namespace
}  // namespace reef::udp
