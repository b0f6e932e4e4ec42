// What a load run counts: requests sent, answers that were right, answers that were wrong
// (by kind), and the latency of the right ones.
//
// Every request ends in exactly one outcome: ok, or one Failure. Datagrams or responses
// that belong to no outstanding request (a wrong transaction id, a late answer to a
// request already timed out) are counted apart as `stray`: they are not outcomes, since
// the request they failed to answer ends as a timeout on its own.
//
// Each load thread owns one ThreadStats and is its only writer. Counters are relaxed
// atomics so the progress line may read them while the thread runs; histograms are
// read only after the thread is joined.
#ifndef REEF_LOAD_STATS_H_
#define REEF_LOAD_STATS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "load/histogram.h"

namespace reef::load {

// The per-second timeline (ok answers in each second since the run started, warm-up
// included) has room for the longest run options.h allows: an hour's window, ten
// minutes of warm-up and a minute's drain. Answers later than that are not in it.
inline constexpr size_t kTimelineSeconds = 3600 + 600 + 60 + 1;
inline constexpr uint64_t kNsPerSecond = 1'000'000'000;

enum class RequestType : uint8_t { kConnect, kAnnounce, kScrape, kNumTypes };
inline constexpr size_t kNumRequestTypes = static_cast<size_t>(RequestType::kNumTypes);

enum class Failure : uint8_t {
  kTimeout,        // no matching answer within the timeout
  kUnparsable,     // the answer did not parse (datagram, HTTP head, bencode)
  kErrorResponse,  // a BEP 15 error, an HTTP failure reason, or an HTTP status other than 200
  kWrongType,      // a well-formed answer of another kind (a connect response to an announce)
  kImplausible,    // parsed but wrong: more peers than asked, wrong family or entry size,
                   // a scrape with the wrong number of torrents
  kIoError,        // the request could not be sent, or the connection failed or closed early
  kNumFailures,
};
inline constexpr size_t kNumFailures = static_cast<size_t>(Failure::kNumFailures);

constexpr std::string_view RequestTypeName(RequestType t) {
  switch (t) {
    case RequestType::kConnect:
      return "connect";
    case RequestType::kAnnounce:
      return "announce";
    case RequestType::kScrape:
      return "scrape";
    case RequestType::kNumTypes:
      break;
  }
  return "?";
}

constexpr std::string_view FailureName(Failure f) {
  switch (f) {
    case Failure::kTimeout:
      return "timeout";
    case Failure::kUnparsable:
      return "unparsable";
    case Failure::kErrorResponse:
      return "error_response";
    case Failure::kWrongType:
      return "wrong_type";
    case Failure::kImplausible:
      return "implausible";
    case Failure::kIoError:
      return "io_error";
    case Failure::kNumFailures:
      break;
  }
  return "?";
}

// A counter with one writer and any number of readers: the writer's increment is a plain
// load and store (no locked instruction), readers see some recent value.
class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Plain totals: a snapshot of running threads (no latencies) or the merged final result.
struct Totals {
  std::array<uint64_t, kNumRequestTypes> sent{};
  std::array<uint64_t, kNumRequestTypes> ok{};            // every ok answer
  std::array<uint64_t, kNumRequestTypes> ok_in_window{};  // ok answers inside the window
  std::array<std::array<uint64_t, kNumFailures>, kNumRequestTypes> failed{};
  uint64_t stray = 0;
  // Peers in the ok announce answers (for the mean peers per answer).
  uint64_t peers_received = 0;
  // WebTorrent: offers relayed to this side, answers it sent, answers that came back for
  // its own offers, and relayed messages that matched nothing this side had.
  uint64_t offers_received = 0;
  uint64_t answers_sent = 0;
  uint64_t answers_received = 0;
  uint64_t relay_implausible = 0;
  // Closed-loop mode (options.h): follow-up requests granted, and those dropped because
  // the window was at its limit.
  uint64_t follow_ups = 0;
  uint64_t follow_ups_capped = 0;
  std::array<LatencyHistogram, kNumRequestTypes> latency{};  // inside the window
  // Ok answers of every type in each second since the start (only once joined).
  std::array<uint64_t, kTimelineSeconds> ok_per_second{};

  // Seconds in the timeline up to the last one with an answer.
  size_t TimelineLength() const;

  uint64_t TotalSent() const;
  uint64_t TotalOk() const;
  uint64_t TotalOkInWindow() const;
  uint64_t TotalFailed() const;
  uint64_t FailedOf(Failure f) const;
  uint64_t FailedOf(RequestType t) const;
};

struct alignas(64) ThreadStats {
  void Sent(RequestType t, uint64_t n = 1) { sent[Index(t)].Add(n); }
  // `elapsed_ns`: since the run started (RunControl::start_ns), for the timeline.
  void Ok(RequestType t, bool in_window, uint64_t latency_ns, uint64_t elapsed_ns) {
    ok[Index(t)].Add();
    const uint64_t second = elapsed_ns / kNsPerSecond;
    if (second < kTimelineSeconds) ok_per_second[second].Add();
    if (in_window) {
      ok_in_window[Index(t)].Add();
      latency[Index(t)].Record(latency_ns);
    }
  }
  void Failed(RequestType t, Failure f) { failed[Index(t)][static_cast<size_t>(f)].Add(); }
  void Stray() { stray.Add(); }
  void PeersReceived(uint64_t n) { peers_received.Add(n); }
  // WebTorrent relays (ws_client.h): not requests, counted apart.
  void OfferReceived() { offers_received.Add(); }
  void AnswerSent() { answers_sent.Add(); }
  void AnswerReceived() { answers_received.Add(); }
  void RelayImplausible() { relay_implausible.Add(); }
  void FollowUp(bool capped) { (capped ? follow_ups_capped : follow_ups).Add(); }

  // Adds the counters (and, if `with_latency`, the histograms and the timeline: only once
  // joined).
  void AddTo(Totals* totals, bool with_latency) const;

  std::array<Counter, kNumRequestTypes> sent;
  std::array<Counter, kNumRequestTypes> ok;
  std::array<Counter, kNumRequestTypes> ok_in_window;
  std::array<std::array<Counter, kNumFailures>, kNumRequestTypes> failed;
  Counter stray;
  Counter peers_received;
  Counter offers_received;
  Counter answers_sent;
  Counter answers_received;
  Counter relay_implausible;
  Counter follow_ups;
  Counter follow_ups_capped;
  std::array<LatencyHistogram, kNumRequestTypes> latency;
  std::array<Counter, kTimelineSeconds> ok_per_second;

 private:
  static constexpr size_t Index(RequestType t) { return static_cast<size_t>(t); }
};

}  // namespace reef::load

#endif  // REEF_LOAD_STATS_H_
