// The UDP socket worker's event loop, behind one interface with two backends:
//  - epoll: epoll_wait, then recvmmsg / sendmmsg in batches;
//  - io_uring: multishot recvmsg into a provided-buffer ring, replies by sendmsg SQEs.
// Both call a DatagramHandler for each datagram and send what it writes back to the
// sender from the socket the datagram arrived on.
#ifndef REEF_SERVER_UDP_EVENT_LOOP_H_
#define REEF_SERVER_UDP_EVENT_LOOP_H_

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace reef::udp {

class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // Handles one datagram from `from`. Writes the reply into `reply` and returns its
  // length, or returns 0 to send nothing.
  virtual size_t Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                        std::span<uint8_t> reply) = 0;
};

struct LoopOptions {
  // Datagrams longer than this are dropped (and counted) without reaching the handler.
  size_t max_datagram_bytes = 2048;
  // The largest reply the handler may write.
  size_t max_reply_bytes = 2048;
  // Datagrams taken per recvmmsg call, and receive buffers in the io_uring ring.
  size_t batch = 64;
  // io_uring: how many replies may be in flight at once; more are dropped and counted.
  size_t max_sends_in_flight = 256;
};

// Counters a loop keeps; read from other threads for metrics.
struct LoopStats {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> oversized{0};     // longer than max_datagram_bytes: dropped
  std::atomic<uint64_t> send_errors{0};   // the kernel refused a reply
  std::atomic<uint64_t> send_dropped{0};  // no room to queue a reply
};

class UdpEventLoop {
 public:
  virtual ~UdpEventLoop() = default;
  // Serves `sockets` (non-blocking UDP sockets) until `stop_fd` (an eventfd) becomes
  // readable, then returns OK; returns an error only for a failure the loop cannot
  // serve past (datagram-level errors are counted, never fatal).
  virtual absl::Status Run(std::span<const int> sockets, int stop_fd,
                           DatagramHandler& handler) = 0;
  const LoopStats& stats() const { return stats_; }

 protected:
  LoopStats stats_;
};

std::unique_ptr<UdpEventLoop> MakeEpollLoop(const LoopOptions& options);
// Fails (with the kernel's reason) if io_uring or a feature it needs is refused here;
// callers must not fall back silently.
absl::StatusOr<std::unique_ptr<UdpEventLoop>> MakeIoUringLoop(const LoopOptions& options);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_EVENT_LOOP_H_
