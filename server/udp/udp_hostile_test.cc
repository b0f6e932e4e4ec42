// Hostile traffic at a running UDP tracker: at least kHostileDatagrams random and mutated
// datagrams (mutations of valid requests, truncations, wrong actions, oversized scrapes,
// forged connection ids, plain noise), over IPv4 and IPv6, at both backends. Afterwards
// the server must still answer a normal client correctly and stop cleanly. Run under ASan
// and UBSan by the sanitizer configs, so any memory error on these paths fails the test.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/udp/udp_server_test_util.h"

namespace reef::udp {
namespace {

using testing::TestClient;
using testing::TestServer;

constexpr uint64_t kHostileDatagrams = 100'000;
// Sending stops waiting for the server after this long; the test then fails.
constexpr auto kDeadline = std::chrono::seconds(120);

class HostileGenerator {
 public:
  HostileGenerator(uint64_t seed, uint64_t valid_connection_id)
      : rng_(seed), valid_id_(valid_connection_id) {}

  std::vector<uint8_t> Next() {
    switch (Below(8)) {
      case 0: return Noise(Below(1600));
      case 1: return Mutate(ValidAnnounce());
      case 2: return Truncate(ValidAnnounce());
      case 3: return WrongAction();
      case 4: return HugeScrape();
      case 5: return Mutate(ValidScrape());
      case 6: return ForgedAnnounce();
      default: return Mutate(ValidConnect());
    }
  }

 private:
  uint64_t Below(uint64_t n) { return rng_() % n; }

  std::vector<uint8_t> Write(const Request& request) {
    std::vector<uint8_t> out(kMaxRequestSize);
    WriteResult w = WriteRequest(request, out);
    out.resize(w.ok() ? w.length() : 0);
    return out;
  }
  std::vector<uint8_t> Noise(uint64_t size) {
    std::vector<uint8_t> out(size);
    for (auto& b : out) b = static_cast<uint8_t>(rng_());
    return out;
  }
  AnnounceRequest RandomAnnounce(uint64_t id) {
    AnnounceRequest a;
    a.connection_id = id;
    a.transaction_id = static_cast<uint32_t>(rng_());
    for (auto& b : a.info_hash.mutable_bytes()) b = static_cast<uint8_t>(Below(4));  // few torrents
    for (auto& b : a.peer_id.mutable_bytes()) b = static_cast<uint8_t>(rng_());
    a.left = static_cast<int64_t>(rng_());
    a.event = static_cast<AnnounceEvent>(Below(4));
    a.num_want = static_cast<int32_t>(rng_());
    a.port = static_cast<uint16_t>(rng_());
    return a;
  }
  std::vector<uint8_t> ValidAnnounce() {
    std::vector<uint8_t> out = Write(RandomAnnounce(valid_id_));
    if (Below(4) == 0) {  // BEP 41 options, or junk after the announce
      std::vector<uint8_t> tail = Noise(Below(64));
      out.insert(out.end(), tail.begin(), tail.end());
    }
    return out;
  }
  std::vector<uint8_t> ForgedAnnounce() { return Write(RandomAnnounce(rng_())); }
  std::vector<uint8_t> ValidConnect() {
    return Write(ConnectRequest{.transaction_id = static_cast<uint32_t>(rng_())});
  }
  std::vector<uint8_t> ValidScrape() {
    std::vector<uint8_t> hashes = Noise(20 * (1 + Below(kMaxScrapeHashes)));
    return Write(ScrapeRequest{.connection_id = valid_id_,
                               .transaction_id = static_cast<uint32_t>(rng_()),
                               .info_hashes = InfoHashList::FromBytes(hashes).value()});
  }
  std::vector<uint8_t> HugeScrape() {
    // Past the 74-hash limit and the 1500-byte datagram limit, or just at them.
    const uint64_t hashes = kMaxScrapeHashes - 1 + Below(200);
    std::vector<uint8_t> out(16 + 20 * hashes);
    ByteWriter w(out);
    w.WriteU64Be(Below(2) ? valid_id_ : rng_());
    w.WriteU32Be(static_cast<uint32_t>(Action::kScrape));
    w.WriteU32Be(static_cast<uint32_t>(rng_()));
    return out;
  }
  std::vector<uint8_t> WrongAction() {
    std::vector<uint8_t> out = ValidAnnounce();
    const uint32_t action = static_cast<uint32_t>(4 + Below(UINT32_MAX - 4));
    for (int i = 0; i < 4; ++i) out[8 + static_cast<size_t>(i)] = static_cast<uint8_t>(action >> (24 - 8 * i));
    return out;
  }
  std::vector<uint8_t> Mutate(std::vector<uint8_t> in) {
    if (in.empty()) return in;
    const uint64_t flips = 1 + Below(8);
    for (uint64_t i = 0; i < flips; ++i) in[Below(in.size())] ^= static_cast<uint8_t>(1 + Below(255));
    return in;
  }
  std::vector<uint8_t> Truncate(std::vector<uint8_t> in) {
    in.resize(Below(in.size() + 1));
    return in;
  }

  std::mt19937_64 rng_;
  uint64_t valid_id_;
};

void Barrage(UdpBackend backend) {
  Config config = TestServer::LoopbackConfig(backend, 2);
  TestServer server(config);
  TestClient v4(server.v4());
  TestClient v6(server.v6());
  const uint64_t seed = 20261126;
  CAPTURE(seed);
  HostileGenerator gen4(seed, v4.Connect());
  HostileGenerator gen6(seed + 1, v6.Connect());

  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  uint64_t sent = 0;
  while (server.DatagramsReceived() < kHostileDatagrams + 2 &&
         std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 512; ++i, ++sent) {
      std::vector<uint8_t> datagram = (sent % 2 == 0) ? gen4.Next() : gen6.Next();
      (sent % 2 == 0 ? v4 : v6).SendRaw(datagram);
    }
    // Let the server catch up (a full socket would drop, which tests nothing), and throw
    // away the replies.
    while (server.DatagramsReceived() + 2048 < sent &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    while (v4.Receive(0)) {
    }
    while (v6.Receive(0)) {
    }
  }
  MESSAGE("sent ", sent, ", server received ", server.DatagramsReceived());
  REQUIRE(server.DatagramsReceived() >= kHostileDatagrams);

  // A normal client is still served correctly, on both families.
  for (const SocketAddress* address : {&server.v4(), &server.v6()}) {
    TestClient client(*address);
    const uint64_t id = client.Connect();
    AnnounceRequest a;
    a.connection_id = id;
    a.transaction_id = 31337;
    a.info_hash = InfoHash::FromHex("00112233445566778899aabbccddeeff00112233").value();
    a.peer_id = PeerId::FromString("-RF0001-normalclient").value();
    a.left = 0;
    a.event = AnnounceEvent::kStarted;
    a.port = 51413;
    std::vector<uint8_t> storage;
    std::optional<Response> reply = client.Exchange(a, &storage);
    REQUIRE(reply.has_value());
    REQUIRE(std::holds_alternative<AnnounceResponse>(*reply));
    const auto& r = std::get<AnnounceResponse>(*reply);
    CHECK(r.transaction_id == 31337);
    CHECK(r.seeders >= 1);
    CHECK(r.interval == static_cast<int32_t>(absl::ToInt64Seconds(config.swarm.announce_interval)));
  }
  CHECK(server.Stop().ok());
}

TEST_CASE("100,000 hostile datagrams do not stop the epoll workers") {
  Barrage(UdpBackend::kEpoll);
}

TEST_CASE("100,000 hostile datagrams do not stop the io_uring workers") {
  Barrage(UdpBackend::kIoUring);
}

}  // namespace
}  // namespace reef::udp
