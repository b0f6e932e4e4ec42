// The access list: which info hashes reef serves.
//
// Mode `off` serves every info hash; `allow` only those in the list (a private or curated
// tracker); `deny` every one except those in the list (takedowns).
//
// File format (ParseAccessList): one info hash per line, 40 hex digits in either case.
// Whitespace (spaces, tabs, a CR before the LF) around a hash is ignored; blank lines are
// ignored; '#' starts a comment, on its own line or after the hash. Anything else on a
// line, or a hash of any other length, is an error that names the line. The same hash may
// appear twice.
//
// Reloading never blocks a reader for long: a list in force is an immutable hash set that
// is never modified, only replaced. Replace() builds nothing under the lock; it swaps a
// shared_ptr and bumps a version number. Allows() on the hot path costs one acquire load
// of the version and a hash-set lookup; only on the first call after a swap does a thread
// take the lock, to copy the new shared_ptr into a per-thread cache.
#ifndef REEF_SERVER_COMMON_ACCESS_LIST_H_
#define REEF_SERVER_COMMON_ACCESS_LIST_H_

#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protocol/common/fixed_bytes.h"
#include "server/common/mutex.h"
#include "server/common/periodic.h"

namespace reef {

enum class AccessListMode { kOff, kAllow, kDeny };

// "off", "allow", "deny": the names the config file uses.
std::string_view AccessListModeName(AccessListMode mode);
std::optional<AccessListMode> ParseAccessListMode(std::string_view name);

using InfoHashSet = absl::flat_hash_set<InfoHash>;

// Largest access-list file reef reads: 512 MiB is about 12 million hashes (42 bytes a
// line), whose set takes roughly 400 MiB of memory.
inline constexpr size_t kMaxAccessListFileBytes = size_t{512} << 20;

// Parses the file format above. Errors read "line 7: expected 40 hex digits, got \"xyz\"".
absl::StatusOr<InfoHashSet> ParseAccessList(std::string_view text);

// How many lines of `text` hold something besides whitespace and a comment: at most that
// many hashes can be in it, and that is what ParseAccessList reserves (never a slot per
// line, so a file of blank lines costs nothing).
size_t CountHashLines(std::string_view text);

class AccessList {
 public:
  // Starts with an empty list (in allow mode: nothing is allowed until a list is loaded).
  explicit AccessList(AccessListMode mode);
  AccessList(const AccessList&) = delete;
  AccessList& operator=(const AccessList&) = delete;

  AccessListMode mode() const { return mode_; }

  // Whether reef serves `info_hash`. Any thread; cheap (see the file comment). A thread
  // keeps the last list it used alive until it calls Allows() again or exits.
  bool Allows(const InfoHash& info_hash) const;

  // Puts `hashes` in force. Any thread.
  void Replace(InfoHashSet hashes);

  // Reads `path` (at most `max_bytes`) and puts it in force if it parses. Anything but a
  // regular file (a FIFO, a device, a directory) is refused without waiting on it. On any
  // error the list in force stays, and the error names the file and line. If `stamp` is not
  // null it receives the identity of the file that was read (see FileStamp).
  struct FileStamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    timespec modified{};
    timespec changed{};
    friend bool operator==(const FileStamp& a, const FileStamp& b);
  };
  absl::Status LoadFile(const std::string& path, size_t max_bytes = kMaxAccessListFileBytes,
                        FileStamp* stamp = nullptr);

  // The list in force (for tests and reports).
  std::shared_ptr<const InfoHashSet> Snapshot() const;
  size_t size() const { return Snapshot()->size(); }

 private:
  struct Version {
    uint64_t number;  // unique across every AccessList in the process
    std::shared_ptr<const InfoHashSet> hashes;
  };
  const InfoHashSet& ThreadLocalHashes() const;

  const AccessListMode mode_;
  mutable Mutex mu_;
  std::shared_ptr<const Version> current_ ABSL_GUARDED_BY(mu_);
  // Replaced versions some thread may still use; freed by Replace() once nobody does, so
  // a big set is never freed on a worker's thread.
  std::vector<std::shared_ptr<const Version>> retired_ ABSL_GUARDED_BY(mu_);
  // current_->number, published after current_ changes; read without the lock.
  std::atomic<uint64_t> current_number_;
};

// Keeps an AccessList in step with its file. Reload() is called by one thread at a time
// (main at start, then the reload worker).
class AccessListFile {
 public:
  AccessListFile(std::shared_ptr<AccessList> list, std::string path,
                 size_t max_bytes = kMaxAccessListFileBytes);

  // force: read the file. Otherwise read it only if it changed (device, inode, size,
  // mtime, ctime) since the last attempt, so an unchanged file costs one stat(2) and a
  // broken file is reported once, not at every interval. Returns true if a new list was
  // put in force, false if nothing changed, or the error (the list in force stays).
  absl::StatusOr<bool> Reload(bool force);

  const std::string& path() const { return path_; }
  const std::shared_ptr<AccessList>& list() const { return list_; }

 private:
  const std::shared_ptr<AccessList> list_;
  const std::string path_;
  const size_t max_bytes_;
  Mutex mu_;
  std::optional<AccessList::FileStamp> last_attempt_ ABSL_GUARDED_BY(mu_);
  bool last_stat_failed_ ABSL_GUARDED_BY(mu_) = false;
};

// The "access-list" worker: reloads `file` when Trigger()ed (on SIGUSR1 or SIGHUP, always)
// and every `interval` if the file changed (zero: only when triggered). Successes are
// logged at info level, failures at error level with the file and line; a failure keeps
// the list in force and never stops the server.
std::unique_ptr<PeriodicWorker> MakeAccessListWorker(std::shared_ptr<AccessListFile> file,
                                                     absl::Duration interval);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_ACCESS_LIST_H_
