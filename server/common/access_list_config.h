// [access_list]: which info hashes reef serves.
#ifndef REEF_SERVER_COMMON_ACCESS_LIST_CONFIG_H_
#define REEF_SERVER_COMMON_ACCESS_LIST_CONFIG_H_

#include <string>

#include "absl/time/time.h"
#include "server/common/access_list.h"
#include "server/common/config_section.h"

namespace reef {

struct AccessListConfig {
  AccessListMode mode = AccessListMode::kOff;
  std::string path;  // required unless mode is kOff
  // Zero: only on SIGUSR1 or SIGHUP (server/main.cc), which always reload.
  absl::Duration reload_interval = absl::Seconds(60);
  friend bool operator==(const AccessListConfig&, const AccessListConfig&) = default;
};

// Checks on the machine (CheckSystem): when mode is not off, the file can be read by the
// user and group reef will run as ([privileges]; reloads happen as them).
const config::Section<AccessListConfig>& AccessListSection();

}  // namespace reef

#endif  // REEF_SERVER_COMMON_ACCESS_LIST_CONFIG_H_
