#include "server/ws/relay_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace reef::ws {
namespace {

constexpr size_t kRecordHeader = 16;
constexpr size_t kAlign = 8;
// A header whose length is this says "the rest of this lap is padding".
constexpr uint32_t kWrapMarker = 0xFFFFFFFF;

size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
uint32_t GetU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

SpscFrameRing::SpscFrameRing(size_t capacity)
    // Not zeroed: a record is always written before it is read.
    : capacity_(capacity), data_(new uint8_t[capacity]) {}

size_t SpscFrameRing::max_frame() const { return capacity_ / 2 - kRecordHeader; }

bool SpscFrameRing::TryPush(const ConnectionHandle& to, std::span<const uint8_t> frame) {
  if (frame.size() > max_frame()) return false;
  const size_t record = kRecordHeader + AlignUp(frame.size());
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const size_t offset = static_cast<size_t>(tail & (capacity_ - 1));
  const size_t to_end = capacity_ - offset;
  // A record never wraps: if it does not fit before the end, the rest of the lap is
  // padding and the record starts at offset 0.
  const size_t needed = record <= to_end ? record : to_end + record;
  if (tail + needed - cached_head_ > capacity_) {
    cached_head_ = head_.load(std::memory_order_acquire);
    if (tail + needed - cached_head_ > capacity_) return false;
  }
  uint8_t* p = data_.get() + offset;
  if (record > to_end) {
    PutU32(p, kWrapMarker);
    p = data_.get();
  }
  PutU32(p, static_cast<uint32_t>(frame.size()));
  PutU32(p + 4, to.worker);
  PutU32(p + 8, to.slot);
  PutU32(p + 12, to.generation);
  if (!frame.empty()) std::memcpy(p + kRecordHeader, frame.data(), frame.size());
  tail_.store(tail + needed, std::memory_order_release);
  return true;
}

size_t SpscFrameRing::Drain(
    absl::FunctionRef<void(const ConnectionHandle&, std::span<const uint8_t>)> fn) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  cached_tail_ = tail_.load(std::memory_order_acquire);
  size_t frames = 0;
  while (head != cached_tail_) {
    const size_t offset = static_cast<size_t>(head & (capacity_ - 1));
    const uint8_t* p = data_.get() + offset;
    uint32_t length = GetU32(p);
    if (length == kWrapMarker) {
      head += capacity_ - offset;
      continue;
    }
    ConnectionHandle to;
    to.worker = static_cast<uint16_t>(GetU32(p + 4));
    to.slot = GetU32(p + 8);
    to.generation = GetU32(p + 12);
    fn(to, std::span<const uint8_t>(p + kRecordHeader, length));
    head += kRecordHeader + AlignUp(length);
    ++frames;
    // Give the space back as we go, so a producer can refill during a long drain.
    head_.store(head, std::memory_order_release);
  }
  head_.store(head, std::memory_order_release);
  return frames;
}

RelayMailboxes::RelayMailboxes(size_t workers)
    : workers_(workers),
      rings_(workers * workers),
      wake_fds_(workers, -1),
      pending_(workers * workers, 0) {}

RelayMailboxes::~RelayMailboxes() {
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<std::unique_ptr<RelayMailboxes>> RelayMailboxes::Create(size_t workers,
                                                                      size_t ring_bytes,
                                                                      size_t max_frame) {
  if (workers < 1 || workers > kMaxRelayWorkers) {
    return absl::InvalidArgumentError(absl::StrCat("relay workers must be 1..", kMaxRelayWorkers));
  }
  if (ring_bytes > kMaxRelayQueueBytes || max_frame > kMaxRelayQueueBytes / 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("relay_queue_bytes must be at most ", kMaxRelayQueueBytes));
  }
  const size_t floor = 2 * (AlignUp(max_frame) + kRecordHeader) + 64;
  const size_t capacity = std::bit_ceil(std::max({ring_bytes, floor, size_t{64}}));
  std::unique_ptr<RelayMailboxes> boxes(new RelayMailboxes(workers));
  for (size_t w = 0; w < workers; ++w) {
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("eventfd for the relay: ", std::strerror(errno)));
    }
    boxes->wake_fds_[w] = fd;
  }
  for (size_t from = 0; from < workers; ++from) {
    for (size_t to = 0; to < workers; ++to) {
      if (from != to) boxes->rings_[from * workers + to] = std::make_unique<SpscFrameRing>(capacity);
    }
  }
  return boxes;
}

size_t RelayMailboxes::ring_bytes() const {
  for (const auto& ring : rings_) {
    if (ring != nullptr) return ring->capacity();
  }
  return 0;
}

bool RelayMailboxes::Push(uint16_t from, const ConnectionHandle& to,
                          std::span<const uint8_t> frame) {
  if (from >= workers_ || to.worker >= workers_ || to.worker == from) return false;
  if (!Ring(from, to.worker).TryPush(to, frame)) return false;
  pending_[from * workers_ + to.worker] = 1;
  return true;
}

void RelayMailboxes::WakePending(uint16_t from) {
  if (from >= workers_) return;
  uint8_t* row = pending_.data() + from * workers_;
  for (size_t to = 0; to < workers_; ++to) {
    if (row[to] == 0) continue;
    row[to] = 0;
    const uint64_t one = 1;
    // EAGAIN means the counter is near overflow: the worker is woken already.
    [[maybe_unused]] const ssize_t n = write(wake_fds_[to], &one, sizeof(one));
  }
}

size_t RelayMailboxes::Drain(
    uint16_t worker,
    absl::FunctionRef<void(const ConnectionHandle&, std::span<const uint8_t>)> fn) {
  if (worker >= workers_) return 0;
  uint64_t count;
  // Clear the wake-up first: a frame pushed after this read wakes the worker again.
  [[maybe_unused]] const ssize_t n = read(wake_fds_[worker], &count, sizeof(count));
  size_t frames = 0;
  for (size_t from = 0; from < workers_; ++from) {
    if (from != worker) frames += Ring(from, worker).Drain(fn);
  }
  return frames;
}

}  // namespace reef::ws
