#include "server/common/privileges_config.h"

#include "server/common/privileges.h"
#include "server/common/strings.h"

namespace reef {
namespace {

void CheckUsersExist(const PrivilegesConfig& privileges, config::Problems& problems) {
  if (!privileges.user.empty()) {
    absl::StatusOr<UserIds> user = LookUpUser(privileges.user);
    if (!user.ok()) problems.Add("user", ToStd(user.status().message()));
  }
  if (!privileges.group.empty()) {
    absl::StatusOr<gid_t> group = LookUpGroup(privileges.group);
    if (!group.ok()) problems.Add("group", ToStd(group.status().message()));
  }
}

}  // namespace

const config::Section<PrivilegesConfig>& PrivilegesSection() {
  static const auto* section = [] {
    auto* s = new config::Section<PrivilegesConfig>(
        "privileges",
        "Whom reef runs as once its sockets are bound, so that it can bind ports below 1024\n"
        "as root without serving as root. Both empty: stay as started.");
    s->Key("user", &PrivilegesConfig::user, config::String(&config::NoControl),
           "User to switch to, which needs starting as root; supplementary groups are dropped.\n"
           "Empty: keep the user reef was started as.");
    s->Key("group", &PrivilegesConfig::group, config::String(&config::NoControl),
           "Group to switch to. Empty: the user's primary group, or keep the group if user is\n"
           "empty too.");
    s->Key("seccomp", &PrivilegesConfig::seccomp, config::Bool(),
           "Once reef serves (sockets bound, user switched, io_uring rings made), allow only\n"
           "the system calls serving needs (a seccomp filter, server/common/seccomp.cc): any\n"
           "other call never runs, and reef logs it by name and exits 1. On by default: a\n"
           "worker taken over by an attacker cannot exec, fork, open sockets or write files.\n"
           "false: no filter (for a system whose libraries make a call the list lacks).");
    s->CheckSystem(&CheckUsersExist);
    return s;
  }();
  return *section;
}

}  // namespace reef
