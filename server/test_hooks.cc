#include "server/test_hooks.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "server/common/log.h"
#include "server/common/strings.h"

namespace reef::test_hooks {
namespace {

// How long a "hang" worker ignores its stop signal: longer than any stop deadline a test
// uses, short enough that a leaked process does not live on.
constexpr absl::Duration kHangLimit = absl::Minutes(1);

// The "allocate" worker's block, and how many it takes at most (64 GiB).
constexpr size_t kAllocateBlockBytes = size_t{1} << 20;
constexpr size_t kAllocateLimitBlocks = 65536;

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t end = text.find(separator);
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return parts;
    text.remove_prefix(end + 1);
  }
}

absl::StatusOr<int> Milliseconds(std::string_view text, std::string_view spec) {
  int ms = 0;
  if (!absl::SimpleAtoi(ToAbsl(text), &ms) || ms < 0) {
    return absl::InvalidArgumentError(
        StrCat("REEF_TEST_WORKERS: bad milliseconds in \"", spec, "\""));
  }
  return ms;
}

}  // namespace

absl::StatusOr<SupervisorOptions> SupervisorOptionsFromEnvironment() {
  SupervisorOptions options;
  const char* deadline = getenv("REEF_TEST_STOP_DEADLINE_MS");
  if (deadline != nullptr) {
    int ms = 0;
    if (!absl::SimpleAtoi(deadline, &ms) || ms <= 0) {
      return absl::InvalidArgumentError("REEF_TEST_STOP_DEADLINE_MS must be a positive number");
    }
    options.stop_deadline = absl::Milliseconds(ms);
  }
  return options;
}

absl::Status AddWorkersFromEnvironment(Supervisor& supervisor) {
  const char* env = getenv("REEF_TEST_WORKERS");
  if (env == nullptr || *env == '\0') return absl::OkStatus();
  for (std::string_view spec : Split(env, ',')) {
    std::vector<std::string_view> parts = Split(spec, ':');
    if (parts.size() < 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(StrCat("REEF_TEST_WORKERS: bad entry \"", spec, "\""));
    }
    const std::string name(parts[0]);
    const std::string_view behavior = parts[1];
    REEF_LOG(Warn) << "test hook: adding worker " << name << " (" << spec << ")";
    if (behavior == "idle" && parts.size() == 2) {
      supervisor.Add(MakeWorker(name, [](const StopSignal& stop) {
        stop.WaitFor(absl::InfiniteDuration());
        return absl::OkStatus();
      }));
    } else if (behavior == "hang" && parts.size() == 2) {
      supervisor.Add(MakeWorker(name, [](const StopSignal&) {
        absl::SleepFor(kHangLimit);  // deliberately deaf to the stop signal
        return absl::OkStatus();
      }));
    } else if (behavior == "allocate" && parts.size() == 2) {
      supervisor.Add(MakeWorker(name, [](const StopSignal& stop) {
        std::vector<std::unique_ptr<char[]>> blocks;
        blocks.reserve(kAllocateLimitBlocks);
        while (blocks.size() < kAllocateLimitBlocks && !stop.requested()) {
          blocks.push_back(std::unique_ptr<char[]>(new char[kAllocateBlockBytes]));
        }
        if (stop.requested()) return absl::OkStatus();
        return absl::InternalError(
            StrCat("allocated ", blocks.size(), " blocks of 1 MiB and none failed"));
      }));
    } else if (behavior == "forbidden" && parts.size() == 2) {
      supervisor.Add(MakeWorker(name, [](const StopSignal&) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) close(fd);
        return absl::InternalError(StrCat("socket(2) was not stopped: it returned ", fd));
      }));
    } else if ((behavior == "fail" || behavior == "return") && parts.size() == 3) {
      absl::StatusOr<int> ms = Milliseconds(parts[2], spec);
      if (!ms.ok()) return ms.status();
      const bool fail = behavior == "fail";
      supervisor.Add(MakeWorker(name, [fail, ms = *ms](const StopSignal& stop) {
        if (stop.WaitFor(absl::Milliseconds(ms))) return absl::OkStatus();
        return fail ? absl::InternalError("injected fault") : absl::OkStatus();
      }));
    } else {
      return absl::InvalidArgumentError(StrCat("REEF_TEST_WORKERS: bad entry \"", spec, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace reef::test_hooks
