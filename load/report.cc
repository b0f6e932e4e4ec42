#include "load/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace reef::load {

namespace {

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

double RatePerSecond(const RunOutcome& outcome, RequestType type) {
  if (outcome.window_seconds <= 0) return 0;
  return static_cast<double>(outcome.totals.ok_in_window[static_cast<size_t>(type)]) /
         outcome.window_seconds;
}

std::string FormatText(const LoadOptions& o, const RunOutcome& r) {
  const Totals& t = r.totals;
  std::string out = absl::StrFormat(
      "%s load on %s: %d thread(s) x %d socket(s) x %d in flight, %s, window %.2f s%s\n",
      ProtocolName(o.protocol), o.target.ToString(), o.threads, o.sockets_per_thread,
      o.in_flight,
      o.rate > 0 ? absl::StrFormat("rate limit %.0f/s", o.rate) : std::string("unlimited"),
      r.window_seconds, r.stopped_early ? " (stopped early)" : "");
  absl::StrAppendFormat(&out, "%-9s %12s %12s %12s %10s %10s %10s %10s %10s\n", "type", "sent",
                        "ok", "failed", "ok/s", "p50 us", "p99 us", "p99.9 us", "max us");
  double total_rate = 0;
  for (size_t i = 0; i < kNumRequestTypes; ++i) {
    const RequestType type = static_cast<RequestType>(i);
    if (t.sent[i] == 0) continue;
    const double rate = RatePerSecond(r, type);
    total_rate += rate;
    const LatencyHistogram& h = t.latency[i];
    absl::StrAppendFormat(&out, "%-9s %12d %12d %12d %10.0f %10.1f %10.1f %10.1f %10.1f\n",
                          RequestTypeName(type), t.sent[i], t.ok[i], t.FailedOf(type), rate,
                          Us(h.ValueAt(0.5)), Us(h.ValueAt(0.99)), Us(h.ValueAt(0.999)),
                          Us(h.max()));
  }
  absl::StrAppendFormat(&out, "responses/s (ok, in window): %.0f\n", total_rate);
  absl::StrAppendFormat(&out, "failed: %d of %d sent", t.TotalFailed(), t.TotalSent());
  for (size_t f = 0; f < kNumFailures; ++f) {
    absl::StrAppendFormat(&out, "  %s=%d", FailureName(static_cast<Failure>(f)),
                          t.FailedOf(static_cast<Failure>(f)));
  }
  absl::StrAppendFormat(&out, "\nstray answers (matching no request): %d\n", t.stray);
  if (o.follow_up_probability > 0) {
    absl::StrAppendFormat(&out,
                          "closed loop: follow-up probability %g, follow-ups sent %d, dropped "
                          "at the window limit (%d per socket) %d\n",
                          o.follow_up_probability, t.follow_ups, o.max_in_flight,
                          t.follow_ups_capped);
  }
  const uint64_t announces = t.ok[static_cast<size_t>(RequestType::kAnnounce)];
  if (o.protocol == Protocol::kWs) {
    absl::StrAppendFormat(&out,
                          "relayed: offers received %d, answers sent %d, answers received %d, "
                          "implausible %d\n",
                          t.offers_received, t.answers_sent, t.answers_received,
                          t.relay_implausible);
  } else if (announces > 0) {
    absl::StrAppendFormat(&out, "peers per announce answer: %.2f\n",
                          static_cast<double>(t.peers_received) / static_cast<double>(announces));
  }
  return out;
}

std::string FormatJson(const LoadOptions& o, const RunOutcome& r) {
  const Totals& t = r.totals;
  std::string out = absl::StrFormat(
      "{\"protocol\":\"%s\",\"target\":\"%s\",\"threads\":%d,\"sockets\":%d,"
      "\"in_flight\":%d,\"rate_limit\":%.1f,\"window_s\":%.6f,\"wall_s\":%.6f,"
      "\"stopped_early\":%s,",
      ProtocolName(o.protocol), o.target.ToString(), o.threads, o.sockets_per_thread,
      o.in_flight, o.rate, r.window_seconds, r.wall_seconds,
      r.stopped_early ? "true" : "false");
  double total_rate = 0;
  std::string types;
  for (size_t i = 0; i < kNumRequestTypes; ++i) {
    const RequestType type = static_cast<RequestType>(i);
    if (t.sent[i] == 0) continue;
    const double rate = RatePerSecond(r, type);
    total_rate += rate;
    const LatencyHistogram& h = t.latency[i];
    absl::StrAppendFormat(
        &types,
        "%s\"%s\":{\"sent\":%d,\"ok\":%d,\"ok_in_window\":%d,\"per_s\":%.3f,\"failed\":%d,"
        "\"latency_us\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}}",
        types.empty() ? "" : ",", RequestTypeName(type), t.sent[i], t.ok[i], t.ok_in_window[i],
        rate, t.FailedOf(type), Us(h.ValueAt(0.5)), Us(h.ValueAt(0.99)), Us(h.ValueAt(0.999)),
        Us(h.max()), h.mean() / 1000.0);
  }
  absl::StrAppendFormat(&out, "\"responses_per_s\":%.3f,\"types\":{%s},\"failed\":{",
                        total_rate, types);
  for (size_t f = 0; f < kNumFailures; ++f) {
    absl::StrAppendFormat(&out, "%s\"%s\":%d", f == 0 ? "" : ",",
                          FailureName(static_cast<Failure>(f)),
                          t.FailedOf(static_cast<Failure>(f)));
  }
  absl::StrAppendFormat(&out,
                        "},\"failed_total\":%d,\"stray\":%d,\"sent_total\":%d,\"ok_total\":%d,"
                        "\"peers_received\":%d,\"offers_received\":%d,\"answers_sent\":%d,"
                        "\"answers_received\":%d,\"relay_implausible\":%d,"
                        "\"follow_up_probability\":%.6g,\"follow_ups\":%d,"
                        "\"follow_ups_capped\":%d,\"ok_per_second\":[",
                        t.TotalFailed(), t.stray, t.TotalSent(), t.TotalOk(), t.peers_received,
                        t.offers_received, t.answers_sent, t.answers_received,
                        t.relay_implausible, o.follow_up_probability, t.follow_ups,
                        t.follow_ups_capped);
  for (size_t i = 0; i < t.TimelineLength(); ++i) {
    absl::StrAppendFormat(&out, "%s%d", i == 0 ? "" : ",", t.ok_per_second[i]);
  }
  out += "]}";
  return out;
}

}  // namespace reef::load
