#include "server/snapshot/snapshot_config.h"

#include "server/common/strings.h"
#include "server/common/privileges.h"

namespace reef {
namespace {

std::optional<std::string> CheckPath(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must be an absolute path (starting with /)";
  if (path.back() == '/') return "must name a file, not a directory";
  return config::NoControl(path);
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A path the config chose must be usable, by the user reef runs as once it serves (it
// writes on SIGTERM and on its schedule as that user): a mistyped or unwritable directory
// would otherwise be found only at the first SIGTERM, when the swarms it should keep are
// lost.
void CheckWritable(const SnapshotConfig& snapshot, const PrivilegesConfig& privileges,
                   config::Problems& problems) {
  if (!snapshot.enabled || snapshot.path == kDefaultSnapshotPath) return;
  if (absl::Status writable = CheckWritableDirectoryAs(DirectoryOf(snapshot.path),
                                                       privileges.user, privileges.group);
      !writable.ok()) {
    problems.Add("path", StrCat(ToStd(writable.message()),
                                " (set [snapshot] enabled = false to run without one)"));
  }
}

}  // namespace

bool SnapshotInUse(const SnapshotConfig& snapshot, const PrivilegesConfig& privileges,
                   std::string* why_not) {
  if (!snapshot.enabled) {
    *why_not = "[snapshot] enabled = false";
    return false;
  }
  if (snapshot.path == kDefaultSnapshotPath) {
    if (absl::Status writable = CheckWritableDirectoryAs(DirectoryOf(snapshot.path),
                                                         privileges.user, privileges.group);
        !writable.ok()) {
      *why_not = StrCat("the default path's directory is not usable: ",
                        ToStd(writable.message()));
      return false;
    }
  }
  return true;
}

const config::Section<SnapshotConfig>& SnapshotSection() {
  static const auto* section = [] {
    auto* s = new config::Section<SnapshotConfig>(
        "snapshot",
        "Keeping the swarms across a restart: on SIGTERM reef writes every torrent and peer\n"
        "to a file, and reads it back at the next start, so clients keep finding each other\n"
        "across an upgrade.");
    s->Key("enabled", &SnapshotConfig::enabled, config::Bool(),
           "Write the snapshot on SIGTERM and load it at start. On by default; with the\n"
           "default path it is used only where that directory exists and reef may write\n"
           "there (reef says at start which it is).");
    s->Key("path", &SnapshotConfig::path, config::String(&CheckPath),
           "The snapshot file. It is written beside itself (PATH.tmp, then renamed over PATH)\n"
           "so a crash never leaves half a file; one that cannot be read is moved aside to\n"
           "PATH.bad-<time> and reef starts empty. The default is systemd's state directory\n"
           "for reef (StateDirectory=reef). A path set here must be in a directory reef can\n"
           "write to, or reef does not start.");
    s->Key("interval_seconds", &SnapshotConfig::interval, config::Seconds(0),
           "Also write the snapshot this often while serving, so a crash or a power cut\n"
           "loses at most this much; 0 writes only on SIGTERM. Each write copies the store\n"
           "one shard at a time under that shard's lock (a pause like a cleaning's), then\n"
           "writes outside it.");
    s->CheckSystemWith(PrivilegesSection(), &CheckWritable);
    return s;
  }();
  return *section;
}

}  // namespace reef
