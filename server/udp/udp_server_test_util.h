// Test helpers for the UDP server: an in-process reef UDP tracker on loopback, and a
// blocking BEP 15 client built from protocol/udp.
#ifndef REEF_SERVER_UDP_UDP_SERVER_TEST_UTIL_H_
#define REEF_SERVER_UDP_UDP_SERVER_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "protocol/udp/messages.h"
#include "server/config.h"
#include "server/common/supervisor.h"
#include "server/udp/udp_server.h"

namespace reef::udp::testing {

// reef's UDP workers under a Supervisor on a background thread, listening on
// 127.0.0.1:0 and [::1]:0 (unless the config says otherwise).
class TestServer {
 public:
  static Config LoopbackConfig(UdpBackend backend, int workers);
  explicit TestServer(const Config& config);
  ~TestServer();  // stops and joins

  const SocketAddress& v4() const { return bound_.at(0); }
  const SocketAddress& v6() const { return bound_.at(1); }
  // Sum over workers.
  uint64_t DatagramsReceived() const;
  const std::vector<const UdpStats*>& udp_stats() const { return udp_stats_; }
  // Worker i's loop counters.
  const std::vector<const LoopStats*>& loop_stats() const { return loop_stats_; }
  // Stops the server and returns what Supervisor::Run returned.
  absl::Status Stop();

 private:
  std::shared_ptr<AccessList> access_list_;
  std::vector<SocketAddress> bound_;
  std::vector<const LoopStats*> loop_stats_;
  std::vector<const UdpStats*> udp_stats_;
  Supervisor supervisor_;
  std::thread thread_;
  absl::Status status_;
  bool stopped_ = false;
};

// A BEP 15 client over one connected UDP socket, with a receive timeout.
class TestClient {
 public:
  explicit TestClient(const SocketAddress& server);
  ~TestClient();
  IpFamily family() const { return family_; }

  void SendRaw(std::span<const uint8_t> datagram);
  // The next datagram, or nullopt after the timeout.
  std::optional<std::vector<uint8_t>> Receive(int timeout_ms = 10000);
  // Sends `request` and parses the reply (nullopt: no reply, or unparsable). The
  // response's views point into `*storage`.
  std::optional<Response> Exchange(const Request& request, std::vector<uint8_t>* storage);
  // Connects and returns the connection id (fails the test if there is none).
  uint64_t Connect();

 private:
  int fd_ = -1;
  IpFamily family_ = IpFamily::kV4;
};

}  // namespace reef::udp::testing

#endif  // REEF_SERVER_UDP_UDP_SERVER_TEST_UTIL_H_
