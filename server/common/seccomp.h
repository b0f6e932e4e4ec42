// reef's seccomp filter: after start-up, only the system calls reef needs to serve.
//
// Once sockets are bound, privileges dropped, io_uring rings made and the access list
// read, reef installs (InstallSeccompFilter) an allow-list of the system calls its
// threads make from then on: serving (UDP now; TCP, TLS and WebSocket listed ahead),
// memory, threads, time, the supervisor's signals, reloading the access list (and, later,
// certificates). Nothing else is allowed: no exec, no fork, no new sockets, no ptrace, no
// opening a file for writing, no executable memory, no new io_uring rings.
//
// A call that is not on the list never runs: the filter traps it (SECCOMP_RET_TRAP), and
// a SIGSYS handler writes one line naming it and ends reef with exit status 1:
//   2026-12-05T03:36:19.316040Z FATAL [udp-0] seccomp: system call 41 (socket) is not on
//   reef's allow-list (server/common/seccomp.cc); exiting with status 1
// Why a trap and not SECCOMP_RET_KILL_PROCESS: the kill leaves no word in reef's own log
// (the kernel's audit log has it, if audit is on and someone reads it), and the person
// who has to add a call to the list needs its name. A trap cannot be used to run the call
// after all: the kernel never executes it, whatever the handler does. The alternative,
// for anyone who prefers the kernel to kill outright, is a one-line change of the default
// action in seccomp.cc to SCMP_ACT_KILL_PROCESS; the call then shows in `journalctl -k`
// or `ausearch -m SECCOMP` (with kernel.seccomp.actions_logged including kill_process).
//
// Finding a missing call: run the failing path (a test, or reef with the new feature),
// read the FATAL line: it names the call. Add it to the group in kAllowList (seccomp.cc)
// that says why reef makes it, with an argument condition if a narrower rule will do,
// and extend seccomp_test.cc if the call needs one. `strace -f -e trace=NAME` on reef shows
// where a call comes from.
//
// io_uring operations are not system calls and seccomp never sees them: the UDP io_uring
// loop restricts its ring to recvmsg, send (or sendmsg) and poll
// (IORING_REGISTER_RESTRICTIONS), and io_uring_setup is not on the list, so no other ring
// can be made; io_uring_register is, for IORING_REGISTER_ENABLE_RINGS only, which a worker
// needs to enable its own ring (deferred task work) and which changes no enabled ring.
//
// Under the sanitizers (asan, tsan, ubsan) their runtimes make calls of their own
// (LeakSanitizer stops the world with ptrace at exit, UBSan probes memory through a pipe):
// those are allowed in sanitizer builds only (kSanitizerAllowList in seccomp.cc), and a
// fork there fails with EPERM rather than trapping, so a sanitizer report still prints
// (unsymbolized). Shipped builds have none of this.
#ifndef REEF_SERVER_COMMON_SECCOMP_H_
#define REEF_SERVER_COMMON_SECCOMP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/common/worker.h"

namespace reef {

enum class SeccompScope {
  // Every thread of the process, those running now (SECCOMP_FILTER_FLAG_TSYNC) and those
  // started later. What the reef binary uses, from main() just before the supervisor runs.
  kProcess,
  // The calling thread and the threads it starts later: for tests that run real workers
  // in a test process whose other threads (the test's clients) must stay unfiltered.
  kCallingThread,
};

// Installs the filter (and the SIGSYS handler that reports a trapped call). Once it
// returns OK it cannot be undone. Fails with the reason if the kernel or libseccomp
// refuses, or if a name on the list is unknown to libseccomp on this architecture.
struct SeccompOptions {
  // A directory (an open descriptor) reef may write files in once filtered: the snapshot's
  // (server/snapshot/file.h), which is written on SIGTERM and on a schedule. Allowed then,
  // and only relative to this descriptor: openat for writing, renameat/renameat2 within
  // it, unlinkat; and fsync/fdatasync. -1: no directory, no writing at all.
  int writable_directory = -1;
};

absl::Status InstallSeccompFilter(SeccompScope scope, const SeccompOptions& options = {});

// Every call the filter allows, each once, as libseccomp names it ("read", "openat", ...),
// with " (...)" after those allowed only with certain arguments.
std::vector<std::string> SeccompAllowedCalls(const SeccompOptions& options = {});

// A Worker that installs the filter on its own thread (kCallingThread) and then runs
// `worker` there: how in-process tests run reef's real workers under the filter.
std::unique_ptr<Worker> WithSeccompFilter(std::unique_ptr<Worker> worker);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_SECCOMP_H_
