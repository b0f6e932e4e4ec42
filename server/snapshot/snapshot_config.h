// [snapshot]: keeping the swarms across a restart.
#ifndef REEF_SERVER_SNAPSHOT_SNAPSHOT_CONFIG_H_
#define REEF_SERVER_SNAPSHOT_SNAPSHOT_CONFIG_H_

#include <string>

#include "absl/time/time.h"
#include "server/common/config_section.h"
#include "server/common/privileges_config.h"

namespace reef {

// Where reef keeps its snapshot unless told otherwise: systemd's StateDirectory=reef
// (contrib/systemd/reef.service) makes it, writable by reef alone.
inline constexpr char kDefaultSnapshotPath[] = "/var/lib/reef/reef.snapshot";

struct SnapshotConfig {
  bool enabled = true;
  std::string path = kDefaultSnapshotPath;
  absl::Duration interval = absl::ZeroDuration();  // zero: only at SIGTERM
  friend bool operator==(const SnapshotConfig&, const SnapshotConfig&) = default;
};

const config::Section<SnapshotConfig>& SnapshotSection();

// Whether reef uses its snapshot: enabled, and either a path the config chose (which
// CheckConfigAgainstSystem has made sure is writable) or the default path in a directory
// the user reef runs as ([privileges]) can write. `why_not` says why not, for the log.
// Call it before privileges are dropped.
bool SnapshotInUse(const SnapshotConfig& snapshot, const PrivilegesConfig& privileges,
                   std::string* why_not);

}  // namespace reef

#endif  // REEF_SERVER_SNAPSHOT_SNAPSHOT_CONFIG_H_
