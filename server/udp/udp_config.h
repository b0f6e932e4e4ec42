// [udp]: the UDP tracker protocol (BEP 15): sockets, workers, connection ids, sizes.
#ifndef REEF_SERVER_UDP_UDP_CONFIG_H_
#define REEF_SERVER_UDP_UDP_CONFIG_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/udp/messages.h"
#include "server/common/config_section.h"
#include "server/common/socket_address.h"

namespace reef {

enum class UdpBackend { kEpoll, kIoUring };
std::string_view UdpBackendName(UdpBackend backend);  // "epoll", "io_uring"

// Which worker's socket the kernel hands a datagram to.
enum class UdpSteering {
  kHash,  // by a hash of the flow (addresses and ports): the kernel's default
  kCpu,   // to the worker pinned to the CPU that received it (reuseport cBPF)
};
std::string_view UdpSteeringName(UdpSteering steering);  // "hash", "cpu"

// Limits on [udp] values, named so that tests can probe just past them.
inline constexpr int kMaxSocketWorkers = 256;
inline constexpr size_t kMaxListenAddresses = 64;
inline constexpr int kMaxReceiveBufferSize = 1 << 30;
inline constexpr size_t kMinConnectionIdSecretLength = 32;
inline constexpr size_t kMaxConnectionIdSecretLength = 1024;
// udp.max_datagram_size bounds the requests reef reads and the replies it sends. At
// least an announce request and the longest error reply; at most the longest request the
// BEP 15 parser takes (udp::kMaxRequestSize, 1500), since a longer one is refused anyway.
inline constexpr int kMinDatagramSize = static_cast<int>(
    std::max(udp::kAnnounceRequestSize, udp::kErrorResponseHeaderSize + udp::kMaxErrorMessageSize));
inline constexpr int kMaxDatagramSize = static_cast<int>(udp::kMaxRequestSize);

// How many info hashes a scrape of `datagram_size` bytes can carry, request and reply
// both within that size (BEP 15: 16 + 20 per hash asked, 8 + 12 per hash answered).
constexpr int MaxScrapeHashesIn(int datagram_size) {
  const size_t size = static_cast<size_t>(datagram_size);
  return static_cast<int>(
      std::min((size - udp::kScrapeRequestHeaderSize) / kInfoHashSize,
               (size - udp::kScrapeResponseHeaderSize) / udp::kTorrentStatsSize));
}
// How many peers an announce reply of `datagram_size` bytes can carry, all of them IPv6
// (BEP 15: 20 + 18 per peer), so the bound holds for either family.
constexpr int MaxResponsePeersIn(int datagram_size) {
  return static_cast<int>((static_cast<size_t>(datagram_size) - udp::kAnnounceResponseHeaderSize) /
                          udp::kPeerV6Size);
}

struct UdpConfig {
  bool enabled = true;
  // Checked: each parses, none repeats, at most kMaxListenAddresses. Non-empty when
  // enabled.
  std::vector<SocketAddress> listen = DefaultListen();
  int socket_workers = 1;
  UdpBackend backend = UdpBackend::kEpoll;
  int receive_buffer_size = 4 << 20;  // bytes; 0: the kernel's default
  // Empty: a random key at each start. Else at least kMinConnectionIdSecretLength bytes.
  std::string connection_id_secret;
  // false: silence for a forged or expired connection id; true: a BEP 15 error reply.
  bool error_on_bad_connection_id = false;
  // From kMinDatagramSize to kMaxDatagramSize; holds a scrape of swarm.max_scrape_hashes
  // and an announce reply of swarm.max_response_peers.
  int max_datagram_size = 1500;
  // Empty: no pinning. Else exactly socket_workers entries: worker i runs on
  // cpu_pinning[i].
  std::vector<int> cpu_pinning;
  // kCpu pins every worker (to cpu_pinning[i], or the i-th CPU reef may use when that is
  // empty), one per CPU, and sets each socket's SO_INCOMING_CPU to its worker's CPU.
  UdpSteering steering = UdpSteering::kHash;

  static std::vector<SocketAddress> DefaultListen();
  friend bool operator==(const UdpConfig&, const UdpConfig&) = default;
};

// The CPU each worker is pinned to, in worker order: cpu_pinning, or with steering = cpu
// and no cpu_pinning the first socket_workers CPUs this process may use (an error if there
// are fewer); empty for no pinning.
absl::StatusOr<std::vector<int>> UdpWorkerCpus(const UdpConfig& udp);

// Reads [swarm] too (CheckWith): the datagram must hold what the swarm limits allow.
// Checks on the machine (CheckSystem): the pinned CPUs are ones reef may use.
const config::Section<UdpConfig>& UdpSection();

}  // namespace reef

#endif  // REEF_SERVER_UDP_UDP_CONFIG_H_
