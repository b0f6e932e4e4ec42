#include "server/snapshot/format.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "protocol/common/byte_writer.h"

namespace reef::snapshot {
namespace {

class BufferSink final : public Sink {
 public:
  absl::Status Write(std::span<const uint8_t> bytes) override {
    if (fail_after_ >= 0 && static_cast<int64_t>(bytes_.size() + bytes.size()) > fail_after_) {
      return absl::ResourceExhaustedError("disk full");
    }
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  std::vector<uint8_t> bytes_;
  int64_t fail_after_ = -1;
};

struct Recorded {
  std::vector<TorrentRecord> torrents;
  std::vector<PeerRecord> peers;
};

class Recorder final : public Visitor {
 public:
  void OnTorrent(const TorrentRecord& torrent) override { out.torrents.push_back(torrent); }
  void OnPeer(const TorrentRecord&, const PeerRecord& peer) override { out.peers.push_back(peer); }
  Recorded out;
};

InfoHash Hash(uint8_t n) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(n);
  return InfoHash(bytes);
}

PeerRecord V4Peer(uint8_t last, uint16_t port, bool seeder, uint32_t age) {
  PeerRecord p;
  p.compact = {10, 0, 0, last, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  p.peer_id = *PeerId::FromString("-qB4500-abcdefghijkl");
  p.seeder = seeder;
  p.age_s = age;
  return p;
}

PeerRecord V6Peer(uint8_t last, uint16_t port) {
  PeerRecord p;
  p.v6 = true;
  p.compact[0] = 0x20;
  p.compact[1] = 0x01;
  p.compact[15] = last;
  p.compact[16] = static_cast<uint8_t>(port >> 8);
  p.compact[17] = static_cast<uint8_t>(port);
  p.peer_id = *PeerId::FromString("-TR4060-abcdefghijkl");
  p.age_s = 7;
  return p;
}

// Two torrents: one with two IPv4 peers and an IPv6 peer, one with no peers.
std::vector<uint8_t> Sample() {
  BufferSink sink;
  Writer w(sink, {.written_at = 1795660000, .peer_timeout_s = 2700});
  w.Torrent({.info_hash = Hash(1), .completed_v4 = 4, .completed_v6 = 1, .v4_peers = 2, .v6_peers = 1});
  w.Peer(V4Peer(1, 6881, true, 10));
  w.Peer(V4Peer(2, 51413, false, 2699));
  w.Peer(V6Peer(3, 443));
  w.Torrent({.info_hash = Hash(2), .completed_v4 = 0, .v4_peers = 0, .v6_peers = 0});
  REQUIRE(w.Finish().ok());
  CHECK(w.torrents() == 2);
  CHECK(w.peers() == 3);
  return sink.bytes_;
}

// Replaces the checksum after a deliberate change, so that the check under test is the
// one that must catch it.
void Reseal(std::vector<uint8_t>& file) {
  const std::array<uint8_t, 32> digest =
      Checksum(std::span<const uint8_t>(file).first(file.size() - 32));
  std::copy(digest.begin(), digest.end(), file.end() - 32);
}

std::string ErrorOf(std::span<const uint8_t> file, const Limits& limits = {}) {
  Recorder recorder;
  absl::StatusOr<Summary> read = Read(file, limits, &recorder);
  if (read.ok()) return "";
  CHECK(recorder.out.torrents.empty());  // a refused file reaches no visitor
  CHECK(recorder.out.peers.empty());
  return std::string(read.status().message());
}

TEST_CASE("what is written reads back, record for record") {
  const std::vector<uint8_t> file = Sample();
  CHECK(file.size() == kHeaderSize + 2 * kTorrentRecordSize + 2 * kPeerV4RecordSize +
                           kPeerV6RecordSize + kTrailerSize);
  Recorder recorder;
  absl::StatusOr<Summary> read = Read(file, {}, &recorder);
  REQUIRE_MESSAGE(read.ok(), read.status());
  CHECK(read->header == Header{.written_at = 1795660000, .peer_timeout_s = 2700});
  CHECK(read->torrents == 2);
  CHECK(read->peers == 3);
  REQUIRE(recorder.out.torrents.size() == 2);
  CHECK(recorder.out.torrents[0].info_hash == Hash(1));
  CHECK(recorder.out.torrents[0].completed_v4 == 4);
  CHECK(recorder.out.torrents[0].completed_v6 == 1);
  CHECK(recorder.out.torrents[1].info_hash == Hash(2));
  REQUIRE(recorder.out.peers.size() == 3);
  CHECK(recorder.out.peers[0].port() == 6881);
  CHECK(recorder.out.peers[0].seeder);
  CHECK(recorder.out.peers[0].age_s == 10);
  CHECK(recorder.out.peers[1].port() == 51413);
  CHECK_FALSE(recorder.out.peers[1].seeder);
  CHECK(recorder.out.peers[2].v6);
  CHECK(recorder.out.peers[2].port() == 443);
  CHECK(recorder.out.peers[2].compact[15] == 3);
  CHECK(recorder.out.peers[2].peer_id == *PeerId::FromString("-TR4060-abcdefghijkl"));
  // Without a visitor it only checks.
  CHECK(Read(file, {}, nullptr).ok());
}

TEST_CASE("an empty store makes a valid snapshot of header and trailer") {
  BufferSink sink;
  Writer w(sink, {});
  REQUIRE(w.Finish().ok());
  CHECK(sink.bytes_.size() == kHeaderSize + kTrailerSize);
  CHECK(Read(sink.bytes_, {}, nullptr)->torrents == 0);
}

TEST_CASE("the bytes are laid out as the file comment says") {
  BufferSink sink;
  Writer w(sink, {.written_at = 0x0102030405060708, .peer_timeout_s = 2700});
  w.Torrent({.info_hash = Hash(0xAB), .completed_v4 = 3, .completed_v6 = 2, .v4_peers = 1});
  PeerRecord peer = V4Peer(9, 6881, true, 0x11223344);
  peer.completed = true;
  w.Peer(peer);
  REQUIRE(w.Finish().ok());
  const std::vector<uint8_t>& b = sink.bytes_;
  const std::vector<uint8_t> header = {
      'R', 'E', 'E', 'F', 'S', 'N', 'A', 'P',  // magic
      0, 0, 0, 1,                              // version
      0, 0, 0, 32,                             // header size
      1, 2, 3, 4, 5, 6, 7, 8,                  // written_at
      0, 0, 0x0A, 0x8C,                        // peer timeout 2700
      0, 0, 0, 0,                              // reserved
  };
  REQUIRE(b.size() == kHeaderSize + kTorrentRecordSize + kPeerV4RecordSize + kTrailerSize);
  CHECK(std::vector<uint8_t>(b.begin(), b.begin() + 32) == header);
  CHECK(b[32] == 0xAB);                                          // info hash
  // completed_v4, completed_v6, v4_peers, v6_peers
  CHECK(std::vector<uint8_t>(b.begin() + 52, b.begin() + 68) ==
        std::vector<uint8_t>{0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK(std::vector<uint8_t>(b.begin() + 68, b.begin() + 74) ==
        std::vector<uint8_t>{10, 0, 0, 9, 0x1A, 0xE1});             // 10.0.0.9:6881
  CHECK(b[68 + 6] == '-');                                        // peer id
  CHECK(b[68 + 26] == (kSeederFlag | kCompletedFlag));
  CHECK(std::vector<uint8_t>(b.begin() + 95, b.begin() + 99) ==
        std::vector<uint8_t>{0x11, 0x22, 0x33, 0x44});              // age
  CHECK(std::vector<uint8_t>(b.begin() + 99, b.begin() + 115) ==
        std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1});  // counts
  const std::array<uint8_t, 32> digest = Checksum(std::span<const uint8_t>(b).first(115));
  CHECK(std::equal(digest.begin(), digest.end(), b.begin() + 115));
}

TEST_CASE("every flipped byte and every truncation is refused, and nothing is visited") {
  const std::vector<uint8_t> good = Sample();
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x20;
    INFO("byte ", i);
    CHECK_FALSE(ErrorOf(bad).empty());
  }
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("cut to ", n);
    CHECK_FALSE(ErrorOf(std::span<const uint8_t>(good).first(n)).empty());
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  CHECK_FALSE(ErrorOf(longer).empty());
}

TEST_CASE("the errors say what is wrong") {
  const std::vector<uint8_t> good = Sample();
  CHECK(absl::StrContains(ErrorOf(std::span<const uint8_t>(good).first(10)), "too short: 10 bytes"));
  std::vector<uint8_t> foreign = good;
  foreign[0] = 'X';
  CHECK(absl::StrContains(ErrorOf(foreign), "not a reef snapshot"));
  std::vector<uint8_t> newer = good;
  newer[11] = 2;  // version 2
  CHECK(absl::StrContains(ErrorOf(newer), "format version 2; this reef reads version 1"));
  std::vector<uint8_t> damaged = good;
  damaged[kHeaderSize + 3] ^= 1;
  CHECK(absl::StrContains(ErrorOf(damaged), "checksum mismatch"));

  // Past the checksum (resealed), the record checks.
  const size_t first_peer = kHeaderSize + kTorrentRecordSize;
  std::vector<uint8_t> port_zero = good;
  port_zero[first_peer + 4] = 0;
  port_zero[first_peer + 5] = 0;
  Reseal(port_zero);
  CHECK(absl::StrContains(ErrorOf(port_zero), "torrent 0: peer 0: port 0"));
  std::vector<uint8_t> flags = good;
  flags[first_peer + 26] = 0x85;
  Reseal(flags);
  CHECK(absl::StrContains(ErrorOf(flags), "torrent 0: peer 0: unknown flags 133"));
  std::vector<uint8_t> counts = good;
  counts[counts.size() - 32 - 9] = 3;  // the trailer's torrent count: 3
  Reseal(counts);
  CHECK(absl::StrContains(ErrorOf(counts), "2 torrents and 3 peers, the trailer says 3 and 3"));
  std::vector<uint8_t> too_many_peers = good;
  too_many_peers[kHeaderSize + 31] = 200;  // torrent 0 claims 200 IPv4 peers
  Reseal(too_many_peers);
  CHECK(absl::StrContains(ErrorOf(too_many_peers), "torrent 0: its peers are cut short"));
}

TEST_CASE("limits: past any of them the whole file is refused") {
  const std::vector<uint8_t> file = Sample();
  CHECK(ErrorOf(file, {.max_torrents = 2, .max_peers = 3, .max_peers_per_torrent = 2}).empty());
  CHECK(absl::StrContains(ErrorOf(file, {.max_torrents = 1}), "more than 1 torrents"));
  CHECK(absl::StrContains(ErrorOf(file, {.max_peers = 2}), "more than 2 peers"));
  CHECK(absl::StrContains(ErrorOf(file, {.max_peers_per_torrent = 1}),
                          "torrent 0: 2 IPv4 and 1 IPv6 peers, over the limit of 1"));
}

TEST_CASE("the writer refuses calls out of order, and reports the sink's error") {
  {
    BufferSink sink;
    Writer w(sink, {});
    w.Peer(V4Peer(1, 1, false, 0));  // no torrent yet
    CHECK(w.Finish().code() == absl::StatusCode::kFailedPrecondition);
  }
  {
    BufferSink sink;
    Writer w(sink, {});
    w.Torrent({.info_hash = Hash(1), .v4_peers = 1, .v6_peers = 1});
    w.Peer(V6Peer(1, 1));  // IPv6 before the IPv4 one
    CHECK_FALSE(w.Finish().ok());
  }
  {
    BufferSink sink;
    Writer w(sink, {});
    w.Torrent({.info_hash = Hash(1), .v4_peers = 2});
    w.Peer(V4Peer(1, 1, false, 0));
    CHECK(absl::StrContains(w.Finish().message(), "the last torrent's peers are missing"));
  }
  {
    BufferSink sink;
    sink.fail_after_ = 100;
    Writer w(sink, {});
    for (uint8_t t = 0; t < 200; ++t) {
      w.Torrent({.info_hash = Hash(t), .v4_peers = 1});
      w.Peer(V4Peer(t, 1000, false, 0));
    }
    absl::Status finished = w.Finish();  // the chunked write reaches the sink at the end
    CHECK(finished.code() == absl::StatusCode::kResourceExhausted);
    CHECK(w.Finish().code() == absl::StatusCode::kFailedPrecondition);
  }
}

TEST_CASE("a large snapshot streams through the sink in chunks and reads back") {
  BufferSink sink;
  Writer w(sink, {});
  constexpr uint32_t kTorrents = 20000;
  for (uint32_t t = 0; t < kTorrents; ++t) {
    std::array<uint8_t, 20> hash{};
    ByteWriter(hash).WriteU32Be(t);
    w.Torrent({.info_hash = InfoHash(hash), .completed_v4 = t, .v4_peers = 3});
    for (uint8_t p = 0; p < 3; ++p) w.Peer(V4Peer(p, static_cast<uint16_t>(1000 + p), p == 0, t));
  }
  REQUIRE(w.Finish().ok());
  absl::StatusOr<Summary> read = Read(sink.bytes_, {}, nullptr);
  REQUIRE(read.ok());
  CHECK(read->torrents == kTorrents);
  CHECK(read->peers == 3 * kTorrents);
}

TEST_CASE("the fuzz target's valid seeds are valid snapshots") {
  // corpus/snapshot_loader_fuzzer/ was written by hand (a Python script, not this
  // Writer), so this also checks the format against its description.
  const std::string dir = "corpus/snapshot_loader_fuzzer/";
  std::ifstream in(dir + "two_torrents_both_families", std::ios::binary);
  const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  Recorder recorder;
  absl::StatusOr<Summary> read = Read(file, {}, &recorder);
  REQUIRE_MESSAGE(read.ok(), read.status());
  CHECK(read->torrents == 2);
  CHECK(read->peers == 4);
  REQUIRE(recorder.out.peers.size() == 4);
  CHECK(recorder.out.peers[0].seeder);
  CHECK(recorder.out.peers[0].completed);
  CHECK(recorder.out.peers[3].v6);
  CHECK(recorder.out.torrents[0].completed_v4 == 4);
  std::ifstream bad(dir + "bad_checksum", std::ios::binary);
  const std::vector<uint8_t> damaged((std::istreambuf_iterator<char>(bad)), {});
  CHECK(absl::StrContains(ErrorOf(damaged), "checksum mismatch"));
}

}  // namespace
}  // namespace reef::snapshot
