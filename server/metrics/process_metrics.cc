#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <limits>

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

// User plus system CPU seconds, from /proc/self/stat (fields 14 and 15, in clock ticks),
// or a negative number if it cannot be read. Read rather than asked with getrusage(),
// which the seccomp filter does not allow: reading /proc needs only openat and read.
double CpuSeconds(double ticks_per_second) {
  FILE* stat = fopen("/proc/self/stat", "re");
  if (stat == nullptr) return -1;
  char line[1024];
  const bool read = fgets(line, sizeof(line), stat) != nullptr;
  fclose(stat);
  if (!read) return -1;
  // The command name (field 2) is in parentheses and may hold spaces: count from after
  // its closing one, which is field 3's start.
  const char* p = strrchr(line, ')');
  if (p == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  // Fields 3..13 skipped, then utime (14) and stime (15).
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / ticks_per_second;
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
  const auto ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  // Read once: reef sets no limit after start (and the seccomp filter allows no
  // prlimit64 then).
  double max_fds = -1;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    max_fds = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                              : static_cast<double>(limit.rlim_cur);
  }
  registry.AddCollector([start_seconds, page_size, ticks_per_second, max_fds](Exposition& out) {
    if (const double cpu = CpuSeconds(ticks_per_second); cpu >= 0) out.Add(kCpu, {}, cpu);
    if (FILE* statm = fopen("/proc/self/statm", "re")) {
      unsigned long long size = 0, resident = 0;
      if (fscanf(statm, "%llu %llu", &size, &resident) == 2) {
        out.Add(kVirtual, {}, uint64_t{size} * page_size);
        out.Add(kResident, {}, uint64_t{resident} * page_size);
      }
      fclose(statm);
    }
    if (const int64_t fds = OpenFds(); fds >= 0) out.Add(kOpenFds, {}, static_cast<uint64_t>(fds));
    if (max_fds >= 0) out.Add(kMaxFds, {}, max_fds);
    out.Add(kStartTime, {}, start_seconds);
    out.Add(kBuildInfo, {{"version", kReefVersion}, {"compiler", kCompiler}}, uint64_t{1});
  });
}

}  // namespace reef::metrics
