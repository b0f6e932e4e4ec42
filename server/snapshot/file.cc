#include "server/snapshot/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "server/common/strings.h"

namespace reef::snapshot {
namespace {

absl::Status Errno(int error, std::string_view what) {
  return absl::ErrnoToStatus(error, ToAbsl(what));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class FdSink final : public Sink {
 public:
  FdSink(int fd, const std::string& path) : fd_(fd), path_(path) {}
  absl::Status Write(std::span<const uint8_t> bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, StrCat("write ", path_));
      }
      bytes = bytes.subspan(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }
  uint64_t written() const { return written_; }

 private:
  int fd_;
  const std::string& path_;
  uint64_t written_ = 0;
};

}  // namespace

absl::StatusOr<SnapshotDirectory> SnapshotDirectory::Open(const std::string& file_path) {
  const size_t slash = file_path.rfind('/');
  if (slash == std::string::npos || slash + 1 == file_path.size()) {
    return absl::InvalidArgumentError(StrCat("snapshot path ", file_path,
                                             " must be an absolute path to a file"));
  }
  const std::string directory = DirectoryOf(file_path);
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(errno, StrCat("open directory ", directory));
  return SnapshotDirectory(fd, file_path, file_path.substr(slash + 1));
}

SnapshotDirectory::SnapshotDirectory(SnapshotDirectory&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      file_path_(std::move(other.file_path_)),
      name_(std::move(other.name_)) {}

SnapshotDirectory& SnapshotDirectory::operator=(SnapshotDirectory&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    file_path_ = std::move(other.file_path_);
    name_ = std::move(other.name_);
  }
  return *this;
}

SnapshotDirectory::~SnapshotDirectory() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<uint64_t> SnapshotDirectory::WriteAtomically(
    absl::FunctionRef<absl::Status(Sink&)> write) const {
  const std::string temporary = name_ + ".tmp";
  const std::string temporary_path = file_path_ + ".tmp";
  // O_TRUNC over a temporary left by a crash; 0600: the file holds peers' addresses.
  const int fd = openat(fd_, temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(errno, StrCat("create ", temporary_path));
  FdSink sink(fd, temporary_path);
  absl::Status status = write(sink);
  if (status.ok() && fsync(fd) != 0) status = Errno(errno, StrCat("fsync ", temporary_path));
  if (close(fd) != 0 && status.ok()) status = Errno(errno, StrCat("close ", temporary_path));
  if (status.ok() && renameat(fd_, temporary.c_str(), fd_, name_.c_str()) != 0) {
    status = Errno(errno, StrCat("rename ", temporary_path, " to ", file_path_));
  }
  if (!status.ok()) {
    unlinkat(fd_, temporary.c_str(), 0);
    return status;
  }
  if (fsync(fd_) != 0) return Errno(errno, StrCat("fsync directory ", DirectoryOf(file_path_)));
  return sink.written();
}

absl::StatusOr<uint64_t> WriteAtomically(const std::string& path,
                                         absl::FunctionRef<absl::Status(Sink&)> write) {
  absl::StatusOr<SnapshotDirectory> directory = SnapshotDirectory::Open(path);
  if (!directory.ok()) return directory.status();
  return directory->WriteAtomically(write);
}

absl::StatusOr<std::vector<uint8_t>> ReadWhole(const std::string& path, uint64_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno(errno, StrCat("open ", path));
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return Errno(error, StrCat("stat ", path));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(StrCat(path, " is not a regular file"));
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size > max_bytes) {
    close(fd);
    return absl::ResourceExhaustedError(
        StrCat(path, " is ", size, " bytes, over the limit of ", max_bytes));
  }
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return Errno(error, StrCat("read ", path));
    }
    if (n == 0) break;  // shrank since fstat: the parser sees it cut short
    done += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(done);
  return bytes;
}

absl::StatusOr<std::string> MoveAside(const std::string& path, int64_t now_unix) {
  const std::string base = StrCat(path, ".bad-", now_unix);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string target = attempt == 0 ? base : StrCat(base, ".", attempt);
    struct stat info {};
    if (lstat(target.c_str(), &info) == 0) continue;  // taken
    if (rename(path.c_str(), target.c_str()) != 0) {
      return Errno(errno, StrCat("rename ", path, " to ", target));
    }
    return target;
  }
  return absl::AlreadyExistsError(StrCat("no free name after ", base, ".99"));
}

absl::Status CheckDirectoryWritable(const std::string& path) {
  const std::string directory = DirectoryOf(path);
  struct stat info {};
  if (stat(directory.c_str(), &info) != 0) return Errno(errno, StrCat("directory ", directory));
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(StrCat(directory, " is not a directory"));
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    return Errno(errno, StrCat("cannot write in ", directory));
  }
  return absl::OkStatus();
}

}  // namespace reef::snapshot
