// Mailbox<T>: how one socket worker hands work to another without ever waiting for it.
//
// A bounded multi-producer, single-consumer queue (Dmitry Vyukov's bounded queue: one
// sequence number per cell, producers claim cells with a compare-and-swap, no lock) plus an
// eventfd that the consumer's epoll loop watches (TcpWorker::AddWakeSource). TryPush never
// blocks: when the queue is full it drops the message and counts it, so a slow or stuck
// consumer can cost its producers nothing but the dropped messages. The eventfd is written
// only when the consumer may be asleep (the first push after it last looked), not once per
// message.
//
// The WebTorrent relay sends a message (an offer or answer for a peer whose connection
// lives on another worker) through the receiving worker's mailbox; the receiver's loop
// drains it on its own thread, where it may touch its own connections.
#ifndef REEF_SERVER_TCP_MAILBOX_H_
#define REEF_SERVER_TCP_MAILBOX_H_

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"

namespace reef::tcp {

template <typename T>
class Mailbox {
 public:
  // Room for `capacity` messages (rounded up to a power of two, at least 2). Fails only if
  // the eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<Mailbox>> Create(size_t capacity) {
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return absl::ErrnoToStatus(errno, "eventfd for a mailbox");
    return std::unique_ptr<Mailbox>(new Mailbox(capacity, fd));
  }
  ~Mailbox() {
    // Messages still queued are destroyed with the mailbox.
    while (TryPop().has_value()) {
    }
    close(fd_);
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Readable while messages may be waiting; for the consumer's epoll set.
  int fd() const { return fd_; }
  size_t capacity() const { return mask_ + 1; }

  // Any thread. Queues `message`, or drops it (false, counted) when the mailbox is full.
  bool TryPush(T message) {
    Cell* cell;
    size_t position = enqueue_.load(std::memory_order_relaxed);
    while (true) {
      cell = &cells_[position & mask_];
      const size_t sequence = cell->sequence.load(std::memory_order_acquire);
      const intptr_t diff = static_cast<intptr_t>(sequence) - static_cast<intptr_t>(position);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          break;
        }
      } else if (diff < 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;  // full
      } else {
        position = enqueue_.load(std::memory_order_relaxed);
      }
    }
    new (&cell->storage) T(std::move(message));
    cell->sequence.store(position + 1, std::memory_order_release);
    // Wake the consumer unless a wake-up is already on its way.
    if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
      const uint64_t one = 1;
      // EAGAIN means the counter is already huge: the consumer is woken anyway.
      [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof(one));
    }
    return true;
  }

  // The consumer's thread, when fd() is readable: clears the wake-up, then calls
  // `deliver(T&&)` for up to `max` messages in order. Returns how many it delivered. If it
  // stopped at `max` with messages left, fd() stays readable.
  template <typename Deliver>
  size_t Drain(Deliver&& deliver, size_t max = SIZE_MAX) {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t read_bytes = read(fd_, &count, sizeof(count));
    // From here on a push wakes us again, so nothing pushed during the drain is missed.
    // An exchange, not a store: it reads the last producer's exchange and so sees every
    // cell published before it.
    wake_pending_.exchange(false, std::memory_order_acq_rel);
    size_t delivered = 0;
    while (delivered < max) {
      std::optional<T> message = TryPop();
      if (!message.has_value()) break;
      deliver(std::move(*message));
      ++delivered;
    }
    if (delivered == max && !Empty()) {
      wake_pending_.store(true, std::memory_order_release);
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof(one));
    }
    return delivered;
  }

  // Messages dropped because the mailbox was full.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Cell {
    std::atomic<size_t> sequence;
    alignas(T) unsigned char storage[sizeof(T)];
  };

  Mailbox(size_t capacity, int fd)
      : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
        cells_(new Cell[mask_ + 1]),
        fd_(fd) {
    for (size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  // The consumer's thread only.
  std::optional<T> TryPop() {
    Cell* cell = &cells_[dequeue_ & mask_];
    const size_t sequence = cell->sequence.load(std::memory_order_acquire);
    if (sequence != dequeue_ + 1) return std::nullopt;  // empty (or a push in progress)
    T* stored = std::launder(reinterpret_cast<T*>(&cell->storage));
    std::optional<T> message(std::move(*stored));
    stored->~T();
    cell->sequence.store(dequeue_ + mask_ + 1, std::memory_order_release);
    ++dequeue_;
    return message;
  }
  bool Empty() const {
    return cells_[dequeue_ & mask_].sequence.load(std::memory_order_acquire) != dequeue_ + 1;
  }

  const size_t mask_;
  const std::unique_ptr<Cell[]> cells_;
  const int fd_;
  alignas(64) std::atomic<size_t> enqueue_{0};
  alignas(64) size_t dequeue_ = 0;  // consumer only
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_MAILBOX_H_
