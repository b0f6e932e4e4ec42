// [snapshot] as the config file reads it, and what the machine checks add.
#include "server/snapshot/snapshot_config.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "server/config.h"

namespace reef {
namespace {

std::string Error(const std::string& toml) {
  absl::StatusOr<Config> config = ParseConfig("[snapshot]\n" + toml, "s.toml");
  return config.ok() ? "" : std::string(config.status().message());
}

std::string SystemError(const std::string& toml) {
  absl::StatusOr<Config> config = ParseConfig("[snapshot]\n" + toml, "s.toml");
  REQUIRE_MESSAGE(config.ok(), config.status());
  absl::Status checked = CheckConfigAgainstSystem(*config);
  return checked.ok() ? "" : std::string(checked.message());
}

TEST_CASE("[snapshot] path must be an absolute file name") {
  CHECK(Error("path = \"/srv/reef.snapshot\"\n").empty());
  CHECK(absl::StrContains(Error("path = \"reef.snapshot\"\n"), "snapshot.path: must be an absolute path"));
  CHECK(absl::StrContains(Error("path = \"\"\n"), "must be an absolute path"));
  CHECK(absl::StrContains(Error("path = \"/srv/\"\n"), "must name a file, not a directory"));
  CHECK_FALSE(Error("path = \"/srv/a\\nb\"\n").empty());
  CHECK(Error("interval_seconds = 0\n").empty());
  CHECK(Error("interval_seconds = 604800\n").empty());
  CHECK_FALSE(Error("interval_seconds = 604801\n").empty());
  CHECK_FALSE(Error("interval_seconds = -1\n").empty());
}

TEST_CASE("a path the config chose must be writable; the default only decides use") {
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp");
  CHECK(SystemError("path = \"" + dir + "/reef.snapshot\"\n").empty());
  const std::string missing = SystemError("path = \"/nonexistent-reef/reef.snapshot\"\n");
  CHECK(absl::StrContains(missing, "snapshot.path: cannot create files in \"/nonexistent-reef\": No such file"));
  CHECK(absl::StrContains(missing, "set [snapshot] enabled = false to run without one"));
  CHECK(SystemError("enabled = false\npath = \"/nonexistent-reef/reef.snapshot\"\n").empty());

  // The default path is not checked: where /var/lib/reef is missing, reef runs without.
  CHECK(SystemError("").empty());
  std::string why;
  SnapshotConfig off;
  off.enabled = false;
  CHECK_FALSE(SnapshotInUse(off, {}, &why));
  CHECK(why == "[snapshot] enabled = false");
  SnapshotConfig chosen;
  chosen.path = dir + "/x.snapshot";
  CHECK(SnapshotInUse(chosen, {}, &why));
  struct stat info {};
  if (stat("/var/lib/reef", &info) != 0) {
    CHECK_FALSE(SnapshotInUse(SnapshotConfig{}, {}, &why));
    CHECK(absl::StrContains(why, "the default path's directory is not usable: cannot create files in \"/var/lib/reef\""));
  } else {
    MESSAGE("/var/lib/reef exists here: the default path's refusal is not exercised");
  }
}

TEST_CASE("as root with [privileges] user, the directory is checked as that user") {
  if (geteuid() != 0) {
    MESSAGE("not root: the check as another user is not exercised");
    return;
  }
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/root-only";
  mkdir(dir.c_str(), 0700);
  REQUIRE(chmod(dir.c_str(), 0700) == 0);  // root may write; nobody may not
  CHECK(SystemError("path = \"" + dir + "/s\"\n").empty());
  const std::string as_nobody =
      SystemError("path = \"" + dir + "/s\"\n[privileges]\nuser = \"nobody\"\n");
  CHECK(absl::StrContains(as_nobody, "cannot create files in \"" + dir +
                                         "\" as user \"nobody\": Permission denied"));
}

}  // namespace
}  // namespace reef
