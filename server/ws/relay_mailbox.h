// RelayMailboxes: how a WebTorrent message reaches a connection on another socket worker.
//
// An offer or an answer is relayed to the connection that holds the receiving peer,
// which may live on any HTTP socket worker (the kernel spreads accepted connections over
// them with SO_REUSEPORT). The sending worker never touches another worker's connections:
// it puts the whole server frame, addressed by ConnectionHandle, into a mailbox that only
// the receiving worker reads, and wakes that worker through its eventfd.
//
// One single-producer single-consumer byte ring per ordered pair of workers (from, to):
//   - no locks: the producer owns the ring's tail, the consumer its head (acquire/release
//     atomics), so no worker ever waits for another, not even for a lock held briefly;
//   - bounded: each ring holds ring_bytes; a frame that does not fit is dropped and the
//     sender counts it (the receiving worker is slower than its senders, and queueing
//     more would only make the offer arrive after the browser gave up on it);
//   - in order per pair, which is all WebRTC signalling needs (an offer and its answer
//     travel in opposite directions, between the same two connections);
//   - one wake-up per batch: Push marks the target, WakePending writes each marked
//     target's eventfd once after the sender's event-loop iteration, and Drain clears the
//     eventfd before reading the rings, so a frame pushed during a drain wakes it again.
// A frame for a connection that closed before it was drained is dropped by the receiver
// (its handle's generation no longer matches).
//
// Thread rules: Push and WakePending are called only by worker `from`; Drain only by
// worker `to`; wake_fd is read-only after Create.
#ifndef REEF_SERVER_WS_RELAY_MAILBOX_H_
#define REEF_SERVER_WS_RELAY_MAILBOX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "server/ws/webtorrent_swarm.h"

namespace reef::ws {

// Bytes of ring per ordered pair of workers ([ws] relay_queue_bytes). 1 MiB holds ~600
// relayed offers of ~1.6 KiB: several batches of a busy worker's announces.
inline constexpr size_t kDefaultRelayQueueBytes = 1024 * 1024;
inline constexpr size_t kMaxRelayQueueBytes = size_t{1} << 30;
inline constexpr size_t kMaxRelayWorkers = 1024;

// One ring: bytes in, the same bytes out, in order. Records are 8-byte aligned:
// a 16-byte header (length, handle) and the frame.
class SpscFrameRing {
 public:
  // `capacity` is a power of two, at least 64.
  explicit SpscFrameRing(size_t capacity);
  SpscFrameRing(const SpscFrameRing&) = delete;
  SpscFrameRing& operator=(const SpscFrameRing&) = delete;

  // Producer. False (nothing written) if the frame does not fit now.
  bool TryPush(const ConnectionHandle& to, std::span<const uint8_t> frame);
  // Consumer. Calls `fn` for each frame in order; returns how many. The span is valid
  // during the call only.
  size_t Drain(absl::FunctionRef<void(const ConnectionHandle&, std::span<const uint8_t>)> fn);

  size_t capacity() const { return capacity_; }
  // The largest frame that fits in an empty ring.
  size_t max_frame() const;

 private:
  const size_t capacity_;
  std::unique_ptr<uint8_t[]> data_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the consumer
  uint64_t cached_tail_ = 0;                    // the consumer's copy
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the producer
  uint64_t cached_head_ = 0;                    // the producer's copy
};

class RelayMailboxes {
 public:
  // `workers` >= 1; each ring gets at least `ring_bytes` (rounded up to a power of two,
  // and up to twice `max_frame` + 64 so any frame the tracker makes fits).
  static absl::StatusOr<std::unique_ptr<RelayMailboxes>> Create(size_t workers,
                                                                size_t ring_bytes,
                                                                size_t max_frame);
  ~RelayMailboxes();
  RelayMailboxes(const RelayMailboxes&) = delete;
  RelayMailboxes& operator=(const RelayMailboxes&) = delete;

  size_t workers() const { return workers_; }
  size_t ring_bytes() const;

  // Worker `from` sends `frame` to `to` (to.worker != from). False if the ring is full.
  bool Push(uint16_t from, const ConnectionHandle& to, std::span<const uint8_t> frame);
  // Worker `from` wakes every worker it pushed to since its last call.
  void WakePending(uint16_t from);
  // Readable when frames may be waiting for `worker` (for its epoll set).
  int wake_fd(uint16_t worker) const { return wake_fds_[worker]; }
  // Worker `worker` takes every frame waiting for it, from every other worker.
  size_t Drain(uint16_t worker,
               absl::FunctionRef<void(const ConnectionHandle&, std::span<const uint8_t>)> fn);

 private:
  explicit RelayMailboxes(size_t workers);
  SpscFrameRing& Ring(size_t from, size_t to) { return *rings_[from * workers_ + to]; }

  const size_t workers_;
  std::vector<std::unique_ptr<SpscFrameRing>> rings_;  // [from * workers + to], null on the diagonal
  std::vector<int> wake_fds_;
  // pending_[from * workers + to]: `from` pushed to `to` since its last WakePending. Each
  // row is written by one worker only.
  std::vector<uint8_t> pending_;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_RELAY_MAILBOX_H_
