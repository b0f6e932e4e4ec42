// Test-only fault hooks for the reef binary. Linked only into //server:reef_test_hooks
// (testonly, main.cc built with -DREEF_TEST_HOOKS), never into //server:reef, so the
// shipped binary has no way to inject faults.
//
// REEF_TEST_WORKERS="NAME:BEHAVIOR[:MS],..." adds workers beside the real ones:
//   idle       waits for its stop signal, returns OK (a well-behaved worker)
//   fail:MS    returns an error ("injected fault") MS milliseconds after it starts
//   return:MS  returns OK MS milliseconds after it starts, without being asked to stop
//   hang       ignores its stop signal (ends on its own after a minute at most)
//   allocate   allocates 1 MiB blocks (untouched, so they take address space, not memory)
//              and keeps them until an allocation fails, which the out-of-memory handler
//              turns into exit 1 (fatal.h); run reef under an RLIMIT_AS. Returns an error
//              if 64 GiB were allocated without a failure
//   forbidden  makes a system call the seccomp filter refuses (socket(2)), as an
//              attacker who took over a worker would; returns an error if it ran
// REEF_TEST_STOP_DEADLINE_MS=N sets the supervisor's stop deadline.
#ifndef REEF_SERVER_TEST_HOOKS_H_
#define REEF_SERVER_TEST_HOOKS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/common/supervisor.h"

namespace reef::test_hooks {

absl::StatusOr<SupervisorOptions> SupervisorOptionsFromEnvironment();
absl::Status AddWorkersFromEnvironment(Supervisor& supervisor);

}  // namespace reef::test_hooks

#endif  // REEF_SERVER_TEST_HOOKS_H_
