#include "server/common/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "server/common/strings.h"
#include "absl/strings/str_join.h"
#include "server/common/clock.h"
#include "server/common/log.h"

namespace reef {

struct Supervisor::Slot {
  Supervisor* owner;
  size_t index;
  std::unique_ptr<Worker> worker;
  pthread_t thread{};
  bool started = false;   // Run()'s thread only
  bool reported = false;  // Run()'s thread only
};

namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT};

std::string ErrnoMessage(std::string_view what) {
  return StrCat(what, ": ", strerror(errno));
}

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? StrCat("SIG", abbrev) : StrCat("signal ", signo);
}

void DrainEventFd(int fd) {
  uint64_t value;
  while (read(fd, &value, sizeof(value)) > 0) {
  }
}

}  // namespace

void BlockServerSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int signo : kStopSignals) sigaddset(&mask, signo);
  sigaddset(&mask, SIGUSR1);
  // SIGHUP too: its default action would end reef without a clean stop, and operators
  // of other trackers (opentracker) send it to reload.
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
}

Supervisor::Supervisor(SupervisorOptions options) : options_(options) {
  done_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (done_fd_ < 0) done_fd_status_ = absl::InternalError(ErrnoMessage("eventfd"));
}

Supervisor::~Supervisor() {
  if (done_fd_ >= 0) close(done_fd_);
}

void Supervisor::Add(std::unique_ptr<Worker> worker) {
  auto slot = std::make_unique<Slot>();
  slot->owner = this;
  slot->index = slots_.size();
  slot->worker = std::move(worker);
  slots_.push_back(std::move(slot));
}

void Supervisor::OnSignal(int signo, absl::AnyInvocable<void()> handler) {
  handlers_.push_back(Handler{signo, std::move(handler)});
}

void* Supervisor::ThreadMain(void* arg) {
  Slot* slot = static_cast<Slot*>(arg);
  Supervisor* self = slot->owner;
  SetCurrentThreadName(slot->worker->name());
  REEF_LOG(Debug) << "worker " << slot->worker->name() << " started";
  absl::Status status = slot->worker->Run(self->stop_);
  const bool stop_was_requested = self->stop_.requested();
  {
    MutexLock lock(&self->mu_);
    Outcome& outcome = self->outcomes_[slot->index];
    outcome.finished = true;
    outcome.stop_was_requested = stop_was_requested;
    outcome.status = std::move(status);
  }
  uint64_t one = 1;
  ssize_t ignored = write(self->done_fd_, &one, sizeof(one));  // cannot fail short
  (void)ignored;
  return nullptr;
}

void Supervisor::HandleSignal(int signo, int sender_pid) {
  for (int stop_signo : kStopSignals) {
    if (signo != stop_signo) continue;
    if (stop_.requested()) {
      REEF_LOG(Info) << "received " << SignalName(signo) << " from pid " << sender_pid
                     << " while already stopping";
    } else {
      REEF_LOG(Info) << "received " << SignalName(signo) << " from pid " << sender_pid
                     << ": stopping";
      stop_.Request();
    }
    return;
  }
  if (stop_.requested()) {
    REEF_LOG(Info) << "ignoring " << SignalName(signo) << ": stopping";
    return;
  }
  REEF_LOG(Info) << "received " << SignalName(signo) << " from pid " << sender_pid;
  for (Handler& handler : handlers_) {
    if (handler.signo == signo) handler.handler();
  }
}

absl::Status Supervisor::Run() {
  if (ran_) return absl::FailedPreconditionError("Supervisor::Run called twice");
  ran_ = true;
  if (!stop_.status().ok()) return stop_.status();
  if (!done_fd_status_.ok()) return done_fd_status_;
  for (const Handler& handler : handlers_) {
    for (int stop_signo : kStopSignals) {
      if (handler.signo == stop_signo) {
        return absl::InvalidArgumentError(
            StrCat(SignalName(stop_signo), " is the stop signal; it has no handlers"));
      }
    }
  }

  sigset_t mask;
  sigemptyset(&mask);
  for (int signo : kStopSignals) sigaddset(&mask, signo);
  for (const Handler& handler : handlers_) sigaddset(&mask, handler.signo);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return absl::InternalError("pthread_sigmask failed");
  }
  const int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) return absl::InternalError(ErrnoMessage("signalfd"));

  {
    MutexLock lock(&mu_);
    outcomes_.assign(slots_.size(), Outcome{});
  }

  std::vector<std::string> names;
  std::optional<absl::Status> failure;  // the first failure, already prefixed
  for (auto& slot : slots_) {
    int error = pthread_create(&slot->thread, nullptr, &Supervisor::ThreadMain, slot.get());
    if (error != 0) {
      failure = absl::InternalError(StrCat("cannot start a thread for worker ",
                                                 slot->worker->name(), ": ",
                                                 strerror(error)));
      REEF_LOG(Error) << failure->message() << "; stopping";
      stop_.Request();
      break;
    }
    slot->started = true;
    names.push_back(slot->worker->name());
  }
  if (!failure.has_value()) {
    if (names.empty()) {
      REEF_LOG(Info) << "supervisor: no workers; waiting for SIGTERM or SIGINT";
    } else {
      REEF_LOG(Info) << "supervisor: running " << names.size() << " worker"
                     << (names.size() == 1 ? "" : "s") << ": " << absl::StrJoin(names, ", ");
    }
  }

  size_t running = names.size();
  std::optional<absl::Duration> deadline;  // set when stopping starts
  while (true) {
    // Collect workers that have returned since the last look.
    std::vector<std::pair<Slot*, Outcome>> finished;
    {
      MutexLock lock(&mu_);
      for (auto& slot : slots_) {
        if (!slot->started || slot->reported) continue;
        if (!outcomes_[slot->index].finished) continue;
        slot->reported = true;
        finished.emplace_back(slot.get(), outcomes_[slot->index]);
      }
    }
    for (auto& [slot, outcome] : finished) {
      --running;
      const std::string& name = slot->worker->name();
      std::optional<absl::Status> this_failure;
      if (!outcome.status.ok()) {
        REEF_LOG(Error) << "worker " << name << " failed: " << outcome.status;
        this_failure = absl::Status(outcome.status.code(),
                                    StrCat("worker ", name, ": ",
                                                 outcome.status.message()));
      } else if (!outcome.stop_was_requested) {
        REEF_LOG(Error) << "worker " << name
                        << " returned without being asked to stop";
        this_failure = absl::InternalError(
            StrCat("worker ", name, ": returned without being asked to stop"));
      } else {
        REEF_LOG(Debug) << "worker " << name << " stopped";
      }
      if (this_failure.has_value() && !failure.has_value()) {
        failure = std::move(this_failure);
        if (!stop_.requested()) {
          REEF_LOG(Error) << "stopping every worker because " << name << " failed";
          stop_.Request();
        }
      }
    }

    if (stop_.requested() && running == 0) break;
    if (stop_.requested() && !deadline.has_value()) {
      deadline = MonotonicNow() + options_.stop_deadline;
      REEF_LOG(Info) << "stopping " << running << " worker" << (running == 1 ? "" : "s")
                     << " (deadline " << options_.stop_deadline << ")";
    }
    if (deadline.has_value() && MonotonicNow() >= *deadline) {
      std::vector<std::string> stuck;
      std::vector<Slot*> done;
      {
        MutexLock lock(&mu_);
        for (auto& slot : slots_) {
          if (!slot->started) continue;
          if (outcomes_[slot->index].finished) {
            done.push_back(slot.get());
          } else {
            stuck.push_back(slot->worker->name());
          }
        }
      }
      // Join what can be joined (those threads are on their way out), so that only the
      // stuck ones are left when the process ends.
      for (Slot* slot : done) pthread_join(slot->thread, nullptr);
      REEF_LOG(Error) << "worker" << (stuck.size() == 1 ? " " : "s ")
                      << absl::StrJoin(stuck, ", ") << " did not stop within "
                      << options_.stop_deadline << "; exiting with status "
                      << kExitStuckWorker << " without joining";
      _exit(kExitStuckWorker);
    }

    int timeout_ms = -1;
    if (deadline.has_value()) {
      absl::Duration left = *deadline - MonotonicNow();
      timeout_ms = static_cast<int>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
      if (timeout_ms < 0) timeout_ms = 0;
    }
    pollfd fds[3] = {
        {signal_fd, POLLIN, 0},
        {done_fd_, POLLIN, 0},
        // Until stopping, wake when RequestStop() is called; then ignore the fd (it stays
        // readable for good).
        {stop_.requested() ? -1 : stop_.fd(), POLLIN, 0},
    };
    int n = poll(fds, 3, timeout_ms);
    if (n < 0 && errno != EINTR) {
      REEF_LOG(Error) << ErrnoMessage("supervisor poll") << "; stopping";
      if (!failure.has_value()) failure = absl::InternalError(ErrnoMessage("poll"));
      stop_.Request();
      // Fall through to the deadline logic, which bounds how long this can go on.
      continue;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      while (read(signal_fd, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        HandleSignal(static_cast<int>(info.ssi_signo), static_cast<int>(info.ssi_pid));
      }
    }
    if ((fds[1].revents & POLLIN) != 0) DrainEventFd(done_fd_);
    // fds[2] (RequestStop) needs no handling: the next turn sees stop_.requested().
  }

  for (auto& slot : slots_) {
    if (slot->started) pthread_join(slot->thread, nullptr);
  }
  close(signal_fd);
  if (failure.has_value()) {
    REEF_LOG(Error) << "stopped after a failure; all " << names.size()
                    << " worker threads joined";
    return *std::move(failure);
  }
  REEF_LOG(Info) << "stopped cleanly; all " << names.size() << " worker threads joined";
  return absl::OkStatus();
}

}  // namespace reef
