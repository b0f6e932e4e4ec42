// What every reef exports whatever it serves: the process (the standard process_*
// families that Prometheus client libraries export, so stock dashboards and alerts work)
// and reef_build_info.
//
//   process_cpu_seconds_total        user + system CPU time (getrusage)
//   process_resident_memory_bytes    resident set size (/proc/self/statm)
//   process_virtual_memory_bytes     virtual memory size (/proc/self/statm)
//   process_open_fds                 open file descriptors (/proc/self/fd)
//   process_max_fds                  the RLIMIT_NOFILE soft limit
//   process_start_time_seconds       when reef started, Unix time: a restart (a crash
//                                    and systemd's Restart=, or an upgrade) shows as a
//                                    change of this value
//   reef_build_info{version,compiler} always 1; the labels say what runs
#ifndef REEF_SERVER_METRICS_PROCESS_METRICS_H_
#define REEF_SERVER_METRICS_PROCESS_METRICS_H_

#include <string_view>

#include "absl/time/time.h"
#include "server/metrics/registry.h"

namespace reef::metrics {

// reef's version, as the stats page, reef_build_info and --help show it.
inline constexpr std::string_view kReefVersion = "0.1.0";

// Adds the collector. `start` is when the process started (main() takes it first).
void AddProcessCollector(Registry& registry, absl::Time start);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_PROCESS_METRICS_H_
