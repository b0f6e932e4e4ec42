#include "server/tcp/file_limit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include <fstream>

#include "absl/strings/str_cat.h"

namespace reef::tcp {
namespace {

// fs.nr_open: the most a hard limit may be, even for root.
uint64_t NrOpen() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t value = 0;
  if (in >> value) return value;
  return 1 << 20;
}

}  // namespace

FileLimit RaiseFileLimit(uint64_t needed) {
  FileLimit out;
  out.needed = needed;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    out.message = absl::StrCat("getrlimit(RLIMIT_NOFILE): ", strerror(errno));
    return out;
  }
  out.soft = limit.rlim_cur;
  out.hard = limit.rlim_max;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    std::string why;
    rlimit wanted = limit;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
      // Raising the hard limit needs CAP_SYS_RESOURCE, and stops at fs.nr_open.
      const uint64_t nr_open = NrOpen();
      wanted.rlim_max = needed <= nr_open ? needed : nr_open;
      wanted.rlim_cur = wanted.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
        why = absl::StrCat("the hard limit is ", limit.rlim_max, " and raising it failed (",
                           strerror(errno), "; it needs CAP_SYS_RESOURCE)");
        wanted = limit;
        wanted.rlim_cur = limit.rlim_max;
      } else if (wanted.rlim_max < needed) {
        why = absl::StrCat("fs.nr_open caps it at ", nr_open);
      }
    } else {
      wanted.rlim_cur = needed;
    }
    if (wanted.rlim_cur != limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &wanted) != 0 && why.empty()) {
      why = absl::StrCat("setrlimit failed: ", strerror(errno));
    }
    getrlimit(RLIMIT_NOFILE, &limit);
    out.soft = limit.rlim_cur;
    out.hard = limit.rlim_max;
    if (out.soft < needed) {
      out.message = absl::StrCat(
          "RLIMIT_NOFILE is ", out.soft, " but the connection limits need ", needed, ": ",
          why.empty() ? std::string("it could not be raised") : why,
          ". Connections past the limit will be refused; raise LimitNOFILE (systemd) or "
          "ulimit -n, or lower http.max_connections");
    }
  }
  out.enough = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed;
  return out;
}

}  // namespace reef::tcp
