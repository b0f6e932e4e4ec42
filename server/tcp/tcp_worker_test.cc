// A TcpWorker on real loopback sockets (IPv4, IPv6, plain and TLS) with the echo handler,
// under reef's seccomp filter: requests and keep-alive, the connection limit, timeouts on
// live sockets, a client that never reads, and a prompt stop.
#include "server/tcp/tcp_worker.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/common/seccomp.h"
#include "server/common/stop_signal.h"
#include "server/tcp/listener.h"
#include "server/tcp/tcp_test_client.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"

namespace reef::tcp {
namespace {

using testing::TcpTestClient;

SocketAddress Address(const char* text) { return SocketAddress::Parse(text).value(); }

const testing::TestCertificate& Pki() {
  static const testing::TestCertificate pki = testing::MakeCaSigned();
  return pki;
}

// A worker with plain listeners on 127.0.0.1:0 and [::1]:0 and a TLS one on 127.0.0.1:0,
// running on its own thread until destroyed.
class RunningWorker {
 public:
  explicit RunningWorker(const ConnectionLimits& limits, size_t padding = 0) {
    absl::StatusOr<SslContext> ctx = MakeServerContext(Pki().certificate_pem, Pki().private_key_pem);
    REQUIRE(ctx.ok());
    tls_ = std::make_unique<TlsContextStore>(*std::move(ctx));
    std::vector<TcpListener> listeners;
    for (auto [text, tls] : {std::pair{"127.0.0.1:0", false}, std::pair{"[::1]:0", false},
                             std::pair{"127.0.0.1:0", true}}) {
      absl::StatusOr<int> fd = OpenTcpListener(Address(text));
      REQUIRE_MESSAGE(fd.ok(), fd.status());
      bound_.push_back(LocalAddress(*fd).value());
      listeners.push_back({*fd, tls});
    }
    worker_ = std::make_unique<TcpWorker>("http-test", std::move(listeners), limits,
                                          std::make_unique<testing::EchoHandler>(padding),
                                          tls_.get());
    // The worker's thread runs under reef's seccomp filter, as in the binary: a system
    // call the TCP or TLS path makes that is not on the allow-list ends the test with a
    // FATAL line naming it.
    thread_ = std::thread([this] {
      status_ = InstallSeccompFilter(SeccompScope::kCallingThread);
      if (status_.ok()) status_ = worker_->Run(stop_);
    });
  }
  ~RunningWorker() { (void)Stop(); }

  absl::Status Stop() {
    if (thread_.joinable()) {
      stop_.Request();
      thread_.join();
    }
    return status_;
  }
  const SocketAddress& v4() const { return bound_[0]; }
  const SocketAddress& v6() const { return bound_[1]; }
  const SocketAddress& tls() const { return bound_[2]; }
  TcpWorker& worker() { return *worker_; }

  // Waits (bounded) until `done()` holds.
  template <typename F>
  bool WaitFor(F done, int timeout_ms = 10'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  std::unique_ptr<TlsContextStore> tls_;
  std::vector<SocketAddress> bound_;
  StopSignal stop_;
  std::unique_ptr<TcpWorker> worker_;
  std::thread thread_;
  absl::Status status_;
};

TEST_CASE("requests over IPv4, IPv6 and TLS, keep-alive and pipelined") {
  RunningWorker w(ConnectionLimits{});
  for (const SocketAddress* address : {&w.v4(), &w.v6()}) {
    auto client = TcpTestClient::Connect(*address);
    REQUIRE(client != nullptr);
    auto r = client->Exchange("GET /one HTTP/1.1\r\n\r\n");
    REQUIRE(r.has_value());
    CHECK(r->target == "/one");
    REQUIRE(client->Send("GET /two HTTP/1.1\r\n\r\nGET /three HTTP/1.1\r\n\r\n"));
    auto both = client->Read(2);
    REQUIRE(both.has_value());
    REQUIRE(both->size() == 2);
    CHECK((*both)[1].target == "/three");
  }
  auto tls = TcpTestClient::Connect(w.tls(), true, Pki().ca_pem);
  REQUIRE(tls != nullptr);
  auto r = tls->Exchange("GET /secure HTTP/1.1\r\n\r\n");
  REQUIRE(r.has_value());
  CHECK(r->target == "/secure");
  CHECK(w.worker().connection_stats().tls_handshakes.load() == 1);
  CHECK(w.Stop().ok());
}

TEST_CASE("max_connections: one past the limit is closed at once, the open ones keep working") {
  ConnectionLimits limits;
  limits.max_connections = 3;
  RunningWorker w(limits);
  std::vector<std::unique_ptr<TcpTestClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(TcpTestClient::Connect(w.v4()));
    REQUIRE(open.back() != nullptr);
    REQUIRE(open.back()->Exchange("GET /hold HTTP/1.1\r\n\r\n").has_value());
  }
  auto extra = TcpTestClient::Connect(w.v4());
  REQUIRE(extra != nullptr);  // the kernel completed the handshake; reef closes it
  extra->Send("GET /extra HTTP/1.1\r\n\r\n");
  CHECK(extra->WaitClosed(5000));
  CHECK(extra->received().empty());
  CHECK(w.worker().stats().refused_over_limit.load() == 1);
  for (auto& c : open) CHECK(c->Exchange("GET /still HTTP/1.1\r\n\r\n").has_value());
  // Closing one makes room for a new one.
  open.pop_back();
  REQUIRE(w.WaitFor([&] { return w.worker().stats().open.load() == 2; }));
  auto next = TcpTestClient::Connect(w.v4());
  REQUIRE(next != nullptr);
  CHECK(next->Exchange("GET /next HTTP/1.1\r\n\r\n").has_value());
}

TEST_CASE("timeouts on live sockets: silent, slow and idle clients are closed") {
  ConnectionLimits limits;
  limits.head_timeout_ms = 300;
  limits.keep_alive_timeout_ms = 300;
  limits.tls_handshake_timeout_ms = 300;
  RunningWorker w(limits);
  auto silent = TcpTestClient::Connect(w.v4());
  auto idle = TcpTestClient::Connect(w.v6());
  auto no_hello = TcpTestClient::Connect(w.tls());  // plain connect to the TLS port
  REQUIRE(silent != nullptr);
  REQUIRE(idle != nullptr);
  REQUIRE(no_hello != nullptr);
  REQUIRE(idle->Exchange("GET /then-idle HTTP/1.1\r\n\r\n").has_value());
  CHECK(silent->WaitClosed(10'000));
  CHECK(idle->WaitClosed(10'000));
  CHECK(no_hello->WaitClosed(10'000));
  const ConnectionStats& s = w.worker().connection_stats();
  CHECK(s.head_timeouts.load() == 1);
  CHECK(s.idle_timeouts.load() == 1);
  CHECK(s.handshake_timeouts.load() == 1);
  CHECK(w.WaitFor([&] { return w.worker().stats().open.load() == 0; }));
}

TEST_CASE("a client that pipelines and never reads is closed by the write timeout") {
  ConnectionLimits limits;
  limits.write_timeout_ms = 300;
  RunningWorker w(limits, /*padding=*/16 * 1024);
  auto client = TcpTestClient::Connect(w.v4());
  REQUIRE(client != nullptr);
  const int small = 4096;
  setsockopt(client->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  // Requests until sending blocks (the server stopped reading: backpressure), bounded.
  const std::string request = "GET /flood HTTP/1.1\r\n\r\n";
  timeval short_wait{0, 200'000};
  setsockopt(client->fd(), SOL_SOCKET, SO_SNDTIMEO, &short_wait, sizeof(short_wait));
  for (int i = 0; i < 200'000 && client->Send(request); ++i) {
  }
  CHECK(w.WaitFor([&] { return w.worker().connection_stats().write_timeouts.load() == 1; }));
  CHECK(w.WaitFor([&] { return w.worker().stats().open.load() == 0; }));
  // Another client is served meanwhile and afterwards.
  auto other = TcpTestClient::Connect(w.v4());
  REQUIRE(other != nullptr);
  CHECK(other->Exchange("GET /fine HTTP/1.1\r\n\r\n").has_value());
}

TEST_CASE("a bad request gets its answer before the close, not a reset") {
  RunningWorker w(ConnectionLimits{});
  auto client = TcpTestClient::Connect(w.v4());
  REQUIRE(client != nullptr);
  // The error, then more bytes the server will never read: lingering keeps them from
  // turning into a reset that would destroy the answer.
  REQUIRE(client->Send("DELETE /x HTTP/1.1\r\n\r\n" + std::string(100'000, 'x')));
  auto r = client->Read(1);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].status == 405);
  shutdown(client->fd(), SHUT_WR);
  CHECK(client->WaitClosed(5000));
}

TEST_CASE("stop ends Run promptly with connections open") {
  RunningWorker w(ConnectionLimits{});
  std::vector<std::unique_ptr<TcpTestClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(TcpTestClient::Connect(w.v4()));
    clients.back()->Send("GET /half");  // accepted (TCP_DEFER_ACCEPT waits for data), held
  }
  REQUIRE(w.WaitFor([&] { return w.worker().stats().open.load() == 20; }));
  const auto start = std::chrono::steady_clock::now();
  CHECK(w.Stop().ok());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  for (auto& c : clients) CHECK(c->WaitClosed(5000));
}

}  // namespace
}  // namespace reef::tcp
