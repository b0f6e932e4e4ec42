#include "server/common/log.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "server/common/mutex.h"

namespace reef {
namespace log_internal {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace log_internal

namespace {

// The kernel keeps 16 bytes of a thread's name, the last one for the terminating NUL.
constexpr size_t kKernelThreadNameMax = 15;

Mutex& SinkMutex() {
  static Mutex* mu = new Mutex;  // never destroyed: threads may log during exit
  return *mu;
}
LogSink* g_sink ABSL_GUARDED_BY(SinkMutex()) = nullptr;

thread_local std::string t_thread_name;

// Everything after the last '/' of a __FILE__ path.
std::string_view BaseName(const char* path) {
  std::string_view p(path);
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

void WriteAllToStderr(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(STDERR_FILENO, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; nowhere left to report it
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return std::nullopt;
}

void SetMinLogLevel(LogLevel level) {
  log_internal::g_min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel MinLogLevel() {
  return static_cast<LogLevel>(log_internal::g_min_level.load(std::memory_order_relaxed));
}

void SetCurrentThreadName(std::string_view name) {
  t_thread_name = std::string(name);
  std::string kernel_name(name.substr(0, kKernelThreadNameMax));
  // Fails only for a name longer than the kernel's limit, which the substr rules out.
  pthread_setname_np(pthread_self(), kernel_name.c_str());
}

std::string CurrentThreadName() {
  if (!t_thread_name.empty()) return t_thread_name;
  return "tid-" + std::to_string(static_cast<long>(syscall(SYS_gettid)));
}

LogSink* SetLogSink(LogSink* sink) {
  MutexLock lock(&SinkMutex());
  LogSink* previous = g_sink;
  g_sink = sink;
  return previous;
}

namespace log_internal {

LogLine::LogLine(LogLevel level, const char* file, int line)
    : level_(level), file_(file), line_(line) {}

LogLine::~LogLine() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[96];  // room for any int the compiler cannot rule out
  snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
           utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
           utc.tm_sec, static_cast<long>(now.tv_nsec / 1000));
  char level_name[8];
  snprintf(level_name, sizeof(level_name), "%-5s",
           level_ == LogLevel::kDebug  ? "DEBUG"
           : level_ == LogLevel::kInfo ? "INFO"
           : level_ == LogLevel::kWarn ? "WARN"
                                       : "ERROR");

  std::string text;
  std::string message = stream_.str();
  std::string_view file = BaseName(file_);
  std::string thread = CurrentThreadName();
  text.reserve(64 + thread.size() + file.size() + message.size());
  text.append(stamp).append(" ").append(level_name).append(" [").append(thread);
  text.append("] ").append(file).append(":").append(std::to_string(line_));
  text.append(": ").append(message).append("\n");

  MutexLock lock(&SinkMutex());
  if (g_sink != nullptr) {
    g_sink->Write(level_, text);
  } else {
    WriteAllToStderr(text);
  }
}

}  // namespace log_internal
}  // namespace reef
