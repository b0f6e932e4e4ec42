// Saving the swarms across a restart: what reef does with its snapshot file at start,
// on SIGTERM and every N minutes.
//
//   At start      LoadSnapshot(): no file -> start empty ("no snapshot"); a file that
//                 cannot be used (truncated, damaged, foreign, a newer version, over the
//                 limits) -> logged with the reason, moved aside to <path>.bad-<time>,
//                 start empty; a good file -> every torrent and peer handed to the
//                 Restorer, each peer aged by the time reef was down, and those older
//                 than the peer timeout left out. Never half a file: Read() checks all
//                 of it before the Restorer sees the first record.
//   On SIGTERM    WriteSnapshot() once every worker has stopped (nothing changes under
//   (and every    it); on a schedule while serving, shard by shard, each shard copied
//   N minutes)    under its lock and written outside it.
//
// The store's side (what a Restorer does, how a shard is copied) is in the store
// (server/swarm); this file only moves records between it and the file, and logs.
#ifndef REEF_SERVER_SNAPSHOT_SNAPSHOT_H_
#define REEF_SERVER_SNAPSHOT_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/snapshot/file.h"
#include "server/snapshot/format.h"

namespace reef::snapshot {

// Largest snapshot reef reads (it reads the file into memory): about 130 million peers.
inline constexpr uint64_t kDefaultMaxFileBytes = uint64_t{4} << 30;

struct Options {
  std::string path;
  // Peers idle longer than this (age in the file plus the time reef was down) are left
  // out when loading: the store would drop them at its next cleaning anyway.
  uint32_t peer_timeout_s = 2700;
  uint64_t max_file_bytes = kDefaultMaxFileBytes;
  Limits limits;
};

// Receives a snapshot being loaded; implemented over the swarm store.
class Restorer {
 public:
  virtual ~Restorer() = default;
  // A torrent and its completed counts, before its peers.
  virtual void Torrent(const TorrentRecord& torrent) = 0;
  // A peer of the last torrent, idle for `age_s` seconds now. False if the store refused
  // it (a limit): counted and logged, the rest still loads.
  virtual bool Peer(const TorrentRecord& torrent, const PeerRecord& peer, uint32_t age_s) = 0;
};

struct LoadResult {
  enum class Outcome { kNoFile, kRefused, kLoaded };
  Outcome outcome = Outcome::kNoFile;
  std::string moved_to;       // kRefused: where the file went ("" if it could not move)
  std::string reason;         // kRefused: why
  uint64_t torrents = 0;      // kLoaded
  uint64_t peers = 0;         // handed to the Restorer and accepted
  uint64_t expired = 0;       // older than peer_timeout_s once the downtime is added
  uint64_t refused = 0;       // the Restorer said no
  int64_t downtime_s = 0;     // now - the file's written_at (0 if the clock went back)
  absl::Duration took;
};

// See the file comment. `wall_now` is Unix seconds (the file's written_at is too). Logs
// one line saying what happened.
LoadResult LoadSnapshot(const Options& options, int64_t wall_now, Restorer& restorer);

struct WriteResult {
  uint64_t torrents = 0;
  uint64_t peers = 0;
  uint64_t bytes = 0;
  absl::Duration took;
};

// Writes the snapshot atomically into `directory` (file.h; opened at start, before the
// seccomp filter): `fill` calls writer.Torrent()/Peer() for the whole store. Logs one
// line on success or failure; on failure the previous file stays.
absl::StatusOr<WriteResult> WriteSnapshot(const SnapshotDirectory& directory,
                                          uint32_t peer_timeout_s, int64_t wall_now,
                                          absl::FunctionRef<void(Writer&)> fill);

}  // namespace reef::snapshot

#endif  // REEF_SERVER_SNAPSHOT_SNAPSHOT_H_
