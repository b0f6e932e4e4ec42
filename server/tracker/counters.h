// The tracker core's statistics: what each worker's requests came to, per protocol
// (udp, http, https, ws, wss), action (announce, scrape) and the client's address family.
//
// Each worker's Tracker owns one Counters and is the only thread that writes it, so an
// increment is a relaxed load and store of its own cache lines: no lock, no atomic
// read-modify-write on the hot path. Any thread may read a Snapshot() at any time (relaxed
// loads: each counter is exact, the set of them is not one instant's), and a metrics
// exporter sums the workers' snapshots with operator+=.
#ifndef REEF_SERVER_TRACKER_COUNTERS_H_
#define REEF_SERVER_TRACKER_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/common/ip_address.h"

namespace reef::tracker {

// The protocol a request arrived by.
enum class Protocol : uint8_t { kUdp, kHttp, kHttps, kWs, kWss };
inline constexpr size_t kProtocolCount = 5;
std::string_view ProtocolName(Protocol protocol);  // "udp", "http", "https", "ws", "wss"

enum class Action : uint8_t { kAnnounce, kScrape };
inline constexpr size_t kActionCount = 2;
std::string_view ActionName(Action action);  // "announce", "scrape"

inline constexpr size_t kFamilyCount = 2;

// Why the core refuses a request. RefusalReason() is the text the client is sent: a BEP
// 15 error message, an HTTP "failure reason", a WebTorrent "failure reason".
enum class Refusal : uint8_t { kPortZero, kNotAllowed, kTooManyHashes };
inline constexpr size_t kRefusalCount = 3;
std::string_view RefusalReason(Refusal refusal);
std::string_view RefusalName(Refusal refusal);  // for logs: "port 0", "not allowed", ...

// A counter written by one thread and read by any.
class Counter {
 public:
  void Increment(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Plain numbers, for summing and printing.
struct CountersSnapshot {
  // Requests answered, [protocol][action][family].
  std::array<std::array<std::array<uint64_t, kFamilyCount>, kActionCount>, kProtocolCount>
      served{};
  // Requests refused, [protocol][action][family]; why in `refusals`.
  std::array<std::array<std::array<uint64_t, kFamilyCount>, kActionCount>, kProtocolCount>
      refused{};
  // Refusals by reason, [protocol][reason].
  std::array<std::array<uint64_t, kRefusalCount>, kProtocolCount> refusals{};
  // Info hashes asked for in scrapes that the access list refuses (answered as unknown),
  // [protocol].
  std::array<uint64_t, kProtocolCount> hidden_info_hashes{};

  CountersSnapshot& operator+=(const CountersSnapshot& other);
  friend bool operator==(const CountersSnapshot&, const CountersSnapshot&) = default;

  // Sums over what is left out: both families; every protocol.
  uint64_t Served(Protocol protocol, Action action) const;
  uint64_t Refused(Protocol protocol, Action action) const;
  uint64_t Refusals(Refusal refusal) const;
};

class Counters {
 public:
  void CountServed(Protocol protocol, Action action, AddressFamily family) {
    served_[Index(protocol)][Index(action)][Index(family)].Increment();
  }
  void CountRefused(Protocol protocol, Action action, AddressFamily family, Refusal why) {
    refused_[Index(protocol)][Index(action)][Index(family)].Increment();
    refusals_[Index(protocol)][Index(why)].Increment();
  }
  void CountHiddenInfoHash(Protocol protocol) { hidden_info_hashes_[Index(protocol)].Increment(); }

  CountersSnapshot Snapshot() const;

 private:
  template <typename E>
  static constexpr size_t Index(E e) {
    return static_cast<size_t>(e);
  }

  std::array<std::array<std::array<Counter, kFamilyCount>, kActionCount>, kProtocolCount>
      served_;
  std::array<std::array<std::array<Counter, kFamilyCount>, kActionCount>, kProtocolCount>
      refused_;
  std::array<std::array<Counter, kRefusalCount>, kProtocolCount> refusals_;
  std::array<Counter, kProtocolCount> hidden_info_hashes_;
};

}  // namespace reef::tracker

#endif  // REEF_SERVER_TRACKER_COUNTERS_H_
