#include "server/udp/udp_server_test_util.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/common/seccomp.h"
#include "server/protocol_workers.h"

namespace reef::udp::testing {

Config TestServer::LoopbackConfig(UdpBackend backend, int workers) {
  Config config;
  config.udp.listen = {*SocketAddress::Parse("127.0.0.1:0"), *SocketAddress::Parse("[::1]:0")};
  config.udp.backend = backend;
  config.udp.socket_workers = workers;
  return config;
}

TestServer::TestServer(const Config& config)
    : access_list_(std::make_shared<AccessList>(config.access_list.mode)) {
  absl::StatusOr<tracker::Shared> core = BuildTrackerCore(config.swarm, access_list_);
  REQUIRE_MESSAGE(core.ok(), core.status().ToString());
  absl::StatusOr<UdpWorkers> built = BuildUdpWorkers(config.udp, *core);
  REQUIRE_MESSAGE(built.ok(), built.status().ToString());
  bound_ = built->bound;
  loop_stats_ = built->loop_stats;
  udp_stats_ = built->udp_stats;
  // Each worker runs under the seccomp filter the reef binary installs (on its own
  // thread only, so the test's clients are not filtered).
  for (auto& worker : built->workers) supervisor_.Add(WithSeccompFilter(std::move(worker)));
  thread_ = std::thread([this] { status_ = supervisor_.Run(); });
}

TestServer::~TestServer() { (void)Stop(); }

absl::Status TestServer::Stop() {
  if (!stopped_) {
    supervisor_.RequestStop();
    thread_.join();
    stopped_ = true;
  }
  return status_;
}

uint64_t TestServer::DatagramsReceived() const {
  uint64_t total = 0;
  for (const LoopStats* stats : loop_stats_) total += stats->received.load();
  return total;
}

TestClient::TestClient(const SocketAddress& server) {
  family_ = server.family() == AF_INET6 ? IpFamily::kV6 : IpFamily::kV4;
  fd_ = socket(server.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd_ >= 0);
  REQUIRE(connect(fd_, server.sockaddr_ptr(), server.sockaddr_len()) == 0);
  const int buffer = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
}

TestClient::~TestClient() { close(fd_); }

void TestClient::SendRaw(std::span<const uint8_t> datagram) {
  ssize_t sent;
  do {
    sent = send(fd_, datagram.data(), datagram.size(), 0);
  } while (sent < 0 && errno == EINTR);
}

std::optional<std::vector<uint8_t>> TestClient::Receive(int timeout_ms) {
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  int ready;
  do {
    ready = poll(&p, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return std::nullopt;
  std::vector<uint8_t> buffer(65536);
  const ssize_t n = recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<size_t>(n));
  return buffer;
}

std::optional<Response> TestClient::Exchange(const Request& request,
                                             std::vector<uint8_t>* storage) {
  std::vector<uint8_t> out(kMaxRequestSize);
  WriteResult written = WriteRequest(request, out);
  REQUIRE(written.ok());
  SendRaw(std::span<const uint8_t>(out.data(), written.length()));
  std::optional<std::vector<uint8_t>> reply = Receive();
  if (!reply) return std::nullopt;
  *storage = std::move(*reply);
  ResponseResult parsed = ParseResponse(*storage, family_);
  if (!parsed.ok()) return std::nullopt;
  return parsed.value();
}

uint64_t TestClient::Connect() {
  std::vector<uint8_t> storage;
  std::optional<Response> reply = Exchange(ConnectRequest{.transaction_id = 77}, &storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<ConnectResponse>(*reply));
  CHECK(std::get<ConnectResponse>(*reply).transaction_id == 77);
  return std::get<ConnectResponse>(*reply).connection_id;
}

}  // namespace reef::udp::testing
