#include "server/common/access_list.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "server/common/strings.h"
#include "server/common/log.h"

namespace reef {
namespace {

// Version numbers are unique across every AccessList in the process, so a per-thread
// cache that holds some list's version can never mistake it for another list's.
std::atomic<uint64_t> g_next_version_number{1};

// Longest piece of a bad line quoted back in an error message.
constexpr size_t kMaxQuotedBytes = 60;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) {
  const bool cut = s.size() > kMaxQuotedBytes;
  return StrCat("\"", absl::CHexEscape(ToAbsl(s.substr(0, kMaxQuotedBytes))), cut ? "...\"" : "\"");
}

AccessList::FileStamp StampOf(const struct stat& st) {
  AccessList::FileStamp stamp;
  stamp.device = st.st_dev;
  stamp.inode = st.st_ino;
  stamp.size = st.st_size;
  stamp.modified = st.st_mtim;
  stamp.changed = st.st_ctim;
  return stamp;
}

}  // namespace

std::string_view AccessListModeName(AccessListMode mode) {
  switch (mode) {
    case AccessListMode::kOff:
      return "off";
    case AccessListMode::kAllow:
      return "allow";
    case AccessListMode::kDeny:
      return "deny";
  }
  return "unknown";
}

std::optional<AccessListMode> ParseAccessListMode(std::string_view name) {
  for (AccessListMode mode :
       {AccessListMode::kOff, AccessListMode::kAllow, AccessListMode::kDeny}) {
    if (name == AccessListModeName(mode)) return mode;
  }
  return std::nullopt;
}

size_t CountHashLines(std::string_view text) {
  size_t count = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line = line.substr(0, line.find('#'));
    if (std::any_of(line.begin(), line.end(), [](char c) { return !IsSpace(c); })) ++count;
  }
  return count;
}

absl::StatusOr<InfoHashSet> ParseAccessList(std::string_view text) {
  InfoHashSet hashes;
  hashes.reserve(CountHashLines(text));
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);

    size_t hash_mark = line.find('#');
    if (hash_mark != std::string_view::npos) line = line.substr(0, hash_mark);
    line = Trim(line);
    if (line.empty()) continue;
    std::optional<InfoHash> info_hash = InfoHash::FromHex(line);
    if (!info_hash.has_value()) {
      return absl::InvalidArgumentError(StrCat(
          "line ", line_number, ": expected 40 hex digits, got ", Quote(line)));
    }
    hashes.insert(*info_hash);
  }
  return hashes;
}

bool operator==(const AccessList::FileStamp& a, const AccessList::FileStamp& b) {
  return a.device == b.device && a.inode == b.inode && a.size == b.size &&
         a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec &&
         a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec;
}

AccessList::AccessList(AccessListMode mode) : mode_(mode) {
  auto first = std::make_shared<const Version>(
      Version{g_next_version_number.fetch_add(1, std::memory_order_relaxed),
              std::make_shared<const InfoHashSet>()});
  current_number_.store(first->number, std::memory_order_release);
  MutexLock lock(&mu_);
  current_ = std::move(first);
}

const InfoHashSet& AccessList::ThreadLocalHashes() const {
  // The version this thread last used, of whichever list it last asked.
  thread_local std::shared_ptr<const Version> cache;
  const uint64_t number = current_number_.load(std::memory_order_acquire);
  if (cache == nullptr || cache->number != number) {
    MutexLock lock(&mu_);
    cache = current_;
  }
  return *cache->hashes;
}

bool AccessList::Allows(const InfoHash& info_hash) const {
  if (mode_ == AccessListMode::kOff) return true;
  const bool listed = ThreadLocalHashes().contains(info_hash);
  return mode_ == AccessListMode::kAllow ? listed : !listed;
}

void AccessList::Replace(InfoHashSet hashes) {
  auto next = std::make_shared<const Version>(
      Version{g_next_version_number.fetch_add(1, std::memory_order_relaxed),
              std::make_shared<const InfoHashSet>(std::move(hashes))});
  std::vector<std::shared_ptr<const Version>> unused;
  {
    MutexLock lock(&mu_);
    retired_.push_back(std::move(current_));
    current_ = std::move(next);
    current_number_.store(current_->number, std::memory_order_release);
    // A retired version can only lose users (readers copy current_ alone, under this
    // lock), so a count of 1 means retired_ holds the last reference.
    auto in_use = std::partition(retired_.begin(), retired_.end(),
                                 [](const auto& v) { return v.use_count() > 1; });
    std::move(in_use, retired_.end(), std::back_inserter(unused));
    retired_.erase(in_use, retired_.end());
  }
  // `unused` frees the old sets here, outside the lock, on the reloading thread.
}

std::shared_ptr<const InfoHashSet> AccessList::Snapshot() const {
  MutexLock lock(&mu_);
  return current_->hashes;
}

absl::Status AccessList::LoadFile(const std::string& path, size_t max_bytes,
                                  FileStamp* stamp) {
  auto error = [&](std::string_view what) {
    return absl::InvalidArgumentError(StrCat("access list ", path, ": ", what));
  };
  // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; whatever it is,
  // it is refused below unless it is a regular file, where O_NONBLOCK changes nothing.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return error(StrCat("cannot open: ", strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    std::string reason = strerror(errno);
    close(fd);
    return error(StrCat("cannot stat: ", reason));
  }
  if (stamp != nullptr) *stamp = StampOf(st);
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return error("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    return error(StrCat("is ", st.st_size, " bytes, more than the limit of ", max_bytes));
  }
  // Read to the end, whatever fstat said (the file may be growing), but never past the
  // limit: one byte more than it is enough to know the file is too big.
  std::string text;
  text.resize(static_cast<size_t>(st.st_size) + 1);
  size_t used = 0;
  while (true) {
    if (used == text.size()) {
      if (text.size() > max_bytes) break;
      text.resize(std::min(text.size() * 2 + 4096, max_bytes + 1));
    }
    ssize_t n = read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string reason = strerror(errno);
      close(fd);
      return error(StrCat("cannot read: ", reason));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  close(fd);
  if (used > max_bytes) {
    return error(StrCat("is more than the limit of ", max_bytes, " bytes"));
  }
  text.resize(used);
  absl::StatusOr<InfoHashSet> hashes = ParseAccessList(text);
  if (!hashes.ok()) return error(ToStd(hashes.status().message()));
  Replace(*std::move(hashes));
  return absl::OkStatus();
}

AccessListFile::AccessListFile(std::shared_ptr<AccessList> list, std::string path,
                               size_t max_bytes)
    : list_(std::move(list)), path_(std::move(path)), max_bytes_(max_bytes) {}

absl::StatusOr<bool> AccessListFile::Reload(bool force) {
  MutexLock lock(&mu_);
  std::optional<AccessList::FileStamp> seen;
  if (!force) {
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) {
      if (last_stat_failed_) return false;  // already reported
      last_stat_failed_ = true;
      return absl::InvalidArgumentError(
          StrCat("access list ", path_, ": cannot stat: ", strerror(errno)));
    }
    last_stat_failed_ = false;
    seen = StampOf(st);
    if (last_attempt_.has_value() && *last_attempt_ == *seen) return false;
  }
  AccessList::FileStamp read_stamp;
  absl::Status status = list_->LoadFile(path_, max_bytes_, &read_stamp);
  if (read_stamp.size >= 0) {
    last_attempt_ = read_stamp;  // the file that was actually read
  } else {
    last_attempt_ = seen;        // it could not be opened: retry once it changes
  }
  if (!status.ok()) return status;
  return true;
}

std::unique_ptr<PeriodicWorker> MakeAccessListWorker(std::shared_ptr<AccessListFile> file,
                                                     absl::Duration interval) {
  return std::make_unique<PeriodicWorker>(
      "access-list", interval, [file](PeriodicWorker::Reason reason) {
        const bool force = reason != PeriodicWorker::Reason::kTimer;
        absl::StatusOr<bool> reloaded = file->Reload(force);
        if (!reloaded.ok()) {
          REEF_LOG(Error) << reloaded.status().message() << "; keeping the previous list ("
                          << file->list()->size() << " hashes)";
        } else if (*reloaded) {
          REEF_LOG(Info) << "access list " << file->path() << " reloaded: "
                         << file->list()->size() << " hashes ("
                         << AccessListModeName(file->list()->mode()) << " mode)";
        }
        return absl::OkStatus();
      });
}

}  // namespace reef
