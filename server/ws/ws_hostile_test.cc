// Hostile WebSocket traffic at live HTTP workers serving WebTorrent (two TcpWorkers with
// InstallWebTorrent, as the reef binary builds them): 1,000 idle upgraded sockets and 200
// half-sent upgrade requests held open, tens of thousands of random and mutated frames
// and messages (noise, unmasked and reserved-bit frames, oversized lengths, broken UTF-8,
// stray continuations, mutated and truncated announce JSON, deep nesting, wrong types),
// and clients that never read while others send them offers and they send requests.
// Afterwards a normal client's announce must be answered correctly and promptly, and its
// offer must reach another normal client. Run under ASan, UBSan and TSan by the sanitizer
// configs, so a memory error or race on these paths fails the test.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "server/common/stop_signal.h"
#include "server/tcp/file_limit.h"
#include "server/tcp/listener.h"
#include "server/tcp/test_handler.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/ws_server.h"
#include "server/ws/ws_test_client.h"

namespace reef::ws {
namespace {

using testing::AnnounceJson;
using testing::ClientFrame;
using testing::ClientTextFrame;
using testing::Id20;
using testing::OfferSpec;
using testing::SdpJson;
using testing::WsTestClient;

constexpr int kIdleSockets = 1000;
constexpr int kHalfUpgrades = 200;
constexpr int kHostileConnections = 400;          // frame garbage, until reef closes each
constexpr int kHostileFramesPerConnection = 100;
constexpr int kMessageConnections = 40;           // bad messages in good frames
constexpr int kMessagesPerConnection = 500;       // 20,000 in all
constexpr auto kDeadline = std::chrono::seconds(240);

const InfoHash kTorrent = Id20('T', 7);

class Server {
 public:
  Server() : access_(std::make_shared<AccessList>(AccessListMode::kOff)) {
    WsConfig ws;
    ws.max_message_size = 16 * 1024;
    ws.max_outbound_size = 64 * 1024;
    tcp::ConnectionLimits limits;
    limits.max_connections = 5000;
    limits.head_timeout_ms = 60'000;  // the half-sent upgrades stay for the whole test
    limits.write_timeout_ms = 60'000;
    std::vector<tcp::TcpWorker*> raw;
    for (int w = 0; w < 2; ++w) {
      absl::StatusOr<int> fd = tcp::OpenTcpListener(SocketAddress::Parse("127.0.0.1:0").value());
      REQUIRE(fd.ok());
      addresses_.push_back(tcp::LocalAddress(*fd).value());
      std::vector<tcp::TcpListener> listeners = {{*fd, false}};
      workers_.push_back(std::make_unique<tcp::TcpWorker>(
          "http-" + std::to_string(w), std::move(listeners), limits,
          std::make_unique<tcp::testing::EchoHandler>(), nullptr));
      raw.push_back(workers_.back().get());
    }
    auto installed = InstallWebTorrent(ws, SwarmConfig{}, access_, raw, 1);
    REQUIRE(installed.ok());
    ws_ = std::move(installed).value();
    for (auto& worker : workers_) {
      threads_.emplace_back([this, w = worker.get()] {
        const absl::Status s = w->Run(stop_);
        CHECK_MESSAGE(s.ok(), s);
      });
    }
  }
  ~Server() {
    stop_.Request();
    for (auto& t : threads_) t.join();
  }
  const SocketAddress& address(size_t w) const { return addresses_[w % addresses_.size()]; }
  WebTorrentSwarm& swarm() { return *ws_.swarm; }
  const WebTorrentHost& host(size_t w) const { return *ws_.hosts[w]; }

 private:
  std::shared_ptr<AccessList> access_;
  std::vector<SocketAddress> addresses_;
  std::vector<std::unique_ptr<tcp::TcpWorker>> workers_;
  WebTorrentServer ws_;
  StopSignal stop_;
  std::vector<std::thread> threads_;
};

class Hostile {
 public:
  explicit Hostile(uint64_t seed) : rng_(seed) {}

  // Anything: frame errors close the connection.
  std::vector<uint8_t> Next() {
    switch (Below(12)) {
      case 0: return Noise(Below(300));
      case 1: return Mutate(ClientTextFrame(ValidAnnounce()));
      case 2: return ClientTextFrame(MutateText(ValidAnnounce()));
      case 3: return ClientTextFrame(ValidAnnounce().substr(0, Below(200)));
      case 4: return Unmasked();
      case 5: return ReservedBits();
      case 6: return HugeLength();
      case 7: return ClientTextFrame("\xc3\x28 not utf-8");
      case 8: return ClientFrame(Opcode::kContinuation, Bytes("stray"));
      case 9: return ClientTextFrame(std::string(Below(5000), '[') + std::string(Below(5000), ']'));
      case 10: return ClientTextFrame(R"({"action":"announce","info_hash":12,"peer_id":[],"offers":{}})");
      default: return ClientFrame(Opcode::kPing, Bytes(std::string(Below(125), 'p')));
    }
  }

  // Well-framed messages that are not what they should be: the connection stays, each
  // gets a failure reason.
  std::vector<uint8_t> NextMessage() {
    switch (Below(6)) {
      case 0: return ClientTextFrame(MutateText(ValidAnnounce()));
      case 1: return ClientTextFrame(Truncate(ValidAnnounce()));
      case 2: return ClientTextFrame(std::string(Below(5000), '[') + std::string(Below(5000), ']'));
      case 3: return ClientTextFrame(R"({"action":"announce","info_hash":12,"peer_id":[],"offers":{}})");
      case 4: return ClientTextFrame(std::string(R"({"action":"scrape","info_hash":[)") +
                                     std::string(Below(3000), '"') + "]}");
      default: return ClientTextFrame(ValidAnnounce());
    }
  }

 private:
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  static std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
  std::string ValidAnnounce() {
    std::vector<OfferSpec> offers;
    for (uint32_t i = 0; i < Below(4); ++i) offers.push_back({Id20('O', i), SdpJson("offer", i)});
    return AnnounceJson(Id20('H', static_cast<uint32_t>(Below(5))),
                        Id20('P', static_cast<uint32_t>(Below(50))), AnnounceEvent::kStarted,
                        Below(2), 5, offers);
  }
  std::vector<uint8_t> Noise(uint64_t size) {
    std::vector<uint8_t> out(size);
    for (auto& b : out) b = static_cast<uint8_t>(rng_());
    return out;
  }
  std::vector<uint8_t> Mutate(std::vector<uint8_t> bytes) {
    for (uint64_t i = 0, n = 1 + Below(4); i < n && !bytes.empty(); ++i) {
      bytes[Below(bytes.size())] = static_cast<uint8_t>(rng_());
    }
    return bytes;
  }
  // Replaces a few ASCII characters (never a byte of a multi-byte UTF-8 sequence: a text
  // message must stay UTF-8, or it is a frame error that closes the connection).
  std::string MutateText(std::string text) {
    for (uint64_t i = 0, n = 1 + Below(4); i < n && !text.empty(); ++i) {
      const size_t at = Below(text.size());
      if ((static_cast<uint8_t>(text[at]) & 0x80) == 0) text[at] = "{}[]\",:\\0a "[Below(11)];
    }
    return text;
  }
  // A prefix that ends between UTF-8 characters.
  std::string Truncate(const std::string& text) {
    size_t n = Below(std::min<size_t>(200, text.size()));
    while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
    return text.substr(0, n);
  }
  std::vector<uint8_t> Unmasked() {
    std::vector<uint8_t> out(64);
    const auto w = WriteFrame(out, Opcode::kText, Bytes("{}"));
    out.resize(w.ok() ? w.length() : 0);
    return out;
  }
  std::vector<uint8_t> ReservedBits() {
    auto f = ClientTextFrame("{}");
    f[0] |= 0x70;
    return f;
  }
  std::vector<uint8_t> HugeLength() {
    // A 64-bit length of 2^40 with a mask: refused (1009) from the header alone.
    return {0x81, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  }

  std::mt19937_64 rng_;
};

TEST_CASE("hostile WebSocket traffic never stops the tracker from serving") {
  const tcp::FileLimit files = tcp::RaiseFileLimit(2 * (kIdleSockets + kHalfUpgrades) + 1000);
  REQUIRE_MESSAGE(files.enough, files.message);
  Server server;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;

  // 1,000 idle upgraded sockets, and 200 upgrade requests cut in the middle.
  std::vector<std::unique_ptr<WsTestClient>> idle;
  for (int i = 0; i < kIdleSockets; ++i) {
    auto c = WsTestClient::Connect(server.address(static_cast<size_t>(i)));
    REQUIRE(c != nullptr);
    idle.push_back(std::move(c));
  }
  for (int i = 0; i < kHalfUpgrades; ++i) {
    auto c = WsTestClient::ConnectRaw(server.address(static_cast<size_t>(i)));
    REQUIRE(c != nullptr);
    REQUIRE(c->SendRaw(std::string_view("GET /announce HTTP/1.1\r\nHost: x\r\nUpgrade: webso")));
    idle.push_back(std::move(c));
  }

  // Clients that never read: they announce (so offers are relayed to them) and then send
  // requests whose answers pile up unread.
  std::vector<std::unique_ptr<WsTestClient>> sleepers;
  for (int i = 0; i < 2; ++i) {
    auto c = WsTestClient::Connect(server.address(static_cast<size_t>(i)));
    REQUIRE(c != nullptr);
    REQUIRE(c->SendText(AnnounceJson(kTorrent, Id20('S', static_cast<uint32_t>(i)),
                                     AnnounceEvent::kStarted, 0, 0, {})));
    sleepers.push_back(std::move(c));
  }
  std::thread pile([&] {
    const std::string scrape = testing::ScrapeJson({kTorrent, Id20('H', 1), Id20('H', 2)});
    for (int n = 0; n < 3000 && std::chrono::steady_clock::now() < deadline; ++n) {
      // Sends block once reef stops reading; a send timeout ends the sleeper's part.
      if (!sleepers[static_cast<size_t>(n) % sleepers.size()]->SendText(scrape)) break;
    }
  });

  // Hostile connections, in parallel threads, half to each worker.
  std::vector<std::thread> attackers;
  std::atomic<uint64_t> frames_sent{0};
  std::atomic<uint64_t> messages_sent{0};
  for (int t = 0; t < 4; ++t) {
    attackers.emplace_back([&, t] {
      Hostile gen(1000 + static_cast<uint64_t>(t));
      for (int c = t; c < kHostileConnections; c += 4) {
        if (std::chrono::steady_clock::now() > deadline) return;
        auto conn = WsTestClient::Connect(server.address(static_cast<size_t>(c)), false, "/announce",
                                          2000);
        if (conn == nullptr) continue;
        for (int f = 0; f < kHostileFramesPerConnection; ++f) {
          if (!conn->SendRaw(gen.Next())) break;  // reef closed it: the usual end
          frames_sent.fetch_add(1);
        }
      }
      for (int c = t; c < kMessageConnections; c += 4) {
        if (std::chrono::steady_clock::now() > deadline) return;
        auto conn = WsTestClient::Connect(server.address(static_cast<size_t>(c)));
        REQUIRE(conn != nullptr);
        for (int m = 0; m < kMessagesPerConnection; ++m) {
          REQUIRE(conn->SendRaw(gen.NextMessage()));
          messages_sent.fetch_add(1);
          if (m % 20 == 19) REQUIRE(conn->ReadFor(5).has_value());  // every reply a valid frame
        }
        // A scrape behind them: once its answer is in, every message before was handled.
        const InfoHash marker = Id20('M', static_cast<uint32_t>(c));
        REQUIRE(conn->SendText(testing::ScrapeJson({marker})));
        bool answered = false;
        for (int tries = 0; tries < 300 && !answered; ++tries) {
          auto frames = conn->ReadFor(100);
          REQUIRE(frames.has_value());
          for (const auto& f : *frames) {
            auto m = testing::ParseServer(f);
            REQUIRE(m.has_value());
            if (auto* s = std::get_if<ScrapeResponse>(&*m)) {
              answered = answered || (s->files().size() == 1 && s->files()[0].info_hash == marker);
            }
          }
        }
        CHECK(answered);
        CHECK_FALSE(conn->WaitClosed(1));  // bad messages never close the connection
      }
    });
  }
  // Meanwhile a talker sends offers to the torrent the sleepers are in.
  {
    auto talker = WsTestClient::Connect(server.address(1));
    REQUIRE(talker != nullptr);
    // 8 MB of offers: more than two sleepers' socket buffers and reef's own.
    const std::vector<OfferSpec> offers = {
        {Id20('O', 1), R"({"type":"offer","sdp":")" + std::string(4000, 'x') + R"("})"}};
    for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < deadline; ++i) {
      REQUIRE(talker->SendText(AnnounceJson(kTorrent, Id20('T', 1), AnnounceEvent::kNone, 1, 1,
                                            offers)));
      auto got = talker->Read(1, 10'000);
      REQUIRE(got.has_value());
    }
  }
  for (auto& t : attackers) t.join();
  CHECK(frames_sent.load() > 1'000);
  CHECK(messages_sent.load() == kMessageConnections * kMessagesPerConnection);

  // A normal client is served, promptly, and its offer reaches another normal client.
  auto a = WsTestClient::Connect(server.address(0));
  auto b = WsTestClient::Connect(server.address(1));
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  const InfoHash fresh = Id20('F', 1);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(a->SendText(AnnounceJson(fresh, Id20('A', 1), AnnounceEvent::kStarted, 0, 0, {})));
  auto got = a->Read(1, 10'000);
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 1);
  auto response = testing::ParseServer((*got)[0]);
  REQUIRE(response.has_value());
  REQUIRE(std::holds_alternative<AnnounceResponse>(*response));
  CHECK(std::get<AnnounceResponse>(*response).complete == 1);
  REQUIRE(b->SendText(AnnounceJson(fresh, Id20('B', 1), AnnounceEvent::kStarted, 9, 1,
                                   {{Id20('O', 9), SdpJson("offer", 9)}})));
  got = a->Read(1, 10'000);
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 1);
  response = testing::ParseServer((*got)[0]);
  REQUIRE(response.has_value());
  CHECK(std::holds_alternative<OfferMessage>(*response));
  MESSAGE("normal announce and relayed offer after the attack took "
          << std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - started)
                 .count()
          << " ms");

  // The idle sockets are still open (nothing made reef drop them), and the counters saw
  // the attack.
  for (int i = 0; i < kIdleSockets; i += 97) {
    CAPTURE(i);
    CHECK_FALSE(idle[static_cast<size_t>(i)]->WaitClosed(1));
  }
  pile.join();
  idle.clear();
  sleepers.clear();
  uint64_t errors = 0, relayed_dropped = 0;
  for (size_t w = 0; w < 2; ++w) {
    errors += server.host(w).connection_stats().protocol_errors.load() +
              server.host(w).connection_stats().too_big.load();
    relayed_dropped += server.host(w).connection_stats().relayed_dropped.load();
  }
  uint64_t failures = 0;
  for (size_t w = 0; w < 2; ++w) failures += server.host(w).tracker_stats().errors_sent.load();
  CHECK(errors > 100);
  CHECK(failures > kMessageConnections * kMessagesPerConnection / 3);
  CHECK(relayed_dropped > 0);
  MESSAGE("garbage frames sent " << frames_sent.load() << ", connections closed on frame errors "
                                 << errors << ", bad messages sent " << messages_sent.load()
                                 << ", failure reasons sent " << failures
                                 << ", relayed frames dropped for sleepers " << relayed_dropped);
}

}  // namespace
}  // namespace reef::ws
