// Snapshot files on disk: written so that a crash at any moment leaves the old file or the
// new one, whole; read whole, within a size limit; moved aside when they cannot be used.
#ifndef REEF_SERVER_SNAPSHOT_FILE_H_
#define REEF_SERVER_SNAPSHOT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/snapshot/format.h"

namespace reef::snapshot {

// The directory a snapshot file lives in, opened once at start. Every write goes through
// its descriptor (openat, renameat, unlinkat relative to it), so that once the seccomp
// filter is on, reef may write files in this directory and nowhere else
// (SeccompOptions::writable_directory).
class SnapshotDirectory {
 public:
  // Opens the directory of `file_path` (an absolute path to a file).
  static absl::StatusOr<SnapshotDirectory> Open(const std::string& file_path);
  SnapshotDirectory(SnapshotDirectory&& other) noexcept;
  SnapshotDirectory& operator=(SnapshotDirectory&& other) noexcept;
  ~SnapshotDirectory();

  int fd() const { return fd_; }
  const std::string& file_path() const { return file_path_; }

  // Writes the file through `write` (which fills the Sink it is given) the safe way:
  // into "<name>.tmp" (mode 0600, created afresh), fsync it, rename it over the file,
  // fsync the directory so the rename itself survives a power cut. On any error the
  // temporary file is removed and the file is left as it was. Returns the bytes written.
  absl::StatusOr<uint64_t> WriteAtomically(absl::FunctionRef<absl::Status(Sink&)> write) const;

 private:
  SnapshotDirectory(int fd, std::string file_path, std::string name)
      : fd_(fd), file_path_(std::move(file_path)), name_(std::move(name)) {}
  int fd_ = -1;
  std::string file_path_;
  std::string name_;  // the file's name within the directory
};

// The same, opening the directory for this one write.
absl::StatusOr<uint64_t> WriteAtomically(const std::string& path,
                                         absl::FunctionRef<absl::Status(Sink&)> write);

// The whole file, or NotFound if there is none, or an error if it cannot be read or is
// larger than `max_bytes` (a snapshot is read into memory, so it must be bounded).
absl::StatusOr<std::vector<uint8_t>> ReadWhole(const std::string& path, uint64_t max_bytes);

// Renames a snapshot that cannot be used to "<path>.bad-<now_unix>" (".1", ".2", ... if
// that is taken), so that the next start does not trip on it again and a person can look
// at it. Returns the new name.
absl::StatusOr<std::string> MoveAside(const std::string& path, int64_t now_unix);

// OK if reef could create files in the directory of `path` (it exists, is a directory,
// and this process may write there), else why not.
absl::Status CheckDirectoryWritable(const std::string& path);

}  // namespace reef::snapshot

#endif  // REEF_SERVER_SNAPSHOT_FILE_H_
