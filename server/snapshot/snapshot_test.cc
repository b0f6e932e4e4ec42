#include "server/snapshot/snapshot.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "server/common/test_log_sink.h"
#include "server/snapshot/test_dir.h"

namespace reef::snapshot {
namespace {

using testing::TempDir;


bool Exists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0;
}

struct Restored {
  TorrentRecord torrent;
  PeerRecord peer;
  uint32_t age_s;
};

class FakeRestorer final : public Restorer {
 public:
  void Torrent(const TorrentRecord& torrent) override { torrents.push_back(torrent); }
  bool Peer(const TorrentRecord& torrent, const PeerRecord& peer, uint32_t age_s) override {
    if (refuse_port != 0 && peer.port() == refuse_port) return false;
    peers.push_back({torrent, peer, age_s});
    return true;
  }
  std::vector<TorrentRecord> torrents;
  std::vector<Restored> peers;
  uint16_t refuse_port = 0;
};

PeerRecord Peer(uint16_t port, uint32_t age_s) {
  PeerRecord p;
  p.compact = {127, 0, 0, 1, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  p.peer_id = *PeerId::FromString("-LT2080-abcdefghijkl");
  p.age_s = age_s;
  return p;
}

// One torrent, three peers: idle 10 s, 1000 s and 2600 s when written.
void Fill(Writer& w) {
  InfoHash hash;
  hash.mutable_bytes()[0] = 7;
  w.Torrent({.info_hash = hash, .completed_v4 = 9, .v4_peers = 3});
  w.Peer(Peer(1001, 10));
  w.Peer(Peer(1002, 1000));
  w.Peer(Peer(1003, 2600));
}

// Writes the snapshot of Fill() at `options.path`, as reef does at SIGTERM.
absl::StatusOr<WriteResult> Write(const Options& options, int64_t wall_now) {
  absl::StatusOr<SnapshotDirectory> directory = SnapshotDirectory::Open(options.path);
  if (!directory.ok()) return directory.status();
  return WriteSnapshot(*directory, options.peer_timeout_s, wall_now, Fill);
}

Options OptionsIn(const std::string& dir) {
  Options options;
  options.path = dir + "/reef.snapshot";
  options.peer_timeout_s = 2700;
  return options;
}

TEST_CASE("no file: start empty, say so") {
  reef::testing::TestLogSink log;
  FakeRestorer restorer;
  LoadResult result = LoadSnapshot(OptionsIn(TempDir("none")), 1000, restorer);
  CHECK(result.outcome == LoadResult::Outcome::kNoFile);
  CHECK(restorer.torrents.empty());
  CHECK(log.Contains("no snapshot at " + TempDir("none") + "/reef.snapshot: starting with no swarms"));
}

TEST_CASE("written, then loaded after a downtime: peers aged by it, the expired left out") {
  reef::testing::TestLogSink log;
  const Options options = OptionsIn(TempDir("roundtrip"));
  absl::StatusOr<WriteResult> written = Write(options, 5000);
  REQUIRE(written.ok());
  CHECK(written->torrents == 1);
  CHECK(written->peers == 3);
  CHECK(written->bytes == kHeaderSize + kTorrentRecordSize + 3 * kPeerV4RecordSize + kTrailerSize);
  CHECK(log.Contains("wrote 1 torrents and 3 peers (" + std::to_string(written->bytes) + " bytes)"));

  FakeRestorer restorer;
  LoadResult loaded = LoadSnapshot(options, 5000 + 120, restorer);  // down for 2 minutes
  CHECK(loaded.outcome == LoadResult::Outcome::kLoaded);
  CHECK(loaded.downtime_s == 120);
  CHECK(loaded.torrents == 1);
  CHECK(loaded.peers == 2);
  CHECK(loaded.expired == 1);  // 2600 + 120 > 2700
  REQUIRE(restorer.torrents.size() == 1);
  CHECK(restorer.torrents[0].completed_v4 == 9);
  REQUIRE(restorer.peers.size() == 2);
  CHECK(restorer.peers[0].peer.port() == 1001);
  CHECK(restorer.peers[0].age_s == 130);
  CHECK(restorer.peers[1].age_s == 1120);
  CHECK(log.Contains("loaded 1 torrents and 2 peers"));
  CHECK(log.Contains("written 120 s ago; 1 peers expired meanwhile"));
  CHECK(Exists(options.path));  // a good file stays where it is
}

TEST_CASE("a wall clock that went back counts as no downtime") {
  const Options options = OptionsIn(TempDir("clockback"));
  REQUIRE(Write(options, 5000).ok());
  FakeRestorer restorer;
  LoadResult loaded = LoadSnapshot(options, 4000, restorer);
  CHECK(loaded.downtime_s == 0);
  CHECK(loaded.peers == 3);
  CHECK(restorer.peers[2].age_s == 2600);
}

TEST_CASE("peers the store refuses are counted; the rest load") {
  reef::testing::TestLogSink log;
  const Options options = OptionsIn(TempDir("refused"));
  REQUIRE(Write(options, 5000).ok());
  FakeRestorer restorer;
  restorer.refuse_port = 1002;
  LoadResult loaded = LoadSnapshot(options, 5000, restorer);
  CHECK(loaded.peers == 2);
  CHECK(loaded.refused == 1);
  CHECK(log.Contains("1 refused by the store's limits"));
}

// Each way a file can be unusable: nothing reaches the store, the file is moved aside
// with the reason logged, and reef starts empty.
TEST_CASE("a truncated, damaged, foreign, empty or oversized file: moved aside, start empty") {
  struct Case {
    std::string name;
    std::string reason;
  };
  const Case cases[] = {
      {"truncated", "checksum mismatch"},
      {"damaged", "checksum mismatch"},
      {"foreign", "not a reef snapshot"},
      {"empty", "too short: 0 bytes"},
      {"oversized", "over the limit of 100"},
      {"limits", "more than 2 peers, the limit"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    reef::testing::TestLogSink log;
    Options options = OptionsIn(TempDir("bad-" + c.name));
    REQUIRE(Write(options, 5000).ok());
    std::vector<char> bytes;
    {
      std::ifstream in(options.path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (c.name == "truncated") bytes.resize(bytes.size() - 40);
    if (c.name == "damaged") bytes[kHeaderSize + 25] ^= 0x01;
    if (c.name == "foreign") bytes.assign({'[', 'u', 'd', 'p', ']', '\n'});
    if (c.name == "empty") bytes.clear();
    if (c.name == "oversized") options.max_file_bytes = 100;
    if (c.name == "limits") options.limits.max_peers = 2;
    std::ofstream(options.path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

    FakeRestorer restorer;
    LoadResult result = LoadSnapshot(options, 6000, restorer);
    CHECK(result.outcome == LoadResult::Outcome::kRefused);
    CHECK(restorer.torrents.empty());
    CHECK(restorer.peers.empty());
    CHECK_MESSAGE(result.reason.find(c.reason) != std::string::npos, result.reason);
    CHECK(result.moved_to == options.path + ".bad-6000");
    CHECK_FALSE(Exists(options.path));
    CHECK(Exists(result.moved_to));
    CHECK(log.Contains("snapshot " + options.path + " not loaded: "));
    CHECK(log.Contains("; moved to " + options.path + ".bad-6000; starting with no swarms"));
  }
}

TEST_CASE("a failed write keeps the previous snapshot and says so") {
  reef::testing::TestLogSink log;
  Options options = OptionsIn(TempDir("keep"));
  REQUIRE(Write(options, 5000).ok());
  // The directory goes away after reef opened it: the write fails, and says so.
  const std::string doomed_dir = TempDir("doomed");
  absl::StatusOr<SnapshotDirectory> doomed = SnapshotDirectory::Open(doomed_dir + "/s");
  REQUIRE(doomed.ok());
  REQUIRE(rmdir(doomed_dir.c_str()) == 0);
  CHECK_FALSE(WriteSnapshot(*doomed, 2700, 6000, Fill).ok());
  CHECK(log.Contains("snapshot " + doomed_dir + "/s not written: "));
  FakeRestorer restorer;
  CHECK(LoadSnapshot(options, 5000, restorer).peers == 3);
}

}  // namespace
}  // namespace reef::snapshot
