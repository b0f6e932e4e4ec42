#include "server/common/privileges.h"

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "server/common/strings.h"

namespace reef {
namespace {

// getpwnam_r/getgrnam_r need a scratch buffer; sysconf may not know its size. Entries
// with huge member lists can need more, so the lookup doubles it up to this cap.
constexpr size_t kInitialLookupBuffer = 4096;
constexpr size_t kMaxLookupBuffer = size_t{1} << 20;

std::string Errno(int error) { return strerror(error); }

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

absl::Status DropPrivileges(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return absl::OkStatus();
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(StrCat(
        "cannot switch to user \"", user, "\" group \"", group, "\": reef runs as uid ",
        geteuid(), ", not root (leave [privileges] user and group empty to stay as is)"));
  }
  std::optional<uid_t> uid;
  gid_t gid = 0;
  if (!user.empty()) {
    absl::StatusOr<UserIds> ids = LookUpUser(user);
    if (!ids.ok()) return ids.status();
    uid = ids->uid;
    gid = ids->primary_gid;
  }
  if (!group.empty()) {
    absl::StatusOr<gid_t> found = LookUpGroup(group);
    if (!found.ok()) return found.status();
    gid = *found;
  }

  if (setgroups(1, &gid) != 0) {
    return absl::InternalError(StrCat("setgroups(", gid, "): ", Errno(errno)));
  }
  if (setresgid(gid, gid, gid) != 0) {
    return absl::InternalError(StrCat("setresgid(", gid, "): ", Errno(errno)));
  }
  if (uid.has_value() && setresuid(*uid, *uid, *uid) != 0) {
    return absl::InternalError(StrCat("setresuid(", *uid, "): ", Errno(errno)));
  }

  // Check that it took, in every id.
  gid_t rgid, egid, sgid;
  if (getresgid(&rgid, &egid, &sgid) != 0 || rgid != gid || egid != gid || sgid != gid) {
    return absl::InternalError(StrCat("group ids are not ", gid, " after setresgid"));
  }
  if (uid.has_value()) {
    uid_t ruid, euid, suid;
    if (getresuid(&ruid, &euid, &suid) != 0 || ruid != *uid || euid != *uid ||
        suid != *uid) {
      return absl::InternalError(StrCat("user ids are not ", *uid, " after setresuid"));
    }
    if (*uid != 0 && setuid(0) == 0) {
      return absl::InternalError("could regain root after dropping privileges");
    }
  }
  return absl::OkStatus();
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
