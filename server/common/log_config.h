// [log]: how much reef writes to stderr.
#ifndef REEF_SERVER_COMMON_LOG_CONFIG_H_
#define REEF_SERVER_COMMON_LOG_CONFIG_H_

#include "server/common/config_section.h"
#include "server/common/log.h"

namespace reef {

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

const config::Section<LogConfig>& LogSection();

}  // namespace reef

#endif  // REEF_SERVER_COMMON_LOG_CONFIG_H_
