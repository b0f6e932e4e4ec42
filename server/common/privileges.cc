#include "server/common/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "server/common/strings.h"

namespace reef {
namespace {

// getpwnam_r/getgrnam_r need a scratch buffer; sysconf may not know its size. Entries
// with huge member lists can need more, so the lookup doubles it up to this cap.
constexpr size_t kInitialLookupBuffer = 4096;
constexpr size_t kMaxLookupBuffer = size_t{1} << 20;

std::string Errno(int error) { return strerror(error); }

// A path in an error message: quoted, and escaped so that it stays on one line.
std::string Quoted(const std::string& path) {
  return StrCat("\"", absl::CHexEscape(path), "\"");
}

}  // namespace

absl::StatusOr<UserIds> LookUpUser(const std::string& user) {
  std::vector<char> buffer(kInitialLookupBuffer);
  while (true) {
    passwd entry{};
    passwd* result = nullptr;
    int error = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (error == ERANGE && buffer.size() < kMaxLookupBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0) {
      return absl::InternalError(StrCat("looking up user \"", user, "\": ", Errno(error)));
    }
    if (result == nullptr) return absl::NotFoundError(StrCat("no user \"", user, "\""));
    return UserIds{entry.pw_uid, entry.pw_gid};
  }
}

absl::StatusOr<gid_t> LookUpGroup(const std::string& group) {
  std::vector<char> buffer(kInitialLookupBuffer);
  while (true) {
    struct group entry {};
    struct group* result = nullptr;
    int error = getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (error == ERANGE && buffer.size() < kMaxLookupBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0) {
      return absl::InternalError(
          StrCat("looking up group \"", group, "\": ", Errno(error)));
    }
    if (result == nullptr) {
      return absl::NotFoundError(StrCat("no group \"", group, "\""));
    }
    return entry.gr_gid;
  }
}

namespace {

// The ids DropPrivileges switches to: the user's, and the group given or else the user's
// primary group.
struct SwitchIds {
  std::optional<uid_t> uid;
  gid_t gid = 0;
};

absl::StatusOr<SwitchIds> ResolveSwitch(const std::string& user, const std::string& group) {
  SwitchIds ids;
  if (!user.empty()) {
    absl::StatusOr<UserIds> found = LookUpUser(user);
    if (!found.ok()) return found.status();
    ids.uid = found->uid;
    ids.gid = found->primary_gid;
  }
  if (!group.empty()) {
    absl::StatusOr<gid_t> found = LookUpGroup(group);
    if (!found.ok()) return found.status();
    ids.gid = *found;
  }
  return ids;
}

// Supplementary groups, then the group, then the user: after setuid there is no right
// left to change groups. Then checks that it took. Only system calls and no allocation
// on success, so a forked child may call it.
absl::Status SwitchTo(const SwitchIds& ids) {
  const gid_t gid = ids.gid;
  if (setgroups(1, &gid) != 0) {
    return absl::InternalError(StrCat("setgroups(", gid, "): ", Errno(errno)));
  }
  if (setresgid(gid, gid, gid) != 0) {
    return absl::InternalError(StrCat("setresgid(", gid, "): ", Errno(errno)));
  }
  if (ids.uid.has_value() && setresuid(*ids.uid, *ids.uid, *ids.uid) != 0) {
    return absl::InternalError(StrCat("setresuid(", *ids.uid, "): ", Errno(errno)));
  }

  // Check that it took, in every id.
  gid_t rgid, egid, sgid;
  if (getresgid(&rgid, &egid, &sgid) != 0 || rgid != gid || egid != gid || sgid != gid) {
    return absl::InternalError(StrCat("group ids are not ", gid, " after setresgid"));
  }
  if (ids.uid.has_value()) {
    const uid_t uid = *ids.uid;
    uid_t ruid, euid, suid;
    if (getresuid(&ruid, &euid, &suid) != 0 || ruid != uid || euid != uid || suid != uid) {
      return absl::InternalError(StrCat("user ids are not ", uid, " after setresuid"));
    }
    if (uid != 0 && setuid(0) == 0) {
      return absl::InternalError("could regain root after dropping privileges");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DropPrivileges(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return absl::OkStatus();
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(StrCat(
        "cannot switch to user \"", user, "\" group \"", group, "\": reef runs as uid ",
        geteuid(), ", not root (leave [privileges] user and group empty to stay as is)"));
  }
  absl::StatusOr<SwitchIds> ids = ResolveSwitch(user, group);
  if (!ids.ok()) return ids.status();
  return SwitchTo(*ids);
}

namespace {

// Runs `check` (returning 0 or an errno) as the user and group reef runs as after
// DropPrivileges(user, group): here when it will not switch (user and group empty, or not
// root), else in a child that switches for good first. `what` names the check in errors:
// "cannot <what> as user ...".
absl::Status CheckAs(const std::string& user, const std::string& group, std::string_view what,
                     int (*check)(const std::string&), const std::string& path) {
  if ((user.empty() && group.empty()) || geteuid() != 0) {
    const int error = check(path);
    if (error != 0) return absl::ErrnoToStatus(error, StrCat("cannot ", what));
    return absl::OkStatus();
  }
  absl::StatusOr<SwitchIds> ids = ResolveSwitch(user, group);
  if (!ids.ok()) return ids.status();
  // The child switches for good and reports how the check went in its exit status: 0, or
  // the errno, or kSwitchFailed.
  constexpr int kSwitchFailed = 255;
  const pid_t child = fork();
  if (child < 0) return absl::ErrnoToStatus(errno, "fork (to check a file as another user)");
  if (child == 0) {
    if (!SwitchTo(*ids).ok()) _exit(kSwitchFailed);
    const int error = check(path);
    _exit(error == 0 ? 0 : (error > 0 && error < kSwitchFailed ? error : EIO));
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return absl::ErrnoToStatus(errno, "waitpid");
  }
  const std::string as = StrCat(user.empty() ? "" : StrCat(" as user \"", user, "\""),
                                group.empty() ? "" : StrCat(" group \"", group, "\""));
  if (!WIFEXITED(status) || WEXITSTATUS(status) == kSwitchFailed) {
    return absl::InternalError(StrCat("cannot switch", as, " to check ", Quoted(path)));
  }
  if (WEXITSTATUS(status) != 0) {
    return absl::ErrnoToStatus(WEXITSTATUS(status), StrCat("cannot ", what, as));
  }
  return absl::OkStatus();
}

// Opened as reef opens the access list: without waiting on a FIFO.
int OpenForReading(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

int WritableDirectory(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return errno;
  if (!S_ISDIR(info.st_mode)) return ENOTDIR;
  return access(path.c_str(), W_OK | X_OK) == 0 ? 0 : errno;
}

}  // namespace

absl::Status CheckReadableAs(const std::string& path, const std::string& user,
                             const std::string& group) {
  return CheckAs(user, group, StrCat("read ", Quoted(path)), &OpenForReading, path);
}

absl::Status CheckWritableDirectoryAs(const std::string& directory, const std::string& user,
                                      const std::string& group) {
  return CheckAs(user, group, StrCat("create files in ", Quoted(directory)), &WritableDirectory,
                 directory);
}

absl::Status CheckCpuUsable(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(
        StrCat("CPU ", cpu, " is out of range (0 to ", CPU_SETSIZE - 1, ")"));
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return absl::InternalError(StrCat("sched_getaffinity: ", Errno(errno)));
  }
  if (!CPU_ISSET(static_cast<size_t>(cpu), &allowed)) {
    return absl::InvalidArgumentError(StrCat(
        "CPU ", cpu, " is not available to this process (it may run on ",
        CPU_COUNT(&allowed), " CPUs; see taskset -p and nproc)"));
  }
  return absl::OkStatus();
}

absl::Status PinCurrentThreadToCpu(int cpu) {
  if (absl::Status usable = CheckCpuUsable(cpu); !usable.ok()) return usable;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (error != 0) {
    return absl::InternalError(
        StrCat("pinning this thread to CPU ", cpu, ": ", Errno(error)));
  }
  cpu_set_t now;
  CPU_ZERO(&now);
  error = pthread_getaffinity_np(pthread_self(), sizeof(now), &now);
  if (error != 0 || CPU_COUNT(&now) != 1 || !CPU_ISSET(static_cast<size_t>(cpu), &now)) {
    return absl::InternalError(StrCat("pinning to CPU ", cpu, " did not take"));
  }
  return absl::OkStatus();
}

}  // namespace reef
