#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace reef::metrics {
namespace {

constexpr FamilyInfo kCpu = {
    .name = "process_cpu_seconds_total",
    .help = "Total user and system CPU time spent in seconds.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kResident = {
    .name = "process_resident_memory_bytes",
    .help = "Resident memory size in bytes.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kVirtual = {
    .name = "process_virtual_memory_bytes",
    .help = "Virtual memory size in bytes.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kOpenFds = {
    .name = "process_open_fds",
    .help = "Number of open file descriptors.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kMaxFds = {
    .name = "process_max_fds",
    .help = "Maximum number of open file descriptors (the RLIMIT_NOFILE soft limit).",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kStartTime = {
    .name = "process_start_time_seconds",
    .help = "Start time of the process since the Unix epoch in seconds.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kBuildInfo = {
    .name = "reef_build_info",
    .help = "Always 1; the labels say which reef runs.",
    .type = MetricType::kGauge,
};

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// Open descriptors, not counting the one that lists them; -1 if /proc is not there.
int64_t OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;
}

#if defined(__clang__)
constexpr std::string_view kCompiler = "clang " __clang_version__;
#elif defined(__GNUC__)
constexpr std::string_view kCompiler = "gcc " __VERSION__;
#else
constexpr std::string_view kCompiler = "unknown";
#endif

}  // namespace

void AddProcessCollector(Registry& registry, absl::Time start) {
  const double start_seconds = absl::ToDoubleSeconds(start - absl::UnixEpoch());
  const auto page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  registry.AddCollector([start_seconds, page_size](Exposition& out) {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
      out.Add(kCpu, {}, Seconds(usage.ru_utime) + Seconds(usage.ru_stime));
    }
    if (FILE* statm = fopen("/proc/self/statm", "re")) {
      unsigned long long size = 0, resident = 0;
      if (fscanf(statm, "%llu %llu", &size, &resident) == 2) {
        out.Add(kVirtual, {}, uint64_t{size} * page_size);
        out.Add(kResident, {}, uint64_t{resident} * page_size);
      }
      fclose(statm);
    }
    if (const int64_t fds = OpenFds(); fds >= 0) out.Add(kOpenFds, {}, static_cast<uint64_t>(fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.Add(kMaxFds, {},
              limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                              : static_cast<double>(limit.rlim_cur));
    }
    out.Add(kStartTime, {}, start_seconds);
    out.Add(kBuildInfo, {{"version", kReefVersion}, {"compiler", kCompiler}}, uint64_t{1});
  });
}

}  // namespace reef::metrics
