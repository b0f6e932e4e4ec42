#include "server/common/privileges.h"

#include <doctest/doctest.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "testing/skip.h"

namespace reef {
namespace {

// Runs `body` in a forked child (so that dropping privileges there leaves this process
// alone) and returns its exit code: 0 when every check in the child held, else the
// number of the first check that failed. The child calls only async-signal-safe-enough
// functions that this single-threaded test process can use after fork.
int InChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

bool IsRoot() { return geteuid() == 0; }

TEST_CASE("users and groups are looked up by name; unknown ones are NotFound") {
  absl::StatusOr<UserIds> root = LookUpUser("root");
  REQUIRE(root.ok());
  CHECK(root->uid == 0);
  CHECK(root->primary_gid == 0);
  absl::StatusOr<UserIds> missing = LookUpUser("reef-no-such-user");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(missing.status().message() == "no user \"reef-no-such-user\"");
  CHECK(LookUpGroup("root").value() == 0);
  absl::StatusOr<gid_t> no_group = LookUpGroup("reef-no-such-group");
  CHECK(no_group.status().message() == "no group \"reef-no-such-group\"");
}

TEST_CASE("empty user and group change nothing") {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  CHECK(DropPrivileges("", "").ok());
  CHECK(getuid() == uid);
  CHECK(getgid() == gid);
}

TEST_CASE("as root: dropping to nobody takes, for good" * testing::NeedsRoot()) {
  const UserIds nobody = LookUpUser("nobody").value();
  CHECK(InChild([&] {
          if (!DropPrivileges("nobody", "").ok()) return 1;
          uid_t r, e, s;
          getresuid(&r, &e, &s);
          if (r != nobody.uid || e != nobody.uid || s != nobody.uid) return 2;
          gid_t gr, ge, gs;
          getresgid(&gr, &ge, &gs);
          if (gr != nobody.primary_gid || ge != nobody.primary_gid) return 3;
          gid_t groups[8];
          int count = getgroups(8, groups);
          if (count != 1 || groups[0] != nobody.primary_gid) return 4;  // supplementary dropped
          if (setuid(0) == 0) return 5;                                  // no way back
          return 0;
        }) == 0);
}

TEST_CASE("as root: an explicit group overrides the user's primary group" * testing::NeedsRoot()) {
  const gid_t daemon_gid = LookUpGroup("daemon").value();
  const uid_t nobody_uid = LookUpUser("nobody").value().uid;
  CHECK(InChild([&] {
          if (!DropPrivileges("nobody", "daemon").ok()) return 1;
          if (getuid() != nobody_uid) return 2;
          if (getgid() != daemon_gid || getegid() != daemon_gid) return 3;
          return 0;
        }) == 0);
}

TEST_CASE("as root: a group alone changes the group and keeps the user" * testing::NeedsRoot()) {
  const gid_t daemon_gid = LookUpGroup("daemon").value();
  CHECK(InChild([&] {
          if (!DropPrivileges("", "daemon").ok()) return 1;
          if (getuid() != 0) return 2;
          if (getgid() != daemon_gid) return 3;
          return 0;
        }) == 0);
}

TEST_CASE("an unknown user or group is refused before anything changes" * testing::NeedsRoot()) {
  CHECK(InChild([] {
          absl::Status status = DropPrivileges("reef-no-such-user", "");
          if (status.code() != absl::StatusCode::kNotFound) return 1;
          if (getuid() != 0 || getgid() != 0) return 2;
          status = DropPrivileges("nobody", "reef-no-such-group");
          if (status.code() != absl::StatusCode::kNotFound) return 3;
          if (getuid() != 0 || getgid() != 0) return 4;
          return 0;
        }) == 0);
}

TEST_CASE("not root: a clear error instead of a half-done switch") {
  if (!IsRoot()) {
    absl::Status status = DropPrivileges("nobody", "");
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    return;
  }
  const uid_t nobody_uid = LookUpUser("nobody").value().uid;
  CHECK(InChild([&] {
          if (setresuid(nobody_uid, nobody_uid, nobody_uid) != 0) return 1;
          absl::Status status = DropPrivileges("nobody", "");
          if (status.code() != absl::StatusCode::kFailedPrecondition) return 2;
          if (std::string(status.message()).find("not root") == std::string::npos) return 3;
          return 0;
        }) == 0);
}

// The CPUs this process may run on, lowest first, and one it may not (or -1).
struct Cpus {
  int first_allowed = -1;
  int first_forbidden = -1;
};
Cpus AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  Cpus cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    const bool allowed = CPU_ISSET(static_cast<size_t>(cpu), &set);
    if (allowed && cpus.first_allowed < 0) cpus.first_allowed = cpu;
    if (!allowed && cpus.first_forbidden < 0) cpus.first_forbidden = cpu;
  }
  return cpus;
}

// A directory every user can pass through (TEST_TMPDIR may sit under /root, 0700) holding
// a file everyone may read and a file only its owner may read.
struct ReadableFiles {
  ReadableFiles() {
    char dir_template[] = "/tmp/reef-readable-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir = dir_template;
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    open_file = dir + "/readable-by-all.txt";
    private_file = dir + "/owner-only.txt";
    for (const std::string& path : {open_file, private_file}) {
      FILE* f = fopen(path.c_str(), "w");
      REQUIRE(f != nullptr);
      fputs("x\n", f);
      fclose(f);
    }
    REQUIRE(chmod(open_file.c_str(), 0644) == 0);
    REQUIRE(chmod(private_file.c_str(), 0600) == 0);
  }
  ~ReadableFiles() {
    unlink(open_file.c_str());
    unlink(private_file.c_str());
    rmdir(dir.c_str());
  }
  std::string dir;
  std::string open_file;
  std::string private_file;
};

TEST_CASE("with no user to switch to, a file is checked as reef runs now") {
  ReadableFiles files;
  CHECK(CheckReadableAs(files.open_file, "", "").ok());
  CHECK(CheckReadableAs(files.private_file, "", "").ok());
  absl::Status missing = CheckReadableAs(files.dir + "/no-such-file", "", "");
  CHECK(missing.message() ==
        "cannot read \"" + files.dir + "/no-such-file\": No such file or directory");
}

TEST_CASE("as root: a file is checked as the user reef will run as, not as the one it starts as" *
          testing::NeedsRoot()) {
  ReadableFiles files;
  const std::string& private_file = files.private_file;
  // A 0600 root-owned list reads as root at start, and would fail every reload as nobody.
  absl::Status as_nobody = CheckReadableAs(private_file, "nobody", "");
  CHECK(as_nobody.code() == absl::StatusCode::kPermissionDenied);
  CHECK(as_nobody.message() ==
        "cannot read \"" + private_file + "\" as user \"nobody\": Permission denied");
  CHECK(CheckReadableAs(files.open_file, "nobody", "").ok());
  // The file's group may read it, others may not.
  REQUIRE(chown(private_file.c_str(), 0, LookUpGroup("nogroup").value()) == 0);
  REQUIRE(chmod(private_file.c_str(), 0640) == 0);
  CHECK(CheckReadableAs(private_file, "nobody", "nogroup").ok());
  CHECK(CheckReadableAs(private_file, "nobody", "daemon").message() ==
        "cannot read \"" + private_file + "\" as user \"nobody\" group \"daemon\": " +
            "Permission denied");
  CHECK(CheckReadableAs(private_file, "reef-no-such-user", "").message() ==
        "no user \"reef-no-such-user\"");
  CHECK(geteuid() == 0);  // this process is still root
}

TEST_CASE("CPU checks name the CPU and the reason") {
  CHECK(CheckCpuUsable(-1).message() == "CPU -1 is out of range (0 to 1023)");
  CHECK(CheckCpuUsable(CPU_SETSIZE).message() == "CPU 1024 is out of range (0 to 1023)");
  const Cpus cpus = AllowedCpus();
  REQUIRE(cpus.first_allowed >= 0);
  CHECK(CheckCpuUsable(cpus.first_allowed).ok());
  REQUIRE(cpus.first_forbidden >= 0);  // nobody has 1024 CPUs here
  absl::Status forbidden = CheckCpuUsable(cpus.first_forbidden);
  CHECK(forbidden.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(forbidden.message()).find("is not available to this process") !=
        std::string::npos);
}

TEST_CASE("pinning a thread keeps it on that CPU only") {
  const Cpus cpus = AllowedCpus();
  absl::Status pinned;
  int ran_on = -1;
  int allowed_count = 0;
  std::thread thread([&] {
    pinned = PinCurrentThreadToCpu(cpus.first_allowed);
    ran_on = sched_getcpu();
    cpu_set_t now;
    CPU_ZERO(&now);
    pthread_getaffinity_np(pthread_self(), sizeof(now), &now);
    allowed_count = CPU_COUNT(&now);
  });
  thread.join();
  CHECK_MESSAGE(pinned.ok(), pinned);
  CHECK(ran_on == cpus.first_allowed);
  CHECK(allowed_count == 1);
  // A forbidden CPU is refused before touching the thread.
  CHECK_FALSE(PinCurrentThreadToCpu(cpus.first_forbidden).ok());
}

}  // namespace
}  // namespace reef
