// TempDir for the snapshot tests: a directory of their own under TEST_TMPDIR.
#ifndef REEF_SERVER_SNAPSHOT_TEST_DIR_H_
#define REEF_SERVER_SNAPSHOT_TEST_DIR_H_

#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace reef::snapshot::testing {

// TEST_TMPDIR/name (or /tmp/name), made if it is not there.
inline std::string TempDir(const std::string& name) {
  const char* base = getenv("TEST_TMPDIR");
  const std::string dir = std::string(base != nullptr ? base : "/tmp") + "/" + name;
  mkdir(dir.c_str(), 0700);
  return dir;
}

}  // namespace reef::snapshot::testing

#endif  // REEF_SERVER_SNAPSHOT_TEST_DIR_H_
