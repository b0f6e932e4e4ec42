#include "server/snapshot/store_snapshot.h"

#include <cstring>
#include <vector>

namespace reef::snapshot {
namespace {

PeerRecord ToRecord(const swarm::StoredPeer& peer) {
  PeerRecord record;
  record.v6 = !peer.endpoint.address.is_v4();
  const size_t address_bytes = record.v6 ? kIpv6AddressSize : kIpv4AddressSize;
  std::memcpy(record.compact.data(), peer.endpoint.address.bytes.data(), address_bytes);
  record.compact[address_bytes] = static_cast<uint8_t>(peer.endpoint.port >> 8);
  record.compact[address_bytes + 1] = static_cast<uint8_t>(peer.endpoint.port & 0xff);
  record.peer_id = PeerId(peer.peer_id);
  record.seeder = peer.seeder;
  record.completed = peer.completed;
  record.age_s = peer.idle_s;
  return record;
}

swarm::StoredPeer FromRecord(const PeerRecord& record, uint32_t age_s) {
  swarm::StoredPeer peer;
  const size_t address_bytes = record.v6 ? kIpv6AddressSize : kIpv4AddressSize;
  peer.endpoint.address.family = record.v6 ? AddressFamily::kV6 : AddressFamily::kV4;
  std::memcpy(peer.endpoint.address.bytes.data(), record.compact.data(), address_bytes);
  peer.endpoint.port = record.port();
  std::memcpy(peer.peer_id.data(), record.peer_id.data(), kPeerIdSize);
  peer.seeder = record.seeder;
  peer.completed = record.completed;
  peer.idle_s = age_s;
  return peer;
}

class StoreRestorer final : public Restorer {
 public:
  StoreRestorer(swarm::TorrentStore& store, int64_t monotonic_now)
      : store_(store), now_(monotonic_now) {}

  void Torrent(const TorrentRecord& torrent) override {
    store_.RestoreCompleted(torrent.info_hash, torrent.completed_v4, torrent.completed_v6);
  }
  bool Peer(const TorrentRecord& torrent, const PeerRecord& peer, uint32_t age_s) override {
    return store_.RestorePeer(torrent.info_hash, FromRecord(peer, age_s), now_);
  }

 private:
  swarm::TorrentStore& store_;
  const int64_t now_;
};

}  // namespace

void FillFromStore(const swarm::TorrentStore& store, int64_t monotonic_now, Writer& writer) {
  // Reused from shard to shard: a shard's worth of records at a time.
  std::vector<swarm::StoredTorrent> torrents;
  std::vector<PeerRecord> peers;
  for (size_t shard = 0; shard < store.shard_count(); ++shard) {
    torrents.clear();
    peers.clear();
    store.VisitShard(
        shard, monotonic_now,
        [&](const swarm::StoredTorrent& torrent) { torrents.push_back(torrent); },
        [&](const swarm::StoredPeer& peer) { peers.push_back(ToRecord(peer)); });
    size_t next_peer = 0;
    for (const swarm::StoredTorrent& torrent : torrents) {
      writer.Torrent({.info_hash = torrent.info_hash,
                      .completed_v4 = torrent.completed_v4,
                      .completed_v6 = torrent.completed_v6,
                      .v4_peers = torrent.peers_v4,
                      .v6_peers = torrent.peers_v6});
      const size_t end = next_peer + torrent.peers_v4 + torrent.peers_v6;
      for (; next_peer < end; ++next_peer) writer.Peer(peers[next_peer]);
    }
  }
}

LoadResult LoadIntoStore(const Options& options, const Clock& clock, swarm::TorrentStore& store) {
  StoreRestorer restorer(store, clock.MonotonicSeconds());
  return LoadSnapshot(options, clock.WallSeconds(), restorer);
}

absl::StatusOr<WriteResult> WriteFromStore(const SnapshotDirectory& directory,
                                           const swarm::TorrentStore& store,
                                           const Clock& clock) {
  const int64_t monotonic_now = clock.MonotonicSeconds();
  return WriteSnapshot(directory, store.config().peer_inactivity_timeout_s, clock.WallSeconds(),
                       [&](Writer& writer) { FillFromStore(store, monotonic_now, writer); });
}

}  // namespace reef::snapshot
