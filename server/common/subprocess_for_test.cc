#include "server/common/subprocess_for_test.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "server/common/strings.h"

extern char** environ;

namespace reef::testing {
namespace {

// How long one poll for output waits before the child's state is looked at again.
constexpr absl::Duration kPumpSlice = absl::Milliseconds(10);

absl::Duration Now() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::DurationFromTimespec(now);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  // The child starts with no signals blocked, whatever this (test) thread blocks.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  auto child = std::unique_ptr<Subprocess>(new Subprocess);
  int error = posix_spawn(&child->pid_, argv[0].c_str(), &actions, &attributes, args.data(),
                          env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (error != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    child->pid_ = -1;
    return absl::InternalError(StrCat("posix_spawn ", argv[0], ": ", strerror(error)));
  }
  child->out_fd_ = out_pipe[0];
  child->err_fd_ = err_pipe[0];
  return child;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !wait_status_.has_value()) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Subprocess::Signal(int signo) {
  if (pid_ <= 0 || wait_status_.has_value()) return false;
  return kill(pid_, signo) == 0;
}

void Subprocess::Pump(absl::Duration timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0) {
    absl::SleepFor(timeout);  // nothing to read: just let time pass
    return;
  }
  int n = poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (n <= 0) return;
  char buffer[8192];
  int* fd_of[2] = {&out_fd_, &err_fd_};
  std::string* text_of[2] = {&out_, &err_};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    ssize_t got = read(*fd_of[i], buffer, sizeof(buffer));
    if (got > 0) {
      text_of[i]->append(buffer, static_cast<size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(*fd_of[i]);
      *fd_of[i] = -1;  // end of output
    }
  }
}

bool Subprocess::WaitForStderr(std::string_view needle, absl::Duration timeout) {
  const absl::Duration deadline = Now() + timeout;
  while (true) {
    if (err_.find(needle) != std::string::npos) return true;
    if (err_fd_ < 0 || Now() >= deadline) return false;
    Pump(kPumpSlice);
  }
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Duration deadline = Now() + timeout;
  while (!wait_status_.has_value()) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      wait_status_ = status;
      break;
    }
    if (Now() >= deadline) return std::nullopt;
    Pump(kPumpSlice);
  }
  // The child is gone; take what is left in the pipes (bounded by the same deadline).
  while ((out_fd_ >= 0 || err_fd_ >= 0) && Now() < deadline + absl::Seconds(1)) {
    Pump(kPumpSlice);
  }
  return wait_status_;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return StrCat("signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  return StrCat("wait status ", status);
}

int ForkedChild::exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

ForkedChild RunInForkedChild(const std::function<int()>& body) {
  ForkedChild result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.err = StrCat("pipe2: ", strerror(errno));
    return result;
  }
  const pid_t child = fork();
  if (child < 0) {
    result.err = StrCat("fork: ", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return result;
  }
  if (child == 0) {
    dup2(fds[1], STDERR_FILENO);
    _exit(body());
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.err.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  while (waitpid(child, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace reef::testing
