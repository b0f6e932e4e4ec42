// Logging to stderr: one line per message, with a UTC timestamp, level, thread name and
// source location.
//
//   REEF_LOG(Info) << "listening on " << address;
//
// A line looks like
//   2026-11-26T02:28:12.123456Z INFO  [udp-0] supervisor.cc:88: worker udp-0 started
//
// Cheap when off: REEF_LOG(Debug) with debug disabled is one relaxed atomic load and a
// branch; the streamed arguments are not evaluated. Thread-safe: each line is formatted on
// the calling thread and written whole, under a lock, with one write(2), so lines from
// different threads never interleave.
#ifndef REEF_SERVER_COMMON_LOG_H_
#define REEF_SERVER_COMMON_LOG_H_

#include <atomic>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace reef {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error": the names the config file uses.
std::string_view LogLevelName(LogLevel level);
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// Messages below `level` are dropped. The default is kInfo.
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

namespace log_internal {
extern std::atomic<int> g_min_level;
}  // namespace log_internal

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >=
         log_internal::g_min_level.load(std::memory_order_relaxed);
}

// Names the calling thread in log lines (in full) and for the kernel (ps, top, gdb show
// the first 15 bytes). Threads that never call it log as "tid-<id>".
void SetCurrentThreadName(std::string_view name);
std::string CurrentThreadName();

// Where finished lines go. The default writes to stderr (fd 2).
class LogSink {
 public:
  virtual ~LogSink() = default;
  // `line` ends in '\n'. Called under the logging lock: never log from here.
  virtual void Write(LogLevel level, std::string_view line) = 0;
};

// Replaces the sink (nullptr: back to stderr) and returns the previous one (nullptr for
// stderr). For tests; the sink must outlive its use.
LogSink* SetLogSink(LogSink* sink);

namespace log_internal {

// One message: collects the streamed text, emits the line when destroyed.
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Turns `stream << ...` into a void expression so the macro can sit in a ?: operator.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace log_internal
}  // namespace reef

// REEF_LOG(Debug|Info|Warn|Error) << ...;  Safe in an unbraced if/else.
#define REEF_LOG(severity)                                          \
  !::reef::LogEnabled(::reef::LogLevel::k##severity)                \
      ? (void)0                                                     \
      : ::reef::log_internal::Voidify() &                           \
            ::reef::log_internal::LogLine(::reef::LogLevel::k##severity, \
                                          __FILE__, __LINE__)       \
                .stream()

#endif  // REEF_SERVER_COMMON_LOG_H_
