// WebTorrent on live HTTP socket workers: two TcpWorkers (each with a plain and a TLS
// listener on loopback) sharing one swarm and relaying through their mailboxes, and
// WebSocket clients on real sockets: upgrades on the HTTP ports (HTTP still answered
// there), offers and answers across workers, scrape, disconnects, TLS, pings and the idle
// timeout, oversized messages, a client that never reads.
#include "server/ws/ws_stream.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "server/common/stop_signal.h"
#include "server/tcp/listener.h"
#include "server/tcp/tcp_test_client.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/ws_test_client.h"

namespace reef::ws {
namespace {

using testing::AnnounceJson;
using testing::AnswerJson;
using testing::Id20;
using testing::OfferSpec;
using testing::ReceivedFrame;
using testing::ScrapeJson;
using testing::SdpJson;
using testing::WsTestClient;

SocketAddress Address(const char* text) { return SocketAddress::Parse(text).value(); }

const tcp::testing::TestCertificate& Pki() {
  static const tcp::testing::TestCertificate pki = tcp::testing::MakeCaSigned();
  return pki;
}

const InfoHash kTorrent = Id20('T', 1);

// Two HTTP workers, each with a plain and a TLS listener of its own (so a test chooses
// which worker a client lands on), serving WebTorrent over one swarm.
class RunningServer {
 public:
  explicit RunningServer(ConnectionLimits ws_limits = {}, WebTorrentOptions options = {},
                         tcp::ConnectionLimits tcp_limits = {})
      : ws_limits_(ws_limits),
        options_(options),
        access_(std::make_shared<AccessList>(AccessListMode::kOff)) {
    REQUIRE(ValidateConnectionLimits(ws_limits_).ok());
    swarm_ = std::move(WebTorrentSwarm::Create({})).value();
    mailboxes_ = std::move(RelayMailboxes::Create(2, 0, WebTorrentTracker::RelayBufferSize(options_)))
                     .value();
    absl::StatusOr<tcp::SslContext> ctx =
        tcp::MakeServerContext(Pki().certificate_pem, Pki().private_key_pem);
    REQUIRE(ctx.ok());
    tls_ = std::make_unique<tcp::TlsContextStore>(*std::move(ctx));
    for (uint16_t w = 0; w < 2; ++w) {
      std::vector<tcp::TcpListener> listeners;
      for (bool tls : {false, true}) {
        absl::StatusOr<int> fd = tcp::OpenTcpListener(Address("127.0.0.1:0"));
        REQUIRE(fd.ok());
        (tls ? tls_addresses_ : plain_addresses_).push_back(tcp::LocalAddress(*fd).value());
        listeners.push_back({*fd, tls});
      }
      workers_.push_back(std::make_unique<tcp::TcpWorker>(
          "http-" + std::to_string(w), std::move(listeners), tcp_limits,
          std::make_unique<tcp::testing::EchoHandler>(), tls_.get()));
      auto factory = std::make_unique<WsStreamFactory>(w, ws_limits_, options_, swarm_, access_,
                                                       mailboxes_, 100 + w);
      hosts_.push_back(&factory->host());
      WsStreamFactory::Install(std::move(factory), *workers_.back());
    }
    for (auto& worker : workers_) {
      threads_.emplace_back([this, w = worker.get()] {
        const absl::Status s = w->Run(stop_);
        CHECK_MESSAGE(s.ok(), s);
      });
    }
  }
  ~RunningServer() {
    stop_.Request();
    for (auto& t : threads_) t.join();
  }

  const SocketAddress& plain(int worker) const { return plain_addresses_[static_cast<size_t>(worker)]; }
  const SocketAddress& tls(int worker) const { return tls_addresses_[static_cast<size_t>(worker)]; }
  WebTorrentSwarm& swarm() { return *swarm_; }
  // Read only after the workers stopped, or for counters (relaxed atomics).
  const WebTorrentHost& host(int worker) const { return *hosts_[static_cast<size_t>(worker)]; }
  tcp::TcpWorker& worker(int w) { return *workers_[static_cast<size_t>(w)]; }

  template <typename F>
  static bool WaitFor(F done, int timeout_ms = 10'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  ConnectionLimits ws_limits_;
  WebTorrentOptions options_;
  std::shared_ptr<AccessList> access_;
  std::shared_ptr<WebTorrentSwarm> swarm_;
  std::shared_ptr<RelayMailboxes> mailboxes_;
  std::unique_ptr<tcp::TlsContextStore> tls_;
  std::vector<SocketAddress> plain_addresses_, tls_addresses_;
  std::vector<std::unique_ptr<tcp::TcpWorker>> workers_;
  std::vector<WebTorrentHost*> hosts_;
  StopSignal stop_;
  std::vector<std::thread> threads_;
};

template <typename T>
std::vector<T> MessagesOf(const std::vector<ReceivedFrame>& frames) {
  std::vector<T> out;
  for (const auto& f : frames) {
    if (f.opcode != Opcode::kText) continue;
    auto m = testing::ParseServer(f);
    REQUIRE(m.has_value());
    if (auto* t = std::get_if<T>(&*m)) out.push_back(*t);
  }
  return out;
}

std::vector<OfferSpec> Offers(uint32_t first, uint32_t n) {
  std::vector<OfferSpec> offers;
  for (uint32_t i = 0; i < n; ++i) offers.push_back({Id20('O', first + i), SdpJson("offer", first + i)});
  return offers;
}

void MeetAcrossWorkers(RunningServer& server, bool tls) {
  auto a = WsTestClient::Connect(tls ? server.tls(0) : server.plain(0), tls);
  auto b = WsTestClient::Connect(tls ? server.tls(1) : server.plain(1), tls);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  const PeerId pa = Id20('A', 1), pb = Id20('B', 1);
  REQUIRE(a->SendText(AnnounceJson(kTorrent, pa, AnnounceEvent::kStarted, 0, 5, Offers(1, 5))));
  auto got = a->Read(1);
  REQUIRE(got.has_value());
  auto responses = MessagesOf<AnnounceResponse>(*got);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].complete == 1);

  // b is on the other worker: its offer reaches a through the mailbox.
  REQUIRE(b->SendText(AnnounceJson(kTorrent, pb, AnnounceEvent::kStarted, 100, 5, Offers(10, 5))));
  got = b->Read(1);
  REQUIRE(got.has_value());
  responses = MessagesOf<AnnounceResponse>(*got);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].complete == 1);
  CHECK(responses[0].incomplete == 1);
  got = a->Read(1);
  REQUIRE(got.has_value());
  auto offers = MessagesOf<OfferMessage>(*got);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].peer_id == pb);

  // a's answer comes back to b, again across workers.
  REQUIRE(a->SendText(AnswerJson(kTorrent, pa, pb, offers[0].offer_id, SdpJson("answer", 1))));
  got = b->Read(1);
  REQUIRE(got.has_value());
  INFO("worker 0 sent to mailbox ", server.host(0).relay_stats().sent_to_mailbox.load(),
       ", worker 1 received ", server.host(1).relay_stats().received_from_mailbox.load(),
       ", delivered ", server.host(1).relay_stats().delivered_local.load(), ", to closed ",
       server.host(1).relay_stats().to_closed.load(), ", answers relayed ",
       server.host(0).tracker_stats().answers_relayed.load(), ", frames ", got->size(),
       ", answers ", server.host(0).tracker_stats().answers.load(), ", messages ",
       server.host(0).connection_stats().messages.load(), ", bytes in ",
       server.worker(0).stats().bytes_received.load(), ", not in swarm ",
       server.host(0).tracker_stats().answers_not_in_swarm.load());
  auto answers = MessagesOf<AnswerMessage>(*got);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].peer_id == pa);
  CHECK(answers[0].offer_id == offers[0].offer_id);

  REQUIRE(a->SendText(ScrapeJson({kTorrent})));
  got = a->Read(1);
  REQUIRE(got.has_value());
  auto scrapes = MessagesOf<ScrapeResponse>(*got);
  REQUIRE(scrapes.size() == 1);
  CHECK(scrapes[0].files()[0].complete == 1);
  CHECK(scrapes[0].files()[0].incomplete == 1);

  // b goes away: its entry is gone.
  b.reset();
  CHECK(RunningServer::WaitFor([&] { return server.swarm().Scrape(kTorrent).leechers == 0; }));
  REQUIRE(a->SendText(ScrapeJson({kTorrent})));
  got = a->Read(1);
  REQUIRE(got.has_value());
  scrapes = MessagesOf<ScrapeResponse>(*got);
  REQUIRE(scrapes.size() == 1);
  CHECK(scrapes[0].files()[0].complete == 1);
  CHECK(scrapes[0].files()[0].incomplete == 0);
  a.reset();
  CHECK(RunningServer::WaitFor([&] { return server.swarm().Stats().torrents == 0; }));
}

TEST_CASE("two clients on two workers meet over ws://: offers, answers, scrape, disconnect") {
  RunningServer server;
  MeetAcrossWorkers(server, /*tls=*/false);
}

TEST_CASE("the same over wss:// on the HTTPS listeners") {
  RunningServer server;
  MeetAcrossWorkers(server, /*tls=*/true);
}

TEST_CASE("the HTTP port still answers HTTP; bad upgrades are refused") {
  RunningServer server;
  auto http = tcp::testing::TcpTestClient::Connect(server.plain(0));
  REQUIRE(http != nullptr);
  auto r = http->Exchange("GET /announce?x HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(r.has_value());
  CHECK(r->status == 200);

  auto raw = WsTestClient::ConnectRaw(server.plain(0));
  REQUIRE(raw != nullptr);
  raw->SendRaw(
      "GET /announce HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  CHECK(raw->WaitClosed(5000));
  CHECK(raw->received().rfind("HTTP/1.1 426", 0) == 0);

  raw = WsTestClient::ConnectRaw(server.plain(1));
  REQUIRE(raw != nullptr);
  raw->SendRaw(
      "GET /announce HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n");
  CHECK(raw->WaitClosed(5000));
  CHECK(raw->received().rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("frames sent right behind the upgrade request are the stream's") {
  RunningServer server;
  auto raw = WsTestClient::ConnectRaw(server.plain(0));
  REQUIRE(raw != nullptr);
  std::string bytes =
      "GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  const auto frame = testing::ClientTextFrame(ScrapeJson({kTorrent}));
  bytes.append(frame.begin(), frame.end());
  REQUIRE(raw->SendRaw(bytes));
  CHECK(RunningServer::WaitFor([&] {
    raw->ReadFor(10);
    return raw->received().find("\"files\"") != std::string::npos;
  }));
}

TEST_CASE("a silent client is pinged, answers and stays; one that does not answer is closed") {
  ConnectionLimits limits;
  limits.ping_interval_ms = 300;
  limits.idle_timeout_ms = 900;
  RunningServer server(limits);
  auto c = WsTestClient::Connect(server.plain(0));
  REQUIRE(c != nullptr);
  REQUIRE(c->SendText(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 0, 0, {})));
  REQUIRE(c->Read(1).has_value());
  auto got = c->Read(1, 5000);  // the ping
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].opcode == Opcode::kPing);
  // Answer it: the connection lives on past the idle timeout.
  REQUIRE(c->SendRaw(testing::ClientFrame(Opcode::kPong, std::vector<uint8_t>{})));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(server.swarm().Scrape(kTorrent).seeders == 1);
  // Now stay silent: a ping, then the close, and the entry goes with it.
  CHECK(c->WaitClosed(10'000));
  CHECK(RunningServer::WaitFor([&] { return server.swarm().Stats().torrents == 0; }));
}

TEST_CASE("an oversized message is refused with 1009 and the connection closed") {
  ConnectionLimits limits;
  limits.max_message_size = 4096;
  limits.max_outbound_bytes = 64 * 1024;
  RunningServer server(limits);
  auto c = WsTestClient::Connect(server.plain(1));
  REQUIRE(c != nullptr);
  REQUIRE(c->SendText(std::string(4097, 'x')));
  auto got = c->Read(1);
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].opcode == Opcode::kClose);
  CHECK(uint8_t((*got)[0].payload[0]) * 256 + uint8_t((*got)[0].payload[1]) == kCloseMessageTooBig);
  CHECK(c->WaitClosed(5000));
}

TEST_CASE("a client that never reads loses relayed offers and the others are served") {
  ConnectionLimits limits;
  limits.max_outbound_bytes = 80 * 1024;
  tcp::ConnectionLimits tcp_limits;
  tcp_limits.write_timeout_ms = 60'000;  // keep the sleeper: this test is about relays
  RunningServer server(limits, {}, tcp_limits);
  auto sleeper = WsTestClient::Connect(server.plain(0));
  REQUIRE(sleeper != nullptr);
  REQUIRE(sleeper->SendText(AnnounceJson(kTorrent, Id20('S', 1), AnnounceEvent::kStarted, 1, 0, {})));
  auto talker = WsTestClient::Connect(server.plain(1));
  REQUIRE(talker != nullptr);
  const std::vector<OfferSpec> big = {
      {Id20('O', 1), R"({"type":"offer","sdp":")" + std::string(4000, 'x') + R"("})"}};
  // 8 MB of offers for a client that reads nothing: more than the kernel's socket buffers
  // (a few MB on loopback) and reef's (80 KiB of WebSocket output, 64 KiB of TCP output).
  for (int i = 0; i < 2000; ++i) {
    REQUIRE(talker->SendText(AnnounceJson(kTorrent, Id20('T', 1), AnnounceEvent::kNone, 1, 1, big)));
    auto got = talker->Read(1);
    REQUIRE(got.has_value());
    REQUIRE(MessagesOf<AnnounceResponse>(*got).size() == 1);
  }
  CHECK(RunningServer::WaitFor([&] {
    return server.host(0).connection_stats().relayed_dropped.load() > 100;
  }));
  // Still served: a scrape on the sleeper's worker.
  auto other = WsTestClient::Connect(server.plain(0));
  REQUIRE(other != nullptr);
  REQUIRE(other->SendText(ScrapeJson({kTorrent})));
  auto got = other->Read(1);
  REQUIRE(got.has_value());
  CHECK(MessagesOf<ScrapeResponse>(*got).size() == 1);
}

}  // namespace
}  // namespace reef::ws
