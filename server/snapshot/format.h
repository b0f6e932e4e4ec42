// The snapshot file: the swarm store's torrents and peers, written at SIGTERM (and every
// N minutes, if configured) and read back at the next start.
//
// Layout (integers big-endian, as everything on reef's wires):
//
//   header, kHeaderSize = 32 bytes
//     magic         8  "REEFSNAP"
//     version       4  kFormatVersion (a reader refuses any other: never guesses)
//     header_size   4  32
//     written_at    8  wall clock, Unix seconds, when the file was written
//     peer_timeout  4  the writer's peer_inactivity_timeout, seconds (for the log)
//     reserved      4  0
//   torrents, each
//     info_hash    20
//     completed_v4  4  `completed` events counted by the IPv4 swarm
//     completed_v6  4  and by the IPv6 swarm (the torrent's count is their sum)
//     v4_peers      4  how many IPv4 peers follow, then as many IPv6 peers
//     v6_peers      4
//     peers         v4_peers x 31 bytes, then v6_peers x 43 bytes:
//       compact     6 | 18  address then port, as BEP 15 / BEP 23 send them
//       peer_id    20
//       flags       1  bit 0: seeder; bit 1: its `completed` event was counted (so a
//                      repeat after the restart does not count twice); others 0
//       age         4  seconds since the peer's last announce, when written
//   trailer, kTrailerSize = 48 bytes
//     torrents      8  how many torrent records there are
//     peers         8  how many peer records there are
//     sha256       32  of every byte before it
//
// Reading checks the whole file before anything is handed on: the size, the magic, the
// version, the checksum, then every record (ports not 0, no unknown flag, counts that add
// up to the trailer's, nothing left over, within the caller's Limits). A file that fails
// any check yields an error naming what is wrong and where, and the visitor is never
// called, so a caller that loads only on success never holds half a snapshot.
#ifndef REEF_SERVER_SNAPSHOT_FORMAT_H_
#define REEF_SERVER_SNAPSHOT_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/common/fixed_bytes.h"

namespace reef::snapshot {

inline constexpr std::string_view kMagic = "REEFSNAP";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 32;
inline constexpr size_t kTorrentRecordSize = 20 + 4 + 4 + 4 + 4;
inline constexpr size_t kCompactV4Size = 6;
inline constexpr size_t kCompactV6Size = 18;
inline constexpr size_t kPeerV4RecordSize = kCompactV4Size + 20 + 1 + 4;
inline constexpr size_t kPeerV6RecordSize = kCompactV6Size + 20 + 1 + 4;
inline constexpr size_t kTrailerSize = 8 + 8 + 32;
inline constexpr uint8_t kSeederFlag = 0x01;
inline constexpr uint8_t kCompletedFlag = 0x02;

struct Header {
  int64_t written_at = 0;       // Unix seconds
  uint32_t peer_timeout_s = 0;  // informational
  friend bool operator==(const Header&, const Header&) = default;
};

struct TorrentRecord {
  InfoHash info_hash;
  uint32_t completed_v4 = 0;
  uint32_t completed_v6 = 0;
  uint32_t v4_peers = 0;
  uint32_t v6_peers = 0;
};

struct PeerRecord {
  bool v6 = false;
  // The compact entry: 6 bytes (IPv4) or 18 (IPv6) of `bytes` count.
  std::array<uint8_t, kCompactV6Size> compact{};
  PeerId peer_id;
  bool seeder = false;
  bool completed = false;  // its `completed` event has been counted
  uint32_t age_s = 0;

  std::span<const uint8_t> compact_view() const {
    return std::span<const uint8_t>(compact).first(v6 ? kCompactV6Size : kCompactV4Size);
  }
  uint16_t port() const;  // from the compact entry's last two bytes
};

// Where a Writer's bytes go (a file, a buffer in tests).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual absl::Status Write(std::span<const uint8_t> bytes) = 0;
};

// Writes a snapshot to a Sink, front to back, in chunks, computing the checksum as it
// goes. Call Torrent() for each torrent, then exactly v4_peers + v6_peers Peer() calls
// for it (IPv4 ones first), then Finish(). The first error (the sink's, or a call out of
// order) sticks: later calls do nothing and Finish() returns it.
class Writer {
 public:
  Writer(Sink& sink, const Header& header);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Torrent(const TorrentRecord& torrent);
  void Peer(const PeerRecord& peer);
  absl::Status Finish();

  uint64_t torrents() const { return torrents_; }
  uint64_t peers() const { return peers_; }

 private:
  void Put(std::span<const uint8_t> bytes);
  void Flush();
  void Fail(absl::Status status);

  Sink& sink_;
  struct Digest;
  std::unique_ptr<Digest> digest_;
  std::vector<uint8_t> buffer_;
  absl::Status status_;
  uint64_t torrents_ = 0;
  uint64_t peers_ = 0;
  uint32_t v4_left_ = 0;  // peers the current torrent still owes
  uint32_t v6_left_ = 0;
  bool finished_ = false;
};

// What a reader will accept; past any of these the file is refused as a whole.
struct Limits {
  uint64_t max_torrents = UINT64_MAX;
  uint64_t max_peers = UINT64_MAX;
  uint32_t max_peers_per_torrent = UINT32_MAX;  // per family
};

// Receives a checked snapshot, record by record, in file order.
class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual void OnTorrent(const TorrentRecord& torrent) = 0;
  virtual void OnPeer(const TorrentRecord& torrent, const PeerRecord& peer) = 0;
};

struct Summary {
  Header header;
  uint64_t torrents = 0;
  uint64_t peers = 0;
};

// Checks `file` whole (see the file comment); if it is good and `visitor` is not null,
// then hands every record to `visitor`. An error names the first problem ("checksum
// mismatch", "torrent 12: peer 3: port 0", "version 2, this reef reads version 1"), and
// then the visitor has not been called. Never reads outside `file`.
absl::StatusOr<Summary> Read(std::span<const uint8_t> file, const Limits& limits,
                             Visitor* visitor);

// SHA-256 of `bytes`, as the trailer holds it (the fuzz target re-seals mutated files).
std::array<uint8_t, 32> Checksum(std::span<const uint8_t> bytes);

}  // namespace reef::snapshot

#endif  // REEF_SERVER_SNAPSHOT_FORMAT_H_
