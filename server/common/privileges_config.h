// [privileges]: whom reef runs as once its sockets are bound.
#ifndef REEF_SERVER_COMMON_PRIVILEGES_CONFIG_H_
#define REEF_SERVER_COMMON_PRIVILEGES_CONFIG_H_

#include <string>

#include "server/common/config_section.h"

namespace reef {

struct PrivilegesConfig {
  std::string user;   // empty: do not switch user
  std::string group;  // empty: the user's primary group (or keep the group)
  // Once reef serves, only the system calls on its allow-list (server/common/seccomp.h).
  bool seccomp = true;
  friend bool operator==(const PrivilegesConfig&, const PrivilegesConfig&) = default;
};

// Checks on the machine (CheckSystem): the user and group exist.
const config::Section<PrivilegesConfig>& PrivilegesSection();

}  // namespace reef

#endif  // REEF_SERVER_COMMON_PRIVILEGES_CONFIG_H_
