// The metrics worker over loopback: GET /metrics, wrong paths and methods, bad and
// oversized requests, the connection limit and the request timeout. Every socket has a
// receive timeout, so no test can hang.
#include "server/metrics/metrics_server.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"

namespace reef::metrics {
namespace {

constexpr FamilyInfo kTorrents = {
    .name = "reef_torrents", .help = "Torrents.", .type = MetricType::kGauge};

// A server on 127.0.0.1:0 run by a thread, stopped and joined at the end of the scope.
class Running {
 public:
  explicit Running(MetricsServerOptions options = {}) {
    options.listen = {*SocketAddress::Parse("127.0.0.1:0")};
    registry_.AddCollector([this](Exposition& out) {
      out.Add(kTorrents, {}, scrapes_.fetch_add(1) + 1);
    });
    auto server = MetricsServer::Bind(options, registry_);
    REQUIRE_MESSAGE(server.ok(), server.status());
    server_ = *std::move(server);
    thread_ = std::thread([this] { status_ = server_->Run(stop_); });
  }
  ~Running() {
    stop_.Request();
    thread_.join();
    CHECK(status_.ok());
  }
  uint16_t port() const { return server_->bound()[0].port(); }
  uint64_t scrapes() const { return scrapes_.load(); }

 private:
  Registry registry_;
  std::atomic<uint64_t> scrapes_{0};
  std::unique_ptr<MetricsServer> server_;
  StopSignal stop_;
  std::thread thread_;
  absl::Status status_;
};

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{.tv_sec = 20, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  return fd;
}

void SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close first (an oversized request)
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes (or the receive timeout).
std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(uint16_t port, std::string_view request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  std::string response = ReadAll(fd);
  close(fd);
  return response;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}
bool Has(const std::string& s, std::string_view needle) {
  return s.find(needle) != std::string::npos;
}

TEST_CASE("GET /metrics answers the text format and closes") {
  Running server;
  std::string response = Exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(StartsWith(response, "HTTP/1.1 200 OK\r\n"));
  CHECK(Has(response, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  CHECK(Has(response, "Connection: close\r\n"));
  const std::string body = "# HELP reef_torrents Torrents.\n# TYPE reef_torrents gauge\nreef_torrents 1\n";
  CHECK(Has(response, "Content-Length: " + std::to_string(body.size()) + "\r\n"));
  CHECK(response.size() > body.size());
  CHECK(response.substr(response.size() - body.size() - 4) == "\r\n\r\n" + body);
  // Each scrape collects afresh.
  CHECK(Has(Exchange(server.port(), "GET /metrics HTTP/1.0\r\n\r\n"), "reef_torrents 2\n"));
  // A query string does not change the path.
  CHECK(StartsWith(Exchange(server.port(), "GET /metrics?x=1 HTTP/1.1\r\n\r\n"),
                   "HTTP/1.1 200 OK"));
}

TEST_CASE("a request sent one byte at a time is answered") {
  Running server;
  const int fd = Connect(server.port());
  for (char c : std::string_view("GET /metrics HTTP/1.1\r\n\r\n")) {
    SendAll(fd, std::string_view(&c, 1));
    usleep(1000);
  }
  CHECK(StartsWith(ReadAll(fd), "HTTP/1.1 200 OK"));
  close(fd);
}

TEST_CASE("another path is 404, another method 405, a malformed head 400, too big 431") {
  Running server;
  std::string not_found = Exchange(server.port(), "GET /stats HTTP/1.1\r\n\r\n");
  CHECK(StartsWith(not_found, "HTTP/1.1 404 Not Found\r\n"));
  CHECK(Has(not_found, "metrics are at /metrics"));
  std::string post = Exchange(server.port(), "POST /metrics HTTP/1.1\r\n\r\n");
  CHECK(StartsWith(post, "HTTP/1.1 405 "));
  CHECK(Has(post, "Allow: GET\r\n"));
  CHECK(StartsWith(Exchange(server.port(), "\x01\x02garbage\r\n\r\n"), "HTTP/1.1 400 "));
  const std::string header = "X: " + std::string(3000, 'a') + "\r\n";
  std::string huge = "GET /metrics HTTP/1.1\r\n" + header + header + header + "\r\n";
  REQUIRE(huge.size() > kMaxRequestBytes);
  CHECK(StartsWith(Exchange(server.port(), huge), "HTTP/1.1 431 "));
  // A head of exactly kMaxRequestBytes is still served.
  const std::string line_start = "GET /metrics?";
  const std::string line_end = " HTTP/1.1\r\n\r\n";
  std::string fits = line_start +
                     std::string(kMaxRequestBytes - line_start.size() - line_end.size(), 'a') +
                     line_end;
  REQUIRE(fits.size() == kMaxRequestBytes);
  CHECK(StartsWith(Exchange(server.port(), fits), "HTTP/1.1 200 OK"));
  CHECK(server.scrapes() == 1);  // only the good requests collected
}

TEST_CASE("over max_connections, new connections are closed at once; old ones are served") {
  MetricsServerOptions options;
  options.max_connections = 2;
  Running server(options);
  const int first = Connect(server.port());
  const int second = Connect(server.port());
  SendAll(first, "GET ");  // both held open, half-sent
  SendAll(second, "GET ");
  usleep(200 * 1000);  // let the server accept both (generous under TSan)
  // The third is accepted and closed without an answer.
  CHECK(Exchange(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").empty());
  SendAll(first, "/metrics HTTP/1.1\r\n\r\n");
  CHECK(StartsWith(ReadAll(first), "HTTP/1.1 200 OK"));
  close(first);
  close(second);
}

TEST_CASE("a connection that does not finish its request within request_timeout is closed") {
  MetricsServerOptions options;
  options.request_timeout = absl::Milliseconds(300);
  Running server(options);
  const int idle = Connect(server.port());
  SendAll(idle, "GET /metr");
  // The server closes it (at the first tick past the deadline): recv sees the end.
  CHECK(ReadAll(idle).empty());
  close(idle);
  // And it still serves.
  CHECK(StartsWith(Exchange(server.port(), "GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 200"));
}

TEST_CASE("bad options and a taken address fail at Bind") {
  Registry registry;
  MetricsServerOptions options;
  CHECK_FALSE(MetricsServer::Bind(options, registry).ok());  // no address
  options.listen = {*SocketAddress::Parse("127.0.0.1:0"), *SocketAddress::Parse("[::1]:0")};
  auto both = MetricsServer::Bind(options, registry);
  REQUIRE(both.ok());
  REQUIRE((*both)->bound().size() == 2);
  CHECK((*both)->bound()[1].family() == AF_INET6);
  CHECK((*both)->bound()[1].port() != 0);
  options.path = "metrics";
  CHECK_FALSE(MetricsServer::Bind(options, registry).ok());
  options.path = "/metrics";
  options.max_connections = 0;
  CHECK_FALSE(MetricsServer::Bind(options, registry).ok());
  options.max_connections = 1;
  auto first = MetricsServer::Bind(options, registry);
  REQUIRE(first.ok());
  options.listen = (*first)->bound();
  auto second = MetricsServer::Bind(options, registry);
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);  // EADDRINUSE
  CHECK(absl::StrContains(second.status().message(), "bind"));
}

}  // namespace
}  // namespace reef::metrics
