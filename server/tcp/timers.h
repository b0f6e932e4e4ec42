// Connection timeouts without a syscall or a tree operation per connection: one FIFO
// queue per kind of timeout.
//
// Every timeout of a kind has the same duration (the head timeout, the keep-alive
// timeout, ...), and a worker's clock never goes back. So when an entry is armed at time
// `now` it gets the deadline now + duration, which is at least every deadline already in
// that queue: appending keeps each queue sorted by deadline. Arming, re-arming (unlink and
// append) and disarming are O(1) pointer updates, and finding what expired is looking at
// the front of each queue. The loop sleeps until the earliest front.
//
// Entries are intrusive: a connection derives from TimerEntry and is in at most one queue
// at a time (it is in exactly one phase: handshake, reading a head, idle, writing, or
// lingering). Clocks that go back (a fake clock in a test) are clamped to the latest time
// seen, which keeps the queues sorted.
#ifndef REEF_SERVER_TCP_TIMERS_H_
#define REEF_SERVER_TCP_TIMERS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "server/tcp/limits.h"

namespace reef::tcp {

// The kinds of timeout a connection can wait on, one per phase.
enum class TimerKind : uint8_t {
  kHandshake,  // ConnectionLimits::tls_handshake_timeout_ms
  kHead,       // head_timeout_ms
  kIdle,       // keep_alive_timeout_ms
  kWrite,      // write_timeout_ms
  kLinger,     // linger_timeout_ms
  kNumKinds,
};
inline constexpr size_t kNumTimerKinds = static_cast<size_t>(TimerKind::kNumKinds);
inline constexpr uint8_t kNotArmed = 0xff;

class TimerEntry {
 public:
  TimerEntry() = default;
  // Entries are linked by address: never copied or moved while armed.
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;

  bool armed() const { return kind_ != kNotArmed; }
  TimerKind kind() const { return static_cast<TimerKind>(kind_); }
  Millis deadline() const { return deadline_; }

 private:
  friend class Timers;
  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  Millis deadline_ = 0;
  uint8_t kind_ = kNotArmed;
};

class Timers {
 public:
  // Durations per kind, from the limits; at least 1 ms each, so that an entry re-armed
  // while expiring never expires again in the same Expire call.
  explicit Timers(const ConnectionLimits& limits) {
    Set(TimerKind::kHandshake, limits.tls_handshake_timeout_ms);
    Set(TimerKind::kHead, limits.head_timeout_ms);
    Set(TimerKind::kIdle, limits.keep_alive_timeout_ms);
    Set(TimerKind::kWrite, limits.write_timeout_ms);
    Set(TimerKind::kLinger, limits.linger_timeout_ms);
  }
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // (Re-)arms `entry` for `kind` from `now`: it moves to the back of that kind's queue.
  void Arm(TimerEntry* entry, TimerKind kind, Millis now) {
    Disarm(entry);
    now = Observe(now);
    Queue& q = queues_[static_cast<size_t>(kind)];
    entry->kind_ = static_cast<uint8_t>(kind);
    entry->deadline_ = now + durations_[static_cast<size_t>(kind)];
    entry->prev_ = q.tail;
    entry->next_ = nullptr;
    if (q.tail != nullptr) {
      q.tail->next_ = entry;
    } else {
      q.head = entry;
    }
    q.tail = entry;
    ++armed_;
  }

  void Disarm(TimerEntry* entry) {
    if (!entry->armed()) return;
    Queue& q = queues_[entry->kind_];
    if (entry->prev_ != nullptr) {
      entry->prev_->next_ = entry->next_;
    } else {
      q.head = entry->next_;
    }
    if (entry->next_ != nullptr) {
      entry->next_->prev_ = entry->prev_;
    } else {
      q.tail = entry->prev_;
    }
    entry->prev_ = entry->next_ = nullptr;
    entry->kind_ = kNotArmed;
    --armed_;
  }

  // The earliest deadline of any armed entry, or -1 when none is armed.
  Millis NextDeadline() const {
    Millis next = -1;
    for (const Queue& q : queues_) {
      if (q.head != nullptr && (next < 0 || q.head->deadline_ < next)) next = q.head->deadline_;
    }
    return next;
  }

  // Milliseconds an event loop may sleep from `now` before the next deadline: -1 (no
  // limit) when nothing is armed, else 0 or more.
  int SleepMs(Millis now) const {
    const Millis next = NextDeadline();
    if (next < 0) return -1;
    return static_cast<int>(std::clamp<Millis>(next - now, 0, 1'000'000));
  }

  // Disarms every entry whose deadline is at or before `now` and calls
  // on_expired(entry, kind) for each, earliest queue fronts first. The callback may arm or
  // disarm any entry (including this one); entries it arms expire no earlier than the
  // next call.
  template <typename OnExpired>
  size_t Expire(Millis now, OnExpired&& on_expired) {
    now = Observe(now);
    size_t expired = 0;
    for (size_t k = 0; k < kNumTimerKinds; ++k) {
      Queue& q = queues_[k];
      // Bounded by the entries armed when Expire began: anything re-armed has a deadline
      // after `now` (durations are positive), so it is not looked at again.
      while (q.head != nullptr && q.head->deadline_ <= now) {
        TimerEntry* entry = q.head;
        Disarm(entry);
        ++expired;
        on_expired(entry, static_cast<TimerKind>(k));
      }
    }
    return expired;
  }

  size_t armed() const { return armed_; }
  Millis duration(TimerKind kind) const { return durations_[static_cast<size_t>(kind)]; }
  // The latest time seen by Arm or Expire.
  Millis now() const { return latest_; }

 private:
  struct Queue {
    TimerEntry* head = nullptr;
    TimerEntry* tail = nullptr;
  };
  void Set(TimerKind kind, Millis duration) {
    durations_[static_cast<size_t>(kind)] = std::max<Millis>(duration, 1);
  }
  Millis Observe(Millis now) {
    latest_ = std::max(latest_, now);
    return latest_;
  }

  std::array<Queue, kNumTimerKinds> queues_{};
  std::array<Millis, kNumTimerKinds> durations_{};
  size_t armed_ = 0;
  Millis latest_ = 0;
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_TIMERS_H_
