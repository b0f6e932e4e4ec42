// The process's file-descriptor limit (RLIMIT_NOFILE), raised at start to what the
// connection limits need.
#ifndef REEF_SERVER_TCP_FILE_LIMIT_H_
#define REEF_SERVER_TCP_FILE_LIMIT_H_

#include <cstdint>
#include <string>

namespace reef::tcp {

struct FileLimit {
  uint64_t needed = 0;
  uint64_t soft = 0;    // the limit now in force
  uint64_t hard = 0;
  bool enough = false;  // soft >= needed
  // When not enough: why it could not be raised, and what that means.
  std::string message;
};

// Raises the soft limit (and, when permitted, the hard limit) to `needed` descriptors if it
// is lower; never lowers it. The result says what the limit is now and, when it stays
// below `needed`, why (the hard limit and the missing CAP_SYS_RESOURCE, or fs.nr_open).
FileLimit RaiseFileLimit(uint64_t needed);

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_FILE_LIMIT_H_
