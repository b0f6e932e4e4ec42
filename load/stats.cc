#include "load/stats.h"

#include <numeric>

namespace reef::load {

namespace {

template <typename Counts>
uint64_t Sum(const Counts& counts) {
  return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

}  // namespace

uint64_t Totals::TotalSent() const { return Sum(sent); }
uint64_t Totals::TotalOk() const { return Sum(ok); }
uint64_t Totals::TotalOkInWindow() const { return Sum(ok_in_window); }

uint64_t Totals::TotalFailed() const {
  uint64_t n = 0;
  for (const auto& row : failed) n += Sum(row);
  return n;
}

uint64_t Totals::FailedOf(Failure f) const {
  uint64_t n = 0;
  for (const auto& row : failed) n += row[static_cast<size_t>(f)];
  return n;
}

uint64_t Totals::FailedOf(RequestType t) const { return Sum(failed[static_cast<size_t>(t)]); }

size_t Totals::TimelineLength() const {
  size_t n = kTimelineSeconds;
  while (n > 0 && ok_per_second[n - 1] == 0) --n;
  return n;
}

void ThreadStats::AddTo(Totals* totals, bool with_latency) const {
  for (size_t t = 0; t < kNumRequestTypes; ++t) {
    totals->sent[t] += sent[t].Get();
    totals->ok[t] += ok[t].Get();
    totals->ok_in_window[t] += ok_in_window[t].Get();
    for (size_t f = 0; f < kNumFailures; ++f) totals->failed[t][f] += failed[t][f].Get();
    if (with_latency) totals->latency[t].Merge(latency[t]);
  }
  if (with_latency) {
    for (size_t i = 0; i < kTimelineSeconds; ++i) {
      totals->ok_per_second[i] += ok_per_second[i].Get();
    }
  }
  totals->stray += stray.Get();
  totals->peers_received += peers_received.Get();
  totals->offers_received += offers_received.Get();
  totals->answers_sent += answers_sent.Get();
  totals->answers_received += answers_received.Get();
  totals->relay_implausible += relay_implausible.Get();
  totals->follow_ups += follow_ups.Get();
  totals->follow_ups_capped += follow_ups_capped.Get();
}

}  // namespace reef::load
