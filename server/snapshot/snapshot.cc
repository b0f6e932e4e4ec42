#include "server/snapshot/snapshot.h"

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/snapshot/file.h"

namespace reef::snapshot {
namespace {

// Hands records on, aging each peer by the downtime and leaving out the expired ones.
class Loader final : public Visitor {
 public:
  Loader(Restorer& restorer, uint32_t timeout_s, int64_t downtime_s, LoadResult& result)
      : restorer_(restorer), timeout_s_(timeout_s), downtime_s_(downtime_s), result_(result) {}

  void OnTorrent(const TorrentRecord& torrent) override {
    restorer_.Torrent(torrent);
    ++result_.torrents;
  }
  void OnPeer(const TorrentRecord& torrent, const PeerRecord& peer) override {
    const int64_t age = int64_t{peer.age_s} + downtime_s_;
    if (age > timeout_s_) {
      ++result_.expired;
      return;
    }
    if (restorer_.Peer(torrent, peer, static_cast<uint32_t>(age))) {
      ++result_.peers;
    } else {
      ++result_.refused;
    }
  }

 private:
  Restorer& restorer_;
  const int64_t timeout_s_;
  const int64_t downtime_s_;
  LoadResult& result_;
};

LoadResult Refuse(const Options& options, int64_t wall_now, std::string reason) {
  LoadResult result;
  result.outcome = LoadResult::Outcome::kRefused;
  result.reason = std::move(reason);
  absl::StatusOr<std::string> moved = MoveAside(options.path, wall_now);
  if (moved.ok()) {
    result.moved_to = *moved;
    REEF_LOG(Error) << "snapshot " << options.path << " not loaded: " << result.reason
                    << "; moved to " << result.moved_to << "; starting with no swarms";
  } else {
    REEF_LOG(Error) << "snapshot " << options.path << " not loaded: " << result.reason
                    << "; could not move it aside (" << moved.status()
                    << "); starting with no swarms";
  }
  return result;
}

}  // namespace

LoadResult LoadSnapshot(const Options& options, int64_t wall_now, Restorer& restorer) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadWhole(options.path, options.max_file_bytes);
  if (absl::IsNotFound(bytes.status())) {
    REEF_LOG(Info) << "no snapshot at " << options.path << ": starting with no swarms";
    return LoadResult{};
  }
  if (!bytes.ok()) return Refuse(options, wall_now, std::string(bytes.status().message()));
  // Checked whole first (no Restorer call), so a bad file leaves the store untouched.
  absl::StatusOr<Summary> summary = Read(*bytes, options.limits, nullptr);
  if (!summary.ok()) return Refuse(options, wall_now, std::string(summary.status().message()));
  LoadResult result;
  result.outcome = LoadResult::Outcome::kLoaded;
  result.downtime_s = std::max<int64_t>(0, wall_now - summary->header.written_at);
  Loader loader(restorer, options.peer_timeout_s, result.downtime_s, result);
  // Cannot fail: the same bytes were just checked.
  if (absl::StatusOr<Summary> loaded = Read(*bytes, options.limits, &loader); !loaded.ok()) {
    REEF_LOG(Error) << "snapshot " << options.path << ": " << loaded.status();
  }
  result.took = absl::Now() - start;
  REEF_LOG(Info) << "snapshot " << options.path << ": loaded " << result.torrents
                 << " torrents and " << result.peers << " peers in "
                 << absl::FormatDuration(result.took) << " (written "
                 << result.downtime_s << " s ago; " << result.expired
                 << " peers expired meanwhile"
                 << (result.refused > 0 ? ", " + std::to_string(result.refused) +
                                              " refused by the store's limits"
                                        : std::string())
                 << ")";
  return result;
}

absl::StatusOr<WriteResult> WriteSnapshot(const SnapshotDirectory& directory,
                                          uint32_t peer_timeout_s, int64_t wall_now,
                                          absl::FunctionRef<void(Writer&)> fill) {
  const absl::Time start = absl::Now();
  WriteResult result;
  absl::StatusOr<uint64_t> bytes = directory.WriteAtomically([&](Sink& sink) {
    Writer writer(sink, {.written_at = wall_now, .peer_timeout_s = peer_timeout_s});
    fill(writer);
    result.torrents = writer.torrents();
    result.peers = writer.peers();
    return writer.Finish();
  });
  if (!bytes.ok()) {
    REEF_LOG(Error) << "snapshot " << directory.file_path() << " not written: " << bytes.status()
                    << " (the previous one, if any, is kept)";
    return bytes.status();
  }
  result.bytes = *bytes;
  result.took = absl::Now() - start;
  REEF_LOG(Info) << "snapshot " << directory.file_path() << ": wrote " << result.torrents
                 << " torrents and " << result.peers << " peers (" << result.bytes
                 << " bytes) in " << absl::FormatDuration(result.took);
  return result;
}

}  // namespace reef::snapshot
