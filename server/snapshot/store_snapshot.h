// The swarm store to and from the snapshot file: what reef's main calls at start, on
// SIGTERM and on the [snapshot] schedule.
//
//   LoadIntoStore   at start, before any worker serves: every torrent and peer of a good
//                   file put back (snapshot.h: aged by the downtime, expired ones left out);
//                   a bad file moved aside, the store left empty.
//   WriteFromStore  once the workers have stopped (SIGTERM), or while they serve (the
//                   schedule): each shard copied under its lock (TorrentStore::VisitShard),
//                   then written outside it, so an announce waits at most one shard's copy.
//
// Idle times: the store measures them on the monotonic clock, the file on the wall clock
// (it must mean something to the next process, whose monotonic clock starts elsewhere).
// A peer's age is written as its idle seconds, and the file's written_at is wall time;
// loading adds the downtime and stamps each peer that many seconds before the new
// process's monotonic now.
#ifndef REEF_SERVER_SNAPSHOT_STORE_SNAPSHOT_H_
#define REEF_SERVER_SNAPSHOT_STORE_SNAPSHOT_H_

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/snapshot/file.h"
#include "server/snapshot/snapshot.h"
#include "server/swarm/torrent_store.h"

namespace reef::snapshot {

// The records of `store` into `writer`, shard by shard.
void FillFromStore(const swarm::TorrentStore& store, int64_t monotonic_now, Writer& writer);

// Loads options.path into `store` (which should be empty and not serving yet).
LoadResult LoadIntoStore(const Options& options, const Clock& clock, swarm::TorrentStore& store);

// Writes `store` into `directory`'s snapshot file, atomically (file.h).
absl::StatusOr<WriteResult> WriteFromStore(const SnapshotDirectory& directory,
                                           const swarm::TorrentStore& store,
                                           const Clock& clock);

}  // namespace reef::snapshot

#endif  // REEF_SERVER_SNAPSHOT_STORE_SNAPSHOT_H_
