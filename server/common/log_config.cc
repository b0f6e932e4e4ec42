#include "server/common/log_config.h"

namespace reef {

const config::Section<LogConfig>& LogSection() {
  static const auto* section = [] {
    auto* s = new config::Section<LogConfig>(
        "log", "Log lines go to stderr: UTC time, level, thread, source line, message.");
    s->Key(
        "level", &LogConfig::level,
        config::Enum<LogLevel>(
            {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}, &LogLevelName),
        "Least severe message written: \"debug\", \"info\", \"warn\" or \"error\". \"info\"\n"
        "reports start, stop, reloads and failures, never a line per request, so it costs\n"
        "nothing on a busy tracker; \"debug\" adds per-worker detail.");
    return s;
  }();
  return *section;
}

}  // namespace reef
