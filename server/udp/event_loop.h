// The UDP socket worker's event loop, behind one interface with two backends:
//  - epoll: epoll_wait, then recvmmsg / sendmmsg in batches;
//  - io_uring: multishot recvmsg into a provided-buffer ring, replies as send SQEs handed
//    to the kernel in one io_uring_enter per round, with no completion for a reply sent.
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
#include <string>

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

// The io_uring loop uses the newest way of doing each thing that the start-up probe finds
// working on this kernel, falling back to the next one otherwise. A test turns a choice
// off to run its fallback.
struct IoUringChoices {
  // IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (6.1): the kernel does the receive work
  // only when the worker asks for completions, a batch at a time, never by interrupting it.
  // Only one thread may then use the ring: the worker enables it when it starts.
  bool defer_taskrun = true;
  // Else IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG (5.19): that work waits for the worker's
  // next system call instead of interrupting it (an IPI per arrival).
  bool coop_taskrun = true;
  // IORING_OP_SEND with the peer's address (6.1), so the kernel copies no msghdr per reply;
  // else IORING_OP_SENDMSG.
  bool send_to = true;
  friend bool operator==(const IoUringChoices&, const IoUringChoices&) = default;
};

// "deferred task work, send with address", or what the fallbacks are.
std::string IoUringChoicesText(const IoUringChoices& choices);

struct LoopOptions {
  // Datagrams longer than this are dropped (and counted) without reaching the handler.
  size_t max_datagram_bytes = 2048;
  // The largest reply the handler may write.
  size_t max_reply_bytes = 2048;
  // Datagrams taken per recvmmsg call, and receive buffers in the io_uring ring.
  size_t batch = 64;
  // io_uring: replies written in one round before they are handed to the kernel together
  // (then their buffers are free again); one more submits the round's replies early.
  size_t max_sends_in_flight = 256;
  // io_uring: what the loop may use, if this kernel has it.
  IoUringChoices io_uring = {};
};

// Counters a loop keeps; read from other threads for metrics.
struct LoopStats {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> oversized{0};     // longer than max_datagram_bytes: dropped
  std::atomic<uint64_t> send_errors{0};   // the kernel refused a reply
  std::atomic<uint64_t> send_dropped{0};  // the kernel would not take a reply for now
  std::atomic<uint64_t> receive_retries{0};  // a receive failed with a "try again" error
};

// What a loop does when receiving on a socket fails with `error` (an errno value):
// kRetry for errors that mean "try again" (no buffers or memory for now, a signal,
// nothing to read after all, an ICMP error about one peer); kFail for the rest (a bad
// descriptor, not a socket, an operation the kernel refuses, ...), which end Run() with
// the error so the supervisor stops reef, instead of a loop that spins and answers nothing.
enum class ReceiveErrorAction { kRetry, kFail };
ReceiveErrorAction ReceiveErrorActionFor(int error);

// A "try again" error that comes back this many times in a row on one socket, with no
// datagram between, is a failure too: a condition that never clears must not spin.
inline constexpr size_t kMaxReceiveRetriesInARow = 64;

// Both loops' bookkeeping of receive errors on one socket.
class ReceiveRetries {
 public:
  // A datagram arrived: the run of errors is over.
  void OnDatagram() { in_a_row_ = 0; }
  // Whether to receive again after `error`: its action is kRetry and it is not the
  // (kMaxReceiveRetriesInARow + 1)th in a row.
  bool ShouldRetry(int error) {
    if (ReceiveErrorActionFor(error) != ReceiveErrorAction::kRetry) return false;
    return ++in_a_row_ <= kMaxReceiveRetriesInARow;
  }
  // The error a loop returns once ShouldRetry(error) said no; `what` names the call.
  static absl::Status Failure(int error, const std::string& what);

 private:
  size_t in_a_row_ = 0;
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
  // The backend and how it works here: "epoll", "io_uring (deferred task work, ...)".
  virtual std::string Describe() const = 0;

 protected:
  LoopStats stats_;
};

std::unique_ptr<UdpEventLoop> MakeEpollLoop(const LoopOptions& options);
// Makes the ring, registers its buffers and restricts it to the operations the loop uses,
// here, on the calling thread (so nothing of the kind is needed once reef serves; see
// io_uring_loop.cc); with deferred task work, Run() enables the ring on its own thread.
// Fails (with the kernel's reason) if ProbeIoUring() does; callers must not fall back
// silently to epoll.
absl::StatusOr<std::unique_ptr<UdpEventLoop>> MakeIoUringLoop(const LoopOptions& options);

// Checks that this kernel gives the io_uring loop every feature it uses, and which of
// `wanted` it can have: a ring set up as the loop's (provided-buffer ring, restrictions,
// no dropped completions, the setup flags), then one multishot recvmsg, send (with the
// peer's address, or sendmsg) whose success posts no completion, and poll for real, over
// AF_UNIX datagram sockets and an eventfd. Returns the choices that worked.
absl::StatusOr<IoUringChoices> ProbeIoUring(const IoUringChoices& wanted = {});

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_EVENT_LOOP_H_
