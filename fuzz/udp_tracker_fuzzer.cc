// Stateful fuzzing of the UDP tracker: UdpTracker (BEP 15 adapter), the tracker core and
// the swarm store together, driven by a sequence of datagrams from several clients, with
// a fake clock, against a small model of what the store must hold.
//
// The input is a program: a first byte of settings, then operations, each a few bytes:
//   connect, announce (any torrent, port, left, event, num_want, ip field, with the
//   client's latest connection id or a stale or forged one), scrape (1..7 hashes),
//   a raw datagram, a mutated announce, a clock step, a cleaning of one shard.
// Six clients: IPv4 hosts (two of them on two source ports), one of them also as an
// IPv4-mapped IPv6 source (the same client as far as reef is concerned), and two IPv6
// hosts. One of the torrents is refused by the access list.
//
// Every datagram is first parsed here with protocol/udp to know what reef must do with
// it (so a raw or mutated datagram that happens to be a valid announce is modelled like
// any other). After each operation:
//   - every reply parses with protocol/udp (as the client's family), and it is the reply
//     the request called for: silence, an error with the right reason, a connect with a
//     valid id, an announce or a scrape with the request's transaction id;
//   - an announce's counts are the model's, its peers are of the client's family, are
//     held by the model, distinct, never the client itself, as many as
//     min(num_want, the limit, the other peers), leechers first for a seeder;
//   - a stopped peer is gone: the model drops it, so no later answer may return it;
//   - a scrape's counts are the model's (zeros for the refused torrent);
//   - the store's totals (Stats) and every torrent's counts (Scrape) match the peers the
//     model holds.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/common/ip_address.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/common/socket_address.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/tracker.h"
#include "server/udp/connection_id.h"
#include "server/udp/tracker.h"

namespace reef::udp {
namespace {

constexpr size_t kMaxOperations = 400;
constexpr uint32_t kMaxResponsePeers = 6;
constexpr size_t kMaxScrape = 5;
constexpr uint32_t kTimeout = 300;
constexpr int32_t kInterval = 1800;
constexpr size_t kTorrents = 4;
constexpr size_t kRefusedTorrent = 3;

// The reasons a client is sent (tracker::RefusalReason and UdpTracker's own).
constexpr std::string_view kPortZero = "port must be 1-65535";
constexpr std::string_view kNotAllowed = "info_hash not allowed on this tracker";
constexpr std::string_view kTooManyHashes = "too many info hashes in one scrape";

// Bytes off the front of the input; zeros once it runs out.
class Input {
 public:
  explicit Input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool empty() const { return pos_ >= bytes_.size(); }
  uint8_t Byte() { return empty() ? 0 : bytes_[pos_++]; }
  uint16_t U16() {
    const uint8_t high = Byte();  // two statements: the order of reads is fixed
    const uint8_t low = Byte();
    return static_cast<uint16_t>(high << 8 | low);
  }
  std::span<const uint8_t> Bytes(size_t n) {
    n = std::min(n, bytes_.size() - std::min(pos_, bytes_.size()));
    std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

InfoHash Torrent(size_t t) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(static_cast<uint8_t>(0x10 + t));
  bytes[0] = static_cast<uint8_t>(t);
  return InfoHash(bytes);
}

sockaddr_storage Sockaddr(const SocketAddress& address) {
  sockaddr_storage storage{};
  std::memcpy(&storage, address.sockaddr_ptr(), address.sockaddr_len());
  return storage;
}

struct ClientSocket {
  sockaddr_storage from;
  IpAddress address;  // as reef sees it (IPv4-mapped made IPv4)
};

std::vector<ClientSocket> Clients() {
  std::vector<ClientSocket> out;
  for (const char* text : {"10.0.0.1:40000", "10.0.0.1:40001", "10.0.0.2:5000",
                           "[::ffff:10.0.0.2]:5001", "[2001:db8::1]:6000",
                           "[2001:db8::2]:6001"}) {
    const sockaddr_storage from = Sockaddr(SocketAddress::Parse(text).value());
    out.push_back({from, ClientEndpoint(from)->address});
  }
  return out;
}

// ---- The model ------------------------------------------------------------------------

struct ModelPeer {
  bool seeder = false;
  bool completed_counted = false;
  int64_t last_seen = 0;
};

struct ModelSwarm {
  std::map<std::tuple<std::array<uint8_t, 16>, uint16_t>, ModelPeer> peers;
  uint32_t completed = 0;
  uint32_t seeders() const {
    return static_cast<uint32_t>(std::count_if(
        peers.begin(), peers.end(), [](const auto& kv) { return kv.second.seeder; }));
  }
  uint32_t leechers() const { return static_cast<uint32_t>(peers.size()) - seeders(); }
};

using SwarmKey = std::pair<InfoHash, AddressFamily>;

struct Model {
  std::map<SwarmKey, ModelSwarm> swarms;

  static std::tuple<std::array<uint8_t, 16>, uint16_t> Key(const Endpoint& e) {
    std::array<uint8_t, 16> bytes{};
    std::copy_n(e.address.bytes.begin(), e.address.size(), bytes.begin());
    return {bytes, e.port};
  }

  swarm::SwarmCounts Counts(const InfoHash& t) const {
    swarm::SwarmCounts c;
    for (AddressFamily f : {AddressFamily::kV4, AddressFamily::kV6}) {
      const auto it = swarms.find({t, f});
      if (it == swarms.end()) continue;
      c.seeders += it->second.seeders();
      c.leechers += it->second.leechers();
      c.completed += it->second.completed;
    }
    return c;
  }

  swarm::StoreStats Stats() const {
    swarm::StoreStats s;
    std::set<InfoHash> torrents;
    for (const auto& [key, swarm] : swarms) {
      torrents.insert(key.first);
      s.seeders += swarm.seeders();
      s.leechers += swarm.leechers();
      (key.second == AddressFamily::kV4 ? s.peers_v4 : s.peers_v6) += swarm.peers.size();
    }
    s.torrents = torrents.size();
    return s;
  }
};

// ---- The system under test and the checks ---------------------------------------------

class Harness {
 public:
  explicit Harness(uint8_t settings)
      : store_(swarm::TorrentStore::Create({.shards = 2,
                                            .max_response_peers = kMaxResponsePeers,
                                            .peer_inactivity_timeout_s = kTimeout})
                   .value()),
        access_(AccessListMode::kDeny),
        ids_(ConnectionIds::WithSecret("udp_tracker_fuzzer").value()),
        core_({.announce_interval_s = kInterval,
               .min_announce_interval_s = 60,
               .max_response_peers = kMaxResponsePeers,
               .max_scrape_hashes = kMaxScrape},
              store_, access_, clock_, settings),
        reply_to_bad_ids_((settings & 1) != 0),
        tracker_({.reply_to_bad_connection_id = reply_to_bad_ids_}, core_, ids_),
        clients_(Clients()),
        connection_ids_(clients_.size(), 0) {
    access_.Replace(InfoHashSet{Torrent(kRefusedTorrent)});
    reply_.resize(UdpTracker::MaxReplySize(core_.options()));
  }

  void Run(Input& in) {
    for (size_t i = 0; i < kMaxOperations && !in.empty(); ++i) {
      Step(in);
      CheckStore();
    }
  }

 private:
  void Step(Input& in) {
    const uint8_t op = in.Byte();
    const size_t c = in.Byte() % clients_.size();
    switch (op % 8) {
      case 0: {
        std::array<uint8_t, kConnectRequestSize> d;
        const WriteResult w = WriteConnectRequest({.transaction_id = in.U16()}, d);
        FUZZ_CHECK(w.ok());
        Send(c, std::span(d).first(w.length()));
        break;
      }
      case 1:
      case 2: {
        std::vector<uint8_t> d = AnnounceDatagram(in, c);
        Send(c, d);
        break;
      }
      case 3: {
        const size_t n = 1 + in.Byte() % 7;
        std::vector<InfoHash> hashes;
        for (size_t k = 0; k < n; ++k) hashes.push_back(Torrent(in.Byte() % kTorrents));
        const uint64_t connection_id = ConnectionId(in, c);
        const uint16_t transaction_id = in.U16();
        std::array<uint8_t, kMaxRequestSize> d;
        const WriteResult w = WriteScrapeRequest(connection_id, transaction_id, hashes, d);
        FUZZ_CHECK(w.ok());
        Send(c, std::span(d).first(w.length()));
        break;
      }
      case 4: {
        const size_t length = in.Byte() % 128;
        const std::span<const uint8_t> raw = in.Bytes(length);
        Send(c, raw);
        break;
      }
      case 5: {
        std::vector<uint8_t> d = AnnounceDatagram(in, c);
        const uint8_t where = in.Byte();
        d[where % d.size()] ^= static_cast<uint8_t>(in.Byte() | 1);
        Send(c, d);
        break;
      }
      case 6: {
        clock_.Advance(in.Byte());
        break;
      }
      case 7: {
        Clean(in.Byte() % (store_.shard_count() + 1));
        break;
      }
    }
  }

  // The client's latest connection id, or (now and then) a forged or zero one.
  uint64_t ConnectionId(Input& in, size_t c) {
    const uint8_t choice = in.Byte();
    if (choice < 200) return connection_ids_[c];
    if (choice < 230) return connection_ids_[(c + 1) % clients_.size()];  // someone else's
    return connection_ids_[c] ^ (uint64_t{1} << (choice % 64));
  }

  std::vector<uint8_t> AnnounceDatagram(Input& in, size_t c) {
    AnnounceRequest a;
    a.connection_id = ConnectionId(in, c);
    a.transaction_id = in.U16();
    a.info_hash = Torrent(in.Byte() % kTorrents);
    std::array<uint8_t, 20> id{};
    id.fill(in.Byte());
    a.peer_id = PeerId(id);
    const uint8_t left = in.Byte();
    a.left = left % 3 == 0 ? 0 : left % 3 == 1 ? 1000 : -1 - left;
    a.event = static_cast<AnnounceEvent>(in.Byte() % 4);
    const uint8_t want = in.Byte();
    a.num_want = want % 5 == 0 ? -1 : static_cast<int32_t>(want % 9);
    const uint8_t port = in.Byte();
    a.port = port == 0 ? 0 : static_cast<uint16_t>(6881 + port % 3);
    if ((port & 0x80) != 0) a.ip = {192, 0, 2, 99};  // must be ignored
    std::vector<uint8_t> d(kMaxRequestSize);
    const WriteResult w = WriteAnnounceRequest(a, d);
    FUZZ_CHECK(w.ok());
    d.resize(w.length());
    if ((want & 0x80) != 0) d.insert(d.end(), {2, 2, '/', 'a', 1});  // BEP 41 options
    return d;
  }

  void Clean(size_t shard) {
    const int64_t now = clock_.MonotonicSeconds();
    const swarm::StoreStats before = model_.Stats();
    for (auto it = model_.swarms.begin(); it != model_.swarms.end();) {
      if (store_.ShardOf(it->first.first) != shard) {
        ++it;
        continue;
      }
      std::erase_if(it->second.peers,
                    [&](const auto& kv) { return now - kv.second.last_seen > kTimeout; });
      it = it->second.peers.empty() ? model_.swarms.erase(it) : std::next(it);
    }
    const swarm::CleanStats cleaned = store_.CleanShard(shard, now);
    const swarm::StoreStats after = model_.Stats();
    FUZZ_CHECK(cleaned.peers_removed ==
               (before.peers_v4 + before.peers_v6) - (after.peers_v4 + after.peers_v6));
    FUZZ_CHECK(cleaned.torrents_removed == before.torrents - after.torrents);
  }

  // Sends `datagram` from client `c` and checks the reply against what it called for.
  void Send(size_t c, std::span<const uint8_t> datagram) {
    const ClientSocket& client = clients_[c];
    const int64_t now = clock_.WallSeconds();
    const size_t n = tracker_.Handle(client.from, datagram, reply_);
    FUZZ_CHECK(n <= reply_.size());
    const std::span<const uint8_t> reply(reply_.data(), n);
    std::optional<Response> response;
    if (n > 0) {
      const ResponseResult parsed = ParseResponse(reply, client.address.family);
      FUZZ_CHECK(parsed.ok());
      FUZZ_CHECK(parsed.consumed() == n);
      response = parsed.value();
    }

    const RequestResult request = ParseRequest(datagram);
    if (!request.ok()) {
      if (request.sendable() && ids_.Valid(request.connection_id(), client.address, now)) {
        FUZZ_CHECK(response.has_value());
        const auto* error = std::get_if<ErrorResponse>(&*response);
        FUZZ_CHECK(error != nullptr);
        FUZZ_CHECK(error->transaction_id == request.transaction_id());
        FUZZ_CHECK(error->message == ErrorReason(request.error()));
      } else {
        FUZZ_CHECK(!response.has_value());
      }
      return;
    }
    if (const auto* connect = std::get_if<ConnectRequest>(&request.value())) {
      FUZZ_CHECK(response.has_value());
      const auto* r = std::get_if<ConnectResponse>(&*response);
      FUZZ_CHECK(r != nullptr);
      FUZZ_CHECK(r->transaction_id == connect->transaction_id);
      FUZZ_CHECK(ids_.Valid(r->connection_id, client.address, now));
      // Both sockets of a client share its ids: they are bound to the address.
      for (size_t k = 0; k < clients_.size(); ++k) {
        if (clients_[k].address == client.address) connection_ids_[k] = r->connection_id;
      }
      return;
    }
    if (!ids_.Valid(request.connection_id(), client.address, now)) {
      if (reply_to_bad_ids_) {
        FUZZ_CHECK(response.has_value());
        const auto* error = std::get_if<ErrorResponse>(&*response);
        FUZZ_CHECK(error != nullptr && error->message == kReasonBadConnectionId);
      } else {
        FUZZ_CHECK(!response.has_value());
      }
      return;
    }
    FUZZ_CHECK(response.has_value());
    if (const auto* announce = std::get_if<AnnounceRequest>(&request.value())) {
      CheckAnnounce(client, *announce, *response);
    } else {
      CheckScrape(std::get<ScrapeRequest>(request.value()), *response);
    }
  }

  static void CheckError(const Response& response, uint32_t transaction_id,
                         std::string_view reason) {
    const auto* error = std::get_if<ErrorResponse>(&response);
    FUZZ_CHECK(error != nullptr);
    FUZZ_CHECK(error->transaction_id == transaction_id);
    FUZZ_CHECK(error->message == reason);
  }

  void CheckAnnounce(const ClientSocket& client, const AnnounceRequest& a,
                     const Response& response) {
    if (a.port == 0) return CheckError(response, a.transaction_id, kPortZero);
    // Any info hash: a raw datagram may announce one of its own.
    const InfoHash& t = a.info_hash;
    if (t == Torrent(kRefusedTorrent)) return CheckError(response, a.transaction_id, kNotAllowed);

    // The model's announce: the peer is the client's address and the announced port.
    const AddressFamily family = client.address.family;
    const Endpoint self{client.address, a.port};
    const auto self_key = Model::Key(self);
    uint32_t expected_peers = 0;
    bool seeder = false;
    if (a.event == AnnounceEvent::kStopped) {
      const auto it = model_.swarms.find({t, family});
      if (it != model_.swarms.end()) it->second.peers.erase(self_key);
    } else {
      ModelSwarm& swarm = model_.swarms[{t, family}];
      const bool is_new = swarm.peers.count(self_key) == 0;
      ModelPeer& peer = swarm.peers[self_key];
      if (is_new) peer = ModelPeer{};
      seeder = peer.seeder = a.left == 0;
      peer.last_seen = clock_.MonotonicSeconds();
      if (a.event == AnnounceEvent::kCompleted && !peer.completed_counted) {
        peer.completed_counted = true;
        ++swarm.completed;
      }
      const uint32_t wanted = a.num_want < 0 ? kMaxResponsePeers
                                             : std::min<uint32_t>(static_cast<uint32_t>(a.num_want),
                                                                  kMaxResponsePeers);
      expected_peers = std::min(wanted, static_cast<uint32_t>(swarm.peers.size() - 1));
    }

    const auto* r = std::get_if<AnnounceResponse>(&response);
    FUZZ_CHECK(r != nullptr);
    FUZZ_CHECK(r->transaction_id == a.transaction_id);
    FUZZ_CHECK(r->interval == kInterval);
    const swarm::SwarmCounts counts = model_.Counts(t);
    FUZZ_CHECK(r->seeders == static_cast<int32_t>(counts.seeders));
    FUZZ_CHECK(r->leechers == static_cast<int32_t>(counts.leechers));
    FUZZ_CHECK(r->peers.family() == family);
    FUZZ_CHECK(r->peers.size() == expected_peers);

    std::set<std::tuple<std::array<uint8_t, 16>, uint16_t>> seen;
    uint32_t leechers_returned = 0;
    const auto swarm = model_.swarms.find({t, family});
    for (size_t i = 0; i < r->peers.size(); ++i) {
      const Peer p = r->peers[i];
      FUZZ_CHECK(p.family == family);
      Endpoint e;
      e.address.family = family;
      std::copy_n(p.ip.begin(), 16, e.address.bytes.begin());
      e.port = p.port;
      const auto key = Model::Key(e);
      FUZZ_CHECK(key != self_key);                      // never the client itself
      FUZZ_CHECK(seen.insert(key).second);              // never twice
      FUZZ_CHECK(swarm != model_.swarms.end());
      const auto held = swarm->second.peers.find(key);  // held: a stopped peer is gone
      FUZZ_CHECK(held != swarm->second.peers.end());
      leechers_returned += held->second.seeder ? 0u : 1u;
    }
    if (seeder) {
      FUZZ_CHECK(leechers_returned == std::min(expected_peers, swarm->second.leechers()));
    }
  }

  void CheckScrape(const ScrapeRequest& s, const Response& response) {
    if (s.info_hashes.size() > kMaxScrape) {
      return CheckError(response, s.transaction_id, kTooManyHashes);
    }
    const auto* r = std::get_if<ScrapeResponse>(&response);
    FUZZ_CHECK(r != nullptr);
    FUZZ_CHECK(r->transaction_id == s.transaction_id);
    FUZZ_CHECK(r->stats.size() == s.info_hashes.size());
    for (size_t i = 0; i < s.info_hashes.size(); ++i) {
      const InfoHash t = s.info_hash(i);
      const TorrentStats got = r->stats[i];
      if (t == Torrent(kRefusedTorrent)) {
        FUZZ_CHECK(got == TorrentStats{});  // refused: answered as unknown
        continue;
      }
      const swarm::SwarmCounts want = model_.Counts(t);
      FUZZ_CHECK(got.seeders == static_cast<int32_t>(want.seeders));
      FUZZ_CHECK(got.leechers == static_cast<int32_t>(want.leechers));
      FUZZ_CHECK(got.completed == static_cast<int32_t>(want.completed));
    }
  }

  // The counts match the peers the model holds, torrent by torrent and in total.
  void CheckStore() {
    FUZZ_CHECK(store_.Stats() == model_.Stats());
    for (size_t t = 0; t < kTorrents; ++t) {
      FUZZ_CHECK(store_.Scrape(Torrent(t)) == model_.Counts(Torrent(t)));
    }
    for (const auto& [key, swarm] : model_.swarms) {
      FUZZ_CHECK(store_.Scrape(key.first) == model_.Counts(key.first));
    }
  }

  FakeClock clock_;
  swarm::TorrentStore store_;
  AccessList access_;
  ConnectionIds ids_;
  tracker::Tracker core_;
  bool reply_to_bad_ids_;
  UdpTracker tracker_;
  std::vector<ClientSocket> clients_;
  std::vector<uint64_t> connection_ids_;
  std::vector<uint8_t> reply_;
  Model model_;
};

}  // namespace
}  // namespace reef::udp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reef::udp::Input in(std::span<const uint8_t>(data, size));
  reef::udp::Harness harness(in.Byte());
  harness.Run(in);
  return 0;
}
