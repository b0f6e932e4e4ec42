// The final report of a load run, as text for a person and as JSON for the bench runner.
#ifndef REEF_LOAD_REPORT_H_
#define REEF_LOAD_REPORT_H_

#include <string>

#include "load/options.h"
#include "load/run.h"

namespace reef::load {

// Answers per second of one type inside the window.
double RatePerSecond(const RunOutcome& outcome, RequestType type);

std::string FormatText(const LoadOptions& options, const RunOutcome& outcome);

// One JSON object:
// {"protocol":"udp","target":"127.0.0.1:6969","threads":1,"sockets":4,"in_flight":16,
//  "rate_limit":0,"window_s":10.0,"wall_s":11.0,"stopped_early":false,
//  "responses_per_s":95000.0,
//  "types":{"announce":{"sent":..,"ok":..,"ok_in_window":..,"per_s":..,"failed":..,
//           "latency_us":{"p50":..,"p99":..,"p999":..,"max":..,"mean":..}}, ...},
//  "failed":{"timeout":..,"unparsable":..,...},"failed_total":..,"stray":..,
//  "sent_total":..,"ok_total":..}
std::string FormatJson(const LoadOptions& options, const RunOutcome& outcome);

}  // namespace reef::load

#endif  // REEF_LOAD_REPORT_H_
