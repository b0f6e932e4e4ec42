// Fuzzes the snapshot reader (server/snapshot/format.h) on any bytes.
//
// Each input is read twice: as it is (so the checksum refuses almost everything, as it
// would a damaged file), and "resealed", its last 32 bytes replaced by the SHA-256 of the
// rest, so that the header and record checks behind the checksum are reached.
// Properties, not just "does not crash":
//  - a refused file reaches the visitor not at all (never half-loaded);
//  - an accepted file's records, written again by snapshot::Writer with its header,
//    give back the very same bytes (the format has one encoding), and the counts the
//    reader returns are those it visited.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/snapshot/format.h"

namespace reef::snapshot {
namespace {

class BufferSink final : public Sink {
 public:
  absl::Status Write(std::span<const uint8_t> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  std::vector<uint8_t> bytes_;
};

// Writes what it is shown, so the result can be compared with the input.
class Rewriter final : public Visitor {
 public:
  explicit Rewriter(const Header& header) : writer_(sink_, header) {}
  void OnTorrent(const TorrentRecord& torrent) override {
    writer_.Torrent(torrent);
    ++torrents_;
  }
  void OnPeer(const TorrentRecord&, const PeerRecord& peer) override {
    FUZZ_CHECK(peer.port() != 0);
    writer_.Peer(peer);
    ++peers_;
  }
  std::vector<uint8_t> Finish() {
    FUZZ_CHECK(writer_.Finish().ok());
    return sink_.bytes_;
  }
  uint64_t torrents_ = 0;
  uint64_t peers_ = 0;

 private:
  BufferSink sink_;
  Writer writer_;
};

// Counts visits, to show that a refused file has none.
class Counter final : public Visitor {
 public:
  void OnTorrent(const TorrentRecord&) override { ++visits; }
  void OnPeer(const TorrentRecord&, const PeerRecord&) override { ++visits; }
  uint64_t visits = 0;
};

void Check(std::span<const uint8_t> file) {
  const Limits limits{.max_torrents = 1000, .max_peers = 10000, .max_peers_per_torrent = 1000};
  Counter counter;
  absl::StatusOr<Summary> summary = Read(file, limits, &counter);
  if (!summary.ok()) {
    FUZZ_CHECK(counter.visits == 0);
    return;
  }
  Rewriter rewriter(summary->header);
  FUZZ_CHECK(Read(file, limits, &rewriter).ok());
  FUZZ_CHECK(rewriter.torrents_ == summary->torrents && rewriter.peers_ == summary->peers);
  const std::vector<uint8_t> again = rewriter.Finish();
  FUZZ_CHECK(again.size() == file.size());
  FUZZ_CHECK(std::equal(again.begin(), again.end(), file.begin()));
}

}  // namespace
}  // namespace reef::snapshot

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace reef::snapshot;
  const std::span<const uint8_t> input(data, size);
  Check(input);
  if (size >= 32) {
    std::vector<uint8_t> resealed(data, data + size);
    const std::array<uint8_t, 32> digest = Checksum(input.first(size - 32));
    std::copy(digest.begin(), digest.end(), resealed.end() - 32);
    Check(resealed);
  }
  return 0;
}
