#include "server/common/access_list_config.h"

#include "server/common/privileges.h"
#include "server/common/privileges_config.h"
#include "server/common/strings.h"

namespace reef {
namespace {

void CheckPathGiven(const AccessListConfig& access_list, config::Problems& problems) {
  if (access_list.mode != AccessListMode::kOff && access_list.path.empty()) {
    problems.Add("path", StrCat("is required when access_list.mode is \"",
                                AccessListModeName(access_list.mode), "\""));
  }
}

// Read as the user and group reef runs as once it serves: reloads happen as them.
void CheckFileReadableAs(const AccessListConfig& access_list, const PrivilegesConfig& privileges,
                         config::Problems& problems) {
  if (access_list.mode == AccessListMode::kOff) return;
  absl::Status readable = CheckReadableAs(access_list.path, privileges.user, privileges.group);
  if (!readable.ok()) {
    problems.Add("path", StrCat(ToStd(readable.message()), " (access_list.mode is \"",
                                AccessListModeName(access_list.mode), "\")"));
  }
}

}  // namespace

const config::Section<AccessListConfig>& AccessListSection() {
  static const auto* section = [] {
    auto* s =
        new config::Section<AccessListConfig>("access_list", "Which info hashes reef serves.");
    s->Key("mode", &AccessListConfig::mode,
           config::Enum<AccessListMode>(
               {AccessListMode::kOff, AccessListMode::kAllow, AccessListMode::kDeny},
               &AccessListModeName),
           "\"off\": every info hash is served. \"allow\": only the hashes in path (a private or\n"
           "curated tracker). \"deny\": every hash except those in path (takedowns).");
    s->Key("path", &AccessListConfig::path, config::String(&config::NoNul),
           "The list: one info hash per line, 40 hex digits in either case; blank lines, '#'\n"
           "comments and whitespace around a hash are ignored. Required unless mode is \"off\".\n"
           "A file that fails to parse on reload leaves the previous list in force and the log\n"
           "names the bad line; at start, reef refuses to run with it.");
    s->Key("reload_interval_seconds", &AccessListConfig::reload_interval, config::Seconds(0),
           "How often to look for changes to the file (one stat: size, times, inode) and\n"
           "reload it if it changed; 0: only on SIGUSR1 or SIGHUP, which always reload. One\n"
           "minute: edits take effect soon, for one stat a minute.");
    s->Check(&CheckPathGiven);
    s->CheckSystemWith(PrivilegesSection(), &CheckFileReadableAs);
    return s;
  }();
  return *section;
}

}  // namespace reef
