// Dropping root after binding, and pinning threads to CPUs.
#ifndef REEF_SERVER_COMMON_PRIVILEGES_H_
#define REEF_SERVER_COMMON_PRIVILEGES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace reef {

struct UserIds {
  uid_t uid;
  gid_t primary_gid;
};

// Looks up a user or group by name (getpwnam_r / getgrnam_r). NotFound if there is none.
absl::StatusOr<UserIds> LookUpUser(const std::string& user);
absl::StatusOr<gid_t> LookUpGroup(const std::string& group);

// Switches the whole process to `user` and `group`, for good:
//   user and group empty:  nothing happens;
//   user set:              group defaults to the user's primary group;
//   group set, user empty: only the group changes.
// Supplementary groups are dropped (setgroups to just the new group), then setgid, then
// setuid: in that order, because after setuid there is no right left to change groups.
// Then it checks that it took: real, effective and saved ids are the new ones and, when
// the new user is not root, that setuid(0) now fails. Needs to run as root (a clear error
// otherwise). Call it after binding sockets and before starting threads (glibc applies
// it to every thread anyway).
absl::Status DropPrivileges(const std::string& user, const std::string& group);

// Whether the user and group reef runs as after DropPrivileges(user, group) can open
// `path` for reading. With user and group empty, or when this process is not root (so it
// will not switch), it opens `path` here. Otherwise a child process switches exactly as
// DropPrivileges would and opens it there, so permissions, ACLs and every directory on the
// way count as they will for reef later (reloads run as that user). Call it before any
// thread is started. The error reads "cannot read \"PATH\" as user \"nobody\":
// Permission denied".
absl::Status CheckReadableAs(const std::string& path, const std::string& user,
                             const std::string& group);

// The same for creating files in `directory` (it exists, is a directory, and that user
// may write and search it): where reef writes its snapshot. The error reads "cannot
// create files in \"DIR\" as user \"nobody\": Permission denied".
absl::Status CheckWritableDirectoryAs(const std::string& directory, const std::string& user,
                                      const std::string& group);

// Whether `cpu` is one this process may run on (its sched_getaffinity mask), with an
// error that names it otherwise.
absl::Status CheckCpuUsable(int cpu);

// Pins the calling thread to `cpu` (pthread_setaffinity_np) and checks that it took.
absl::Status PinCurrentThreadToCpu(int cpu);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_PRIVILEGES_H_
