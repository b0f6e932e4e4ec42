#include "server/common/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include "server/common/fatal.h"
#include "server/common/sanitizers.h"
#include "server/common/strings.h"
#include "server/common/supervisor.h"

namespace reef {
namespace {

// Some calls are allowed only with certain arguments.
enum class Only {
  kAny,
  // clone: threads only (CLONE_THREAD set), so no fork.
  kThreads,
  // clone: tasks that share memory with reef (LeakSanitizer's tracer), so no fork.
  kSharedMemory,
  // clone without shared memory (a fork): refused with EPERM, not trapped.
  kForkRefusedWithEperm,
  // openat: reading only (no write access, O_CREAT, O_TRUNC, O_APPEND or O_TMPFILE).
  kReading,
  // mmap, mprotect: never PROT_EXEC, so no new code can be mapped.
  kNotExecutable,
  // prctl: PR_SET_NAME and PR_GET_NAME (thread names for logs and ps).
  kThreadNames,
  // tgkill: signals to this process's own threads (raise(), abort()).
  kThisProcess,
  // rt_sigaction: glibc's own two signals (SIGCANCEL, SIGSETXID: __SIGRTMIN and the one
  // after), whose handlers it installs when the first thread starts. No other handler can
  // be set, so none can replace the trap's.
  kGlibcSignals,
  // clone3: refused with ENOSYS, not trapped: glibc then starts threads with clone, whose
  // flags a filter can read (clone3 passes them in memory, which seccomp cannot).
  kRefusedWithEnosys,
  // io_uring_register: IORING_REGISTER_ENABLE_RINGS only, which turns on a ring made
  // disabled (with its restrictions in place) and does nothing to any other.
  kEnablingRings,
};

struct AllowedCall {
  const char* name;  // as libseccomp (and strace) name it on this architecture
  Only only = Only::kAny;
};

// What reef's threads call once it serves. Grouped by why; keep each group's comment
// true when adding a call (see seccomp.h, "Finding a missing call").
constexpr AllowedCall kAllowList[] = {
    // Memory: malloc (glibc's arenas), thread stacks, freeing pages.
    {"brk"},
    {"mmap", Only::kNotExecutable},
    {"munmap"},
    {"mremap"},
    {"mprotect", Only::kNotExecutable},
    {"madvise"},
    // Threads and locks: pthread_create (clone, set_robust_list, rseq, signal mask),
    // mutexes and condition variables (futex), joins, exits, names, CPU pinning.
    {"clone", Only::kThreads},
    {"clone3", Only::kRefusedWithEnosys},
    {"set_robust_list"},
    {"rseq"},
    {"futex"},
    {"sched_yield"},
    {"sched_getaffinity"},
    {"sched_setaffinity"},
    {"gettid"},
    {"getpid"},
    {"prctl", Only::kThreadNames},
    {"exit"},
    {"exit_group"},
    // Signals: masks (pthread_create blocks them around clone), the supervisor's signalfd
    // (SIGTERM, SIGINT, SIGUSR1, SIGHUP), raise() and abort().
    {"rt_sigaction", Only::kGlibcSignals},
    {"rt_sigprocmask"},
    {"rt_sigreturn"},
    {"signalfd4"},
    {"tgkill", Only::kThisProcess},
    {"restart_syscall"},
    // Time: clocks (the vDSO falls back to these), sleeps.
    {"clock_gettime"},
    {"clock_getres"},
    {"gettimeofday"},
    {"time"},
    {"clock_nanosleep"},
    {"nanosleep"},
    // Descriptors: eventfds (stop signals, triggers, WebTorrent mailboxes), waiting on them.
    {"read"},
    {"write"},
    {"readv"},
    {"writev"},
    {"close"},
    {"eventfd2"},
    {"poll"},
    {"ppoll"},
    {"fcntl"},
    // Files, for reading only: reloading the access list (SIGUSR1, SIGHUP, its interval),
    // TLS certificates and OpenSSL's /dev/urandom.
    {"openat", Only::kReading},
    {"fstat"},
    {"newfstatat"},
    {"statx"},
    {"lseek"},
    {"pread64"},
    {"getrandom"},
    // The UDP socket workers: epoll with recvmmsg/sendmmsg, or io_uring (rings made and
    // restricted at start: io_uring_setup is not allowed, io_uring_register only to enable
    // a worker's ring on its own thread, which deferred task work requires).
    {"epoll_create1"},
    {"epoll_ctl"},
    {"epoll_wait"},
    {"epoll_pwait"},
    {"epoll_pwait2"},
    {"recvfrom"},
    {"recvmsg"},
    {"recvmmsg"},
    {"sendto"},
    {"sendmsg"},
    {"sendmmsg"},
    {"io_uring_enter"},
    {"io_uring_register", Only::kEnablingRings},
    // TCP (HTTP, HTTPS, WebSocket) on sockets bound at start: accepting, options, closing.
    {"accept4"},
    {"shutdown"},
    {"getsockopt"},
    {"setsockopt"},
    {"getsockname"},
    {"getpeername"},
    // Metrics (server/metrics/process_metrics.cc): listing /proc/self/fd to count the open
    // descriptors; the rest is read from /proc with openat and read.
    {"getdents64"},
};

// Sanitizer runtimes, in sanitizer builds only (found by running every e2e test under
// asan, tsan and ubsan): ASan's alternate signal stacks; LeakSanitizer's check at exit,
// which stops the world from a tracer task (a clone sharing memory, ptrace, reading
// /proc/self/task, its own signal handlers); UBSan's check that memory is readable before
// it reads a vtable (a write into a fresh pipe). A report's symbolizer would fork: there,
// fork fails with EPERM instead of trapping, so the report is still printed, with
// unsymbolized frames. None of this is in a shipped build.
constexpr AllowedCall kSanitizerAllowList[] = {
    {"sigaltstack"},
    {"prctl"},
    {"rt_sigaction"},
    {"clone", Only::kSharedMemory},
    {"clone", Only::kForkRefusedWithEperm},
    {"getppid"},
    {"open"},
    {"ptrace"},
    {"wait4"},
    {"getdents"},
    {"getdents64"},
    {"pipe2"},
};

// How SeccompAllowedCalls describes a condition: "" for none, nullopt for a call that is
// answered with an error rather than allowed.
std::optional<std::string_view> ConditionText(Only only) {
  switch (only) {
    case Only::kAny:
      return "";
    case Only::kThreads:
      return "threads only";
    case Only::kSharedMemory:
      return "sharing memory only";
    case Only::kReading:
      return "for reading only";
    case Only::kNotExecutable:
      return "not executable";
    case Only::kThreadNames:
      return "thread names only";
    case Only::kThisProcess:
      return "this process only";
    case Only::kGlibcSignals:
      return "glibc's internal signals only";
    case Only::kEnablingRings:
      return "enabling a disabled ring only";
    case Only::kRefusedWithEnosys:
    case Only::kForkRefusedWithEperm:
      return std::nullopt;
  }
  return std::nullopt;
}

// Syscall numbers up to this are named in the trap's log line.
constexpr int kNamedSyscalls = 512;
const char* g_syscall_names[kNamedSyscalls];

void OnTrappedCall(int, siginfo_t* info, void*) {
  const int number = info->si_syscall;
  const char* name =
      number >= 0 && number < kNamedSyscalls ? g_syscall_names[number] : nullptr;
  WriteFatalLine({"seccomp: system call ", DecimalText(static_cast<uint64_t>(number)).view(),
                  " (", name != nullptr ? std::string_view(name) : std::string_view("?"),
                  ") is not on reef's allow-list (server/common/seccomp.cc); exiting with "
                  "status 1"});
  _exit(kExitFailure);
}

// Names every syscall for the trap handler (libseccomp allocates them; they are kept for
// the life of the process) and installs it, once per process.
absl::Status InstallTrapHandler() {
  static std::once_flag once;
  static int error = 0;
  std::call_once(once, [] {
    for (int n = 0; n < kNamedSyscalls; ++n) {
      g_syscall_names[n] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, n);
    }
    struct sigaction action {};
    action.sa_sigaction = &OnTrappedCall;
    action.sa_flags = SA_SIGINFO;
    sigfillset(&action.sa_mask);
    if (sigaction(SIGSYS, &action, nullptr) != 0) error = errno;
  });
  if (error != 0) return absl::ErrnoToStatus(error, "seccomp: sigaction(SIGSYS)");
  return absl::OkStatus();
}

// Argument `arg` equals `value`; `arg` & `mask` equals `value`. (libseccomp's SCMP_An
// macros leave a field out, which -Wmissing-field-initializers refuses.)
scmp_arg_cmp Equal(unsigned arg, scmp_datum_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_EQ, value, 0};
}
scmp_arg_cmp MaskedEqual(unsigned arg, scmp_datum_t mask, scmp_datum_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, value};
}

int AddRule(scmp_filter_ctx ctx, int number, const AllowedCall& call) {
  switch (call.only) {
    case Only::kAny:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0);
    case Only::kThreads:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1,
                              MaskedEqual(0, CLONE_THREAD, CLONE_THREAD));
    case Only::kSharedMemory:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, MaskedEqual(0, CLONE_VM, CLONE_VM));
    case Only::kForkRefusedWithEperm:
      return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), number, 1, MaskedEqual(0, CLONE_VM, 0));
    case Only::kReading:
      // O_TMPFILE is __O_TMPFILE's own bit plus O_DIRECTORY: refusing that bit alone
      // refuses O_TMPFILE and still lets a directory be opened for reading (opendir).
      return seccomp_rule_add(
          ctx, SCMP_ACT_ALLOW, number, 1,
          MaskedEqual(2, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (__O_TMPFILE & ~O_DIRECTORY),
                      0));
    case Only::kNotExecutable:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, MaskedEqual(2, PROT_EXEC, 0));
    case Only::kThreadNames: {
      int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, Equal(0, PR_SET_NAME));
      if (ret != 0) return ret;
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, Equal(0, PR_GET_NAME));
    }
    case Only::kThisProcess:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1,
                              Equal(0, static_cast<scmp_datum_t>(getpid())));
    case Only::kGlibcSignals: {
      // SIGRTMIN, what programs see, starts above glibc's two at __SIGRTMIN.
      constexpr scmp_datum_t kSigCancel = __SIGRTMIN;
      constexpr scmp_datum_t kSigSetXid = __SIGRTMIN + 1;
      int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, Equal(0, kSigCancel));
      if (ret != 0) return ret;
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, Equal(0, kSigSetXid));
    }
    case Only::kRefusedWithEnosys:
      return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), number, 0);
    case Only::kEnablingRings:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1,
                              Equal(1, IORING_REGISTER_ENABLE_RINGS));
  }
  return -EINVAL;
}

std::span<const AllowedCall> SanitizerAllowList() {
  if constexpr (kSanitizerRuntime) return kSanitizerAllowList;
  return {};
}

// The calls SeccompOptions::writable_directory allows, each with its condition's text.
struct DirectoryCall {
  const char* name;
  const char* condition;
};
constexpr DirectoryCall kDirectoryCalls[] = {
    {"openat", "in the writable directory only"},
    {"renameat", "within the writable directory only"},
    {"renameat2", "within the writable directory only"},
    {"unlinkat", "in the writable directory only"},
    {"fsync", ""},
    {"fdatasync", ""},
};

int AddDirectoryRule(scmp_filter_ctx ctx, int number, std::string_view name, scmp_datum_t dir) {
  if (name == "openat" || name == "unlinkat") {
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 1, Equal(0, dir));
  }
  if (name == "renameat" || name == "renameat2") {
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 2, Equal(0, dir), Equal(2, dir));
  }
  return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0);
}

absl::Status BuildAndLoad(scmp_filter_ctx ctx, SeccompScope scope, const SeccompOptions& options) {
  // Anything not allowed below traps into OnTrappedCall; a call through another ABI
  // (32-bit int 0x80, x32) ends the process at once.
  if (int ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); ret != 0) {
    return absl::ErrnoToStatus(-ret, "seccomp: bad-architecture action");
  }
  if (scope == SeccompScope::kProcess) {
    if (int ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1); ret != 0) {
      return absl::ErrnoToStatus(-ret, "seccomp: synchronizing threads (TSYNC)");
    }
  }
  // A call the sanitizer list allows outright gets no conditional rule from the main list
  // (the conditions would be moot).
  std::set<std::string_view> unconditional;
  for (const AllowedCall& call : SanitizerAllowList()) {
    if (call.only == Only::kAny) unconditional.insert(call.name);
  }
  auto add = [&](const AllowedCall& call, bool from_sanitizer) -> absl::Status {
    const int number = seccomp_syscall_resolve_name(call.name);
    if (number == __NR_SCMP_ERROR) {
      return absl::InternalError(StrCat("seccomp: no system call \"", call.name,
                                        "\" on this architecture"));
    }
    if (!from_sanitizer && unconditional.contains(call.name)) return absl::OkStatus();
    const int ret = AddRule(ctx, number, call);
    if (ret != 0) {
      return absl::ErrnoToStatus(-ret, StrCat("seccomp: rule for ", call.name));
    }
    return absl::OkStatus();
  };
  for (const AllowedCall& call : kAllowList) {
    if (absl::Status added = add(call, false); !added.ok()) return added;
  }
  for (const AllowedCall& call : SanitizerAllowList()) {
    if (absl::Status added = add(call, true); !added.ok()) return added;
  }
  if (options.writable_directory >= 0) {
    const auto dir = static_cast<scmp_datum_t>(options.writable_directory);
    for (const DirectoryCall& call : kDirectoryCalls) {
      const int number = seccomp_syscall_resolve_name(call.name);
      if (number == __NR_SCMP_ERROR) {
        return absl::InternalError(StrCat("seccomp: no system call \"", call.name,
                                          "\" on this architecture"));
      }
      if (int ret = AddDirectoryRule(ctx, number, call.name, dir); ret != 0) {
        return absl::ErrnoToStatus(-ret, StrCat("seccomp: rule for ", call.name));
      }
    }
  }
  if (int ret = seccomp_load(ctx); ret != 0) {
    return absl::ErrnoToStatus(-ret, "seccomp: loading the filter");
  }
  return absl::OkStatus();
}

class SeccompWorker final : public Worker {
 public:
  explicit SeccompWorker(std::unique_ptr<Worker> inner)
      : Worker(inner->name()), inner_(std::move(inner)) {}
  absl::Status Run(const StopSignal& stop) override {
    if (absl::Status installed = InstallSeccompFilter(SeccompScope::kCallingThread);
        !installed.ok()) {
      return installed;
    }
    return inner_->Run(stop);
  }

 private:
  const std::unique_ptr<Worker> inner_;
};

}  // namespace

absl::Status InstallSeccompFilter(SeccompScope scope, const SeccompOptions& options) {
  if (absl::Status handler = InstallTrapHandler(); !handler.ok()) return handler;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) return absl::InternalError("seccomp: seccomp_init failed");
  absl::Status status = BuildAndLoad(ctx, scope, options);
  seccomp_release(ctx);
  return status;
}

std::vector<std::string> SeccompAllowedCalls(const SeccompOptions& options) {
  std::vector<std::string> names;
  std::set<std::string_view> seen;
  for (const AllowedCall& call : kAllowList) {
    if (!seen.insert(call.name).second) continue;
    const std::optional<std::string_view> condition = ConditionText(call.only);
    if (!condition.has_value()) continue;  // not allowed: answered with an error
    names.push_back(condition->empty() ? std::string(call.name)
                                       : StrCat(call.name, " (", *condition, ")"));
  }
  if (options.writable_directory >= 0) {
    for (const DirectoryCall& call : kDirectoryCalls) {
      const std::string_view condition = call.condition;
      names.push_back(condition.empty() ? std::string(call.name)
                                        : StrCat(call.name, " (", condition, ")"));
    }
  }
  return names;
}

std::unique_ptr<Worker> WithSeccompFilter(std::unique_ptr<Worker> worker) {
  return std::make_unique<SeccompWorker>(std::move(worker));
}

}  // namespace reef
