// The seccomp filter, installed in forked children (a filter cannot be removed, and the
// test process must go on): what serving needs still works under it, and each call an
// attacker who took over a worker would want is stopped, with a line naming it.
#include "server/common/seccomp.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/common/sanitizers.h"
#include "server/common/subprocess_for_test.h"

namespace reef {
namespace {

using testing::ForkedChild;
using testing::RunInForkedChild;

// In a forked child: installs the filter (`scope`), runs `body` and exits with what it
// returns. Exit 99: the filter could not be installed.
ForkedChild InChild(SeccompScope scope, const std::function<int()>& body,
                    const SeccompOptions& options = {}) {
  return RunInForkedChild([&] {
    absl::Status installed = InstallSeccompFilter(scope, options);
    if (!installed.ok()) {
      const std::string text = installed.ToString() + "\n";
      ssize_t ignored = write(STDERR_FILENO, text.data(), text.size());
      (void)ignored;
      return 99;
    }
    return body();
  });
}

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string Trapped(const std::string& name) {
  return "(" + name + ") is not on reef's allow-list (server/common/seccomp.cc); exiting with "
         "status 1\n";
}

TEST_CASE("under the filter, what serving needs still works") {
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) == 0);
  // An io_uring made disabled before the filter, as the UDP loop's are.
  io_uring_params params{};
  params.flags = IORING_SETUP_R_DISABLED;
  const int ring = static_cast<int>(syscall(SYS_io_uring_setup, 8, &params));
  REQUIRE(ring >= 0);
  ForkedChild result = InChild(SeccompScope::kProcess, [&]() -> int {
    // Memory, big and small; a thread, named, joined.
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < 64; ++i) blocks.emplace_back(new char[size_t{1} << 20]);
    for (int i = 0; i < 64; ++i) blocks.emplace_back(new char[100]);
    blocks.clear();
    int from_thread = 0;
    std::thread worker([&] {
      prctl(PR_SET_NAME, "seccomp-test", 0, 0, 0);
      from_thread = 7;
    });
    worker.join();
    if (from_thread != 7) return 10;
    // Reading a file (the access list's path).
    const int file = open("/proc/self/status", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (file < 0) return 11;
    struct stat st {};
    char buf[256];
    if (fstat(file, &st) != 0 || read(file, buf, sizeof(buf)) <= 0) return 12;
    close(file);
    if (stat("/proc/self/status", &st) != 0) return 13;
    // Time, randomness, eventfds, poll and epoll.
    timespec now{};
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0 || getrandom(buf, 16, 0) != 16) return 14;
    const int event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    const uint64_t one = 1;
    if (event < 0 || write(event, &one, sizeof(one)) != sizeof(one)) return 15;
    pollfd p{event, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return 16;
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, event, &ev) != 0) return 17;
    if (epoll_wait(epoll, &ev, 1, 1000) != 1) return 18;
    // Datagrams on a socket made before the filter.
    if (send(pair[0], "ping", 4, 0) != 4 || recv(pair[1], buf, sizeof(buf), 0) != 4) return 19;
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0) return 20;
    const struct timespec nap = {0, 1000000};
    if (nanosleep(&nap, nullptr) != 0) return 21;
    // Listing a directory for reading (the metrics count /proc/self/fd).
    DIR* fds = opendir("/proc/self/fd");
    if (fds == nullptr || readdir(fds) == nullptr) return 22;
    closedir(fds);
    // A worker enabling its ring (deferred task work binds the ring to that thread).
    if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) != 0) {
      return 23;
    }
    return 0;
  });
  close(ring);
  close(pair[0]);
  close(pair[1]);
  INFO(result.err);
  CHECK(result.exit_code() == 0);
  CHECK(result.err.find("FATAL") == std::string::npos);
}

TEST_CASE("clone3 is answered with ENOSYS, so glibc starts threads with clone") {
  ForkedChild result = InChild(SeccompScope::kProcess, [] {
    const long ret = syscall(SYS_clone3, nullptr, 0);
    return ret == -1 && errno == ENOSYS ? 0 : 1;
  });
  INFO(result.err);
  CHECK(result.exit_code() == 0);
}

struct Forbidden {
  const char* name;  // as the log line names it
  bool trapped_under_sanitizers;
  std::function<void()> call;
};

TEST_CASE("each call an intruder would want is stopped, with a line naming it") {
  const std::string written = TempPath("seccomp-written");
  unlink(written.c_str());
  const pid_t test_process = getpid();  // the children's parent
  const Forbidden cases[] = {
      {"socket", true, [] { socket(AF_INET, SOCK_STREAM, 0); }},
      {"openat", true,
       [&] { open(written.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); }},
      {"openat", true, [] { open("/proc/self/status", O_RDWR | O_CLOEXEC); }},
      {"execve", true,
       [] {
         char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
         execve("/bin/true", argv, nullptr);
       }},
      {"mmap", true,
       [] { mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }},
      {"mprotect", true,
       [] {
         void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
         mprotect(page, 4096, PROT_READ | PROT_EXEC);
       }},
      {"io_uring_setup", true,
       [] {
         io_uring_params params{};
         syscall(SYS_io_uring_setup, 8, &params);
       }},
      // Registering anything (buffers here) is stopped; only enabling a ring is allowed.
      {"io_uring_register", true,
       [] { syscall(SYS_io_uring_register, 0, IORING_REGISTER_BUFFERS, nullptr, 0); }},
      {"io_uring_register", true,
       [] { syscall(SYS_io_uring_register, 0, IORING_REGISTER_RESTRICTIONS, nullptr, 0); }},
      {"setuid", true, [] { syscall(SYS_setuid, 0); }},
      {"kill", true, [&] { kill(test_process, 0); }},
      {"tgkill", true, [&] { syscall(SYS_tgkill, test_process, test_process, 0); }},
      {"bind", true, [] { bind(0, nullptr, 0); }},
      {"connect", true, [] { connect(0, nullptr, 0); }},
      {"unshare", true, [] { syscall(SYS_unshare, 0); }},
      {"mount", true, [] { syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr); }},
      // Allowed to the sanitizers' runtimes in their builds (seccomp.cc).
      {"ptrace", false, [] { ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); }},
      {"prctl", false, [] { prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }},
      {"rt_sigaction", false, [] { signal(SIGSYS, SIG_IGN); }},
  };
  for (const Forbidden& forbidden : cases) {
    const std::string name = forbidden.name;
    CAPTURE(name);
    if (!forbidden.trapped_under_sanitizers && kSanitizerRuntime) continue;
    ForkedChild result = InChild(SeccompScope::kProcess, [&] {
      forbidden.call();
      return 0;  // the call ran: the filter did not stop it
    });
    INFO(result.err);
    CHECK(result.exit_code() == 1);
    CHECK(result.err.find(" FATAL [") != std::string::npos);
    CHECK(result.err.find("] seccomp: system call ") != std::string::npos);
    CHECK(result.err.find(Trapped(forbidden.name)) != std::string::npos);
  }
  CHECK(access(written.c_str(), F_OK) != 0);  // never created
}

TEST_CASE("fork is stopped: trapped, or refused with EPERM in sanitizer builds") {
  ForkedChild result = InChild(SeccompScope::kProcess, [] {
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    return pid == -1 && errno == EPERM ? 3 : 0;
  });
  INFO(result.err);
  if (kSanitizerRuntime) {
    CHECK(result.exit_code() == 3);
  } else {
    CHECK(result.exit_code() == 1);
    CHECK(result.err.find(Trapped("clone")) != std::string::npos);
  }
}

TEST_CASE("the calling-thread scope filters that thread (a worker), not the others") {
  ForkedChild result = InChild(SeccompScope::kCallingThread, [] { return 0; });
  CHECK(result.exit_code() == 0);

  // In a child: a worker wrapped by WithSeccompFilter tries socket(2) on its thread,
  // after the child's main thread made one unfiltered.
  ForkedChild intruder = RunInForkedChild([] {
    const int before = socket(AF_INET, SOCK_DGRAM, 0);
    if (before < 0) return 20;
    std::unique_ptr<Worker> worker =
        WithSeccompFilter(MakeWorker("intruder", [](const StopSignal&) {
          socket(AF_INET, SOCK_DGRAM, 0);
          return absl::OkStatus();
        }));
    StopSignal stop;
    std::thread thread([&] {
      prctl(PR_SET_NAME, "intruder", 0, 0, 0);
      (void)worker->Run(stop);
    });
    thread.join();
    return 0;  // the worker's socket(2) ran
  });
  INFO(intruder.err);
  CHECK(intruder.exit_code() == 1);
  CHECK(intruder.err.find("FATAL [intruder] seccomp: system call " + std::to_string(SYS_socket) +
                          " " + Trapped("socket")) != std::string::npos);
}

TEST_CASE("a writable directory: files written there, nowhere else") {
  const std::string dir = TempPath("seccomp-writable");
  mkdir(dir.c_str(), 0700);
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir_fd >= 0);
  const std::string elsewhere = TempPath("seccomp-elsewhere");
  unlink(elsewhere.c_str());
  ForkedChild allowed = InChild(SeccompScope::kProcess, [&]() -> int {
    // What a snapshot write does: a temporary file, fsync, rename over, fsync the directory.
    const int file = openat(dir_fd, "x.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file < 0) return 10;
    if (write(file, "abc", 3) != 3 || fsync(file) != 0 || fdatasync(file) != 0) return 11;
    close(file);
    if (renameat(dir_fd, "x.tmp", dir_fd, "x") != 0) return 12;
    if (fsync(dir_fd) != 0) return 13;
    const int scratch = openat(dir_fd, "y", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (scratch < 0) return 14;
    close(scratch);
    if (unlinkat(dir_fd, "y", 0) != 0) return 15;
    return 0;
  }, {.writable_directory = dir_fd});
  INFO(allowed.err);
  CHECK(allowed.exit_code() == 0);
  CHECK(access((dir + "/x").c_str(), F_OK) == 0);
  // Anywhere else, writing still traps: by path, and renaming out of the directory.
  ForkedChild outside = InChild(SeccompScope::kProcess, [&] {
    open(elsewhere.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    return 0;
  }, {.writable_directory = dir_fd});
  CHECK(outside.exit_code() == 1);
  CHECK(outside.err.find(Trapped("openat")) != std::string::npos);
  ForkedChild moved_out = InChild(SeccompScope::kProcess, [&] {
    renameat(dir_fd, "x", AT_FDCWD, elsewhere.c_str());
    return 0;
  }, {.writable_directory = dir_fd});
  CHECK(moved_out.exit_code() == 1);
  CHECK(access(elsewhere.c_str(), F_OK) != 0);
  close(dir_fd);
  const std::vector<std::string> listed = SeccompAllowedCalls({.writable_directory = 3});
  CHECK(std::find(listed.begin(), listed.end(), "openat (in the writable directory only)") !=
        listed.end());
  CHECK(SeccompAllowedCalls().size() + 6 == listed.size());
}

TEST_CASE("the list names each call once, with its argument condition") {
  const std::vector<std::string> calls = SeccompAllowedCalls();
  auto has = [&](const std::string& name) {
    return std::find(calls.begin(), calls.end(), name) != calls.end();
  };
  CHECK(has("read"));
  CHECK(has("io_uring_enter"));
  CHECK(has("io_uring_register (enabling a disabled ring only)"));
  CHECK(has("openat (for reading only)"));
  CHECK(has("clone (threads only)"));
  CHECK(has("mmap (not executable)"));
  CHECK(has("prctl (thread names only)"));
  CHECK(has("tgkill (this process only)"));
  CHECK_FALSE(has("clone3"));
  CHECK_FALSE(has("socket"));
  CHECK_FALSE(has("execve"));
  CHECK_FALSE(has("io_uring_setup"));
  std::vector<std::string> sorted = calls;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}

}  // namespace
}  // namespace reef
