// WebTorrent through the reef binary, as a user runs it: WebSocket upgrades on the [http]
// and [http.tls] listeners (ws:// and wss://, IPv4 and IPv6), with the default [ws] and
// with every [ws] limit set low and tried at it and just past it; then hostile traffic
// (1,000 idle upgraded sockets, garbage frames, bad messages, a client that never reads)
// and a normal client served afterwards; reef stops with exit 0 each time. Run under
// ASan, UBSan and TSan by the sanitizer configs too (the binary is built with them).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "protocol/common/hex.h"
#include "server/http/reef_process_for_test.h"
#include "server/tcp/file_limit.h"
#include "server/tcp/tcp_test_client.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/webtorrent_tracker.h"
#include "server/ws/ws_test_client.h"

namespace reef::ws {
namespace {

using http_server::testing::ReefForTest;
using http_server::testing::ReefOptions;
using testing::AnnounceJson;
using testing::AnswerJson;
using testing::ClientFrame;
using testing::ClientTextFrame;
using testing::Id20;
using testing::OfferSpec;
using testing::ReceivedFrame;
using testing::ScrapeJson;
using testing::SdpJson;
using testing::WsTestClient;

const InfoHash kTorrent = Id20('T', 1);

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

// A message reef sent, with the frame it was parsed from (the message's views point into
// it, and a unique_ptr keeps them valid when the Reply moves).
struct Reply {
  std::unique_ptr<ReceivedFrame> frame;
  ServerMessage message;
};

// Sends `json` and returns the message that answers it, skipping pings (a client silent
// for ping_interval_seconds gets them).
Reply Ask(WsTestClient& c, const std::string& json) {
  REQUIRE(c.SendText(json));
  for (int frames = 0; frames < 10; ++frames) {
    auto got = c.Read(1);
    REQUIRE(got.has_value());
    REQUIRE(got->size() == 1);
    if ((*got)[0].opcode == Opcode::kPing) continue;
    REQUIRE((*got)[0].opcode == Opcode::kText);
    auto frame = std::make_unique<ReceivedFrame>((*got)[0]);
    auto m = testing::ParseServer(*frame);
    REQUIRE(m.has_value());
    return {std::move(frame), *m};
  }
  FAIL("only pings came back");
  return {};
}

std::string FailureOf(const Reply& r) {
  const auto* e = std::get_if<ErrorResponse>(&r.message);
  return e == nullptr ? std::string() : std::string(e->failure_reason());
}

std::string Hex(const InfoHash& h) {
  std::string out(40, '0');
  REQUIRE(HexEncode(h.bytes(), out));
  return out;
}

// Seeders and leechers of kTorrent, asked over a fresh connection.
std::pair<uint64_t, uint64_t> ScrapeCounts(const SocketAddress& at, bool tls) {
  auto c = WsTestClient::Connect(at, tls);
  REQUIRE(c != nullptr);
  const Reply r = Ask(*c, ScrapeJson({kTorrent}));
  const auto* s = std::get_if<ScrapeResponse>(&r.message);
  REQUIRE(s != nullptr);
  REQUIRE(s->files().size() == 1);
  return {s->files()[0].complete, s->files()[0].incomplete};
}

template <typename F>
bool WaitFor(F done, int timeout_ms = 10'000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

uint16_t CloseCode(const ReceivedFrame& f) {
  REQUIRE(f.opcode == Opcode::kClose);
  REQUIRE(f.payload.size() >= 2);
  return static_cast<uint16_t>(uint8_t(f.payload[0]) * 256 + uint8_t(f.payload[1]));
}

// Two browsers meet on one listener: a seeder, then a leecher whose offer reaches it and
// whose answer comes back; scrape counts both; the leecher's socket closes and it is gone.
void Meet(const SocketAddress& at, bool tls) {
  CAPTURE(at.ToString());
  CAPTURE(tls);
  auto a = WsTestClient::Connect(at, tls);
  auto b = WsTestClient::Connect(at, tls);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  const PeerId pa = Id20('A', 1), pb = Id20('B', 1);
  Reply m = Ask(*a, AnnounceJson(kTorrent, pa, AnnounceEvent::kStarted, 0, 5, Offers(1, 5)));
  auto* response = std::get_if<AnnounceResponse>(&m.message);
  REQUIRE(response != nullptr);
  CHECK(response->complete == 1);
  CHECK(response->incomplete == 0);

  m = Ask(*b, AnnounceJson(kTorrent, pb, AnnounceEvent::kStarted, 100, 5, Offers(10, 5)));
  response = std::get_if<AnnounceResponse>(&m.message);
  REQUIRE(response != nullptr);
  CHECK(response->complete == 1);
  CHECK(response->incomplete == 1);
  auto got = a->Read(1);
  REQUIRE(got.has_value());
  auto offers = MessagesOf<OfferMessage>(*got);
  REQUIRE(offers.size() == 1);  // one offer per other peer, never the sender's own
  CHECK(offers[0].peer_id == pb);

  REQUIRE(a->SendText(AnswerJson(kTorrent, pa, pb, offers[0].offer_id, SdpJson("answer", 1))));
  got = b->Read(1);
  REQUIRE(got.has_value());
  auto answers = MessagesOf<AnswerMessage>(*got);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].peer_id == pa);
  CHECK(answers[0].offer_id == offers[0].offer_id);

  CHECK(ScrapeCounts(at, tls) == std::pair<uint64_t, uint64_t>{1, 1});
  b.reset();  // the socket closes, without "stopped"
  CHECK(WaitFor([&] { return ScrapeCounts(at, tls) == std::pair<uint64_t, uint64_t>{1, 0}; }));
  a.reset();
  CHECK(WaitFor([&] { return ScrapeCounts(at, tls) == std::pair<uint64_t, uint64_t>{0, 0}; }));
}

TEST_CASE("WebTorrent on reef's HTTP and HTTPS ports, IPv4 and IPv6, beside HTTP announces") {
  ReefOptions options;
  options.tls = true;
  ReefForTest reef(options);
  Meet(reef.http(4), false);
  Meet(reef.http(6), false);
  Meet(reef.https(4), true);
  Meet(reef.https(6), true);

  // The same port still serves HTTP announces, and WebTorrent peers are not HTTP peers:
  // a browser seeding kTorrent is not counted or handed to an HTTP client.
  auto browser = WsTestClient::Connect(reef.http(4));
  REQUIRE(browser != nullptr);
  const Reply m =
      Ask(*browser, AnnounceJson(kTorrent, Id20('W', 1), AnnounceEvent::kStarted, 0, 5, {}));
  REQUIRE(std::holds_alternative<AnnounceResponse>(m.message));
  auto http = tcp::testing::TcpTestClient::Connect(reef.http(4));
  REQUIRE(http != nullptr);
  auto r = http->Exchange(http_server::testing::AnnounceRequest(Hex(kTorrent), "-XX0001-000000000001",
                                                                6881, false));
  REQUIRE(r.has_value());
  const auto answer = http_server::testing::ParseAnnounceAnswer(*r);
  CHECK(answer.complete == 0);
  CHECK(answer.incomplete == 1);  // the HTTP client itself
  CHECK(answer.peers.empty());
  browser.reset();
  CHECK(reef.Stop() == 0);
}

// Every [ws] limit low, with [swarm] shards = 1 so max_peers is exact.
constexpr char kLowLimits[] =
    "\n[ws]\n"
    "max_message_size = 2048\n"
    "max_outbound_size = 8192\n"
    "max_offers = 2\n"
    "max_scrape_hashes = 2\n"
    "max_torrents_per_connection = 2\n"
    "max_peers = 4\n"
    "ping_interval_seconds = 1\n"
    "idle_timeout_seconds = 3\n"
    "\n[swarm]\nshards = 1\n";

TEST_CASE("each [ws] limit: at it served, just past it refused, and the connection kept") {
  ReefOptions options;
  options.extra_config = kLowLimits;
  ReefForTest reef(options);
  const SocketAddress& at = reef.http(4);
  auto c = WsTestClient::Connect(at);
  REQUIRE(c != nullptr);

  SUBCASE("max_offers = 2") {
    CHECK(FailureOf(Ask(*c, AnnounceJson(kTorrent, Id20('P', 1), AnnounceEvent::kStarted, 0, 5,
                                         Offers(1, 2)))) == "");
    CHECK(FailureOf(Ask(*c, AnnounceJson(kTorrent, Id20('P', 1), AnnounceEvent::kNone, 0, 5,
                                         Offers(3, 3)))) == kReasonTooManyOffers);
  }
  SUBCASE("max_scrape_hashes = 2") {
    CHECK(FailureOf(Ask(*c, ScrapeJson({Id20('S', 1), Id20('S', 2)}))) == "");
    CHECK(FailureOf(Ask(*c, ScrapeJson({Id20('S', 1), Id20('S', 2), Id20('S', 3)}))) ==
          kReasonTooManyInfoHashes);
  }
  SUBCASE("max_torrents_per_connection = 2") {
    for (uint32_t t = 1; t <= 2; ++t) {
      CHECK(FailureOf(Ask(*c, AnnounceJson(Id20('T', 10 + t), Id20('P', 1),
                                           AnnounceEvent::kStarted, 0, 5, {}))) == "");
    }
    CHECK(FailureOf(Ask(*c, AnnounceJson(Id20('T', 13), Id20('P', 1), AnnounceEvent::kStarted, 0,
                                         5, {}))) == kReasonTooManyTorrents);
  }
  SUBCASE("max_peers = 4") {
    std::vector<std::unique_ptr<WsTestClient>> peers;
    for (uint32_t p = 1; p <= 5; ++p) {
      peers.push_back(WsTestClient::Connect(at));
      REQUIRE(peers.back() != nullptr);
      const std::string failure = FailureOf(Ask(
          *peers.back(), AnnounceJson(Id20('T', 20 + p), Id20('P', p), AnnounceEvent::kStarted, 0,
                                      5, {})));
      CHECK(failure == (p <= 4 ? "" : std::string(kReasonTrackerFull)));
    }
    // One leaves: its place is free at once.
    peers[0].reset();
    CHECK(WaitFor([&] {
      return FailureOf(Ask(*peers[4], AnnounceJson(Id20('T', 25), Id20('P', 5),
                                                   AnnounceEvent::kStarted, 0, 5, {}))) == "";
    }));
  }
  SUBCASE("max_message_size = 2048: at it a failure reason, one byte more closes with 1009") {
    CHECK(FailureOf(Ask(*c, std::string(2048, ' '))) != "");
    REQUIRE(c->SendText(std::string(2049, ' ')));
    auto got = c->Read(1);
    REQUIRE(got.has_value());
    REQUIRE(got->size() == 1);
    CHECK(CloseCode((*got)[0]) == kCloseMessageTooBig);
    CHECK(c->WaitClosed(5000));
  }
  SUBCASE("ping_interval 1 s, idle_timeout 3 s: pinged, then closed, and the peer is gone") {
    REQUIRE(FailureOf(Ask(*c, AnnounceJson(kTorrent, Id20('P', 1), AnnounceEvent::kStarted, 0, 5,
                                           {}))) == "");
    auto got = c->Read(1, 5000);
    REQUIRE(got.has_value());
    REQUIRE(got->size() == 1);
    CHECK((*got)[0].opcode == Opcode::kPing);
    CHECK(c->WaitClosed(10'000));
    CHECK(WaitFor([&] { return ScrapeCounts(at, false) == std::pair<uint64_t, uint64_t>{0, 0}; }));
  }
  c.reset();
  CHECK(reef.Stop() == 0);
}

TEST_CASE("a peer that never reads: reef stops writing to it, closes it, and forgets it") {
  ReefOptions options;
  options.extra_config =
      "write_timeout_seconds = 2\n\n[ws]\nmax_message_size = 2048\nmax_outbound_size = 8192\n";
  ReefForTest reef(options);
  const SocketAddress& at = reef.http(4);
  auto sleeper = WsTestClient::Connect(at);
  REQUIRE(sleeper != nullptr);
  REQUIRE(FailureOf(Ask(*sleeper, AnnounceJson(kTorrent, Id20('S', 1), AnnounceEvent::kStarted, 1,
                                               0, {}))) == "");
  auto talker = WsTestClient::Connect(at);
  REQUIRE(talker != nullptr);
  const std::vector<OfferSpec> big = {
      {Id20('O', 1), R"({"type":"offer","sdp":")" + std::string(1500, 'x') + R"("})"}};
  // Offers for the sleeper, which reads nothing (and is not idle long enough to be pinged
  // out: the ping interval is a minute), until reef has closed it because its output
  // stayed full for write_timeout_seconds, or 30 s pass.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool alone = false;
  int announces = 0;
  while (!alone && std::chrono::steady_clock::now() < deadline) {
    const Reply m = Ask(*talker, AnnounceJson(kTorrent, Id20('T', 1), AnnounceEvent::kNone, 1, 1,
                                              big));
    const auto* r = std::get_if<AnnounceResponse>(&m.message);
    REQUIRE(r != nullptr);
    alone = r->incomplete == 1;  // only the talker: the sleeper's entry was removed
    ++announces;
  }
  CAPTURE(announces);
  CHECK(alone);
  CHECK(sleeper->WaitClosed(5000));
  // The talker is served after, as it was the whole time.
  CHECK(ScrapeCounts(at, false) == std::pair<uint64_t, uint64_t>{0, 1});
  talker.reset();
  CHECK(reef.Stop() == 0);
}

TEST_CASE("hostile WebSocket traffic at the binary, then a normal client is served") {
  const tcp::FileLimit files = tcp::RaiseFileLimit(4096);
  REQUIRE_MESSAGE(files.enough, files.message);
  ReefOptions options;
  options.tls = true;
  options.extra_config = "max_connections = 3000\n\n[ws]\nmax_message_size = 4096\n";
  ReefForTest reef(options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);

  // 1,000 idle upgraded sockets, held open throughout (plain and TLS).
  std::vector<std::unique_ptr<WsTestClient>> idle;
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {
    idle.push_back(WsTestClient::Connect(i % 10 == 0 ? reef.https(4) : reef.http(4), i % 10 == 0));
    REQUIRE(idle.back() != nullptr);
  }
  // A client that announces, then never reads.
  auto sleeper = WsTestClient::Connect(reef.http(4));
  REQUIRE(sleeper != nullptr);
  REQUIRE(sleeper->SendText(AnnounceJson(kTorrent, Id20('Z', 1), AnnounceEvent::kStarted, 1, 0, {})));

  std::mt19937_64 rng(13);
  auto below = [&](uint64_t n) { return rng() % n; };
  // Garbage frames: each connection gets random bytes, mutated frames, unmasked frames,
  // reserved bits, stray continuations, oversized lengths, invalid UTF-8, until reef closes.
  int closed_by_reef = 0;
  for (int conn = 0; conn < 200 && std::chrono::steady_clock::now() < deadline; ++conn) {
    const bool tls = conn % 4 == 0;
    auto c = WsTestClient::Connect(tls ? reef.https(6) : reef.http(6), tls);
    REQUIRE(c != nullptr);
    for (int i = 0; i < 20; ++i) {
      std::vector<uint8_t> bytes;
      switch (below(6)) {
        case 0:
          bytes.resize(below(300));
          for (auto& b : bytes) b = static_cast<uint8_t>(rng());
          break;
        case 1: {
          bytes = ClientTextFrame(AnnounceJson(kTorrent, Id20('H', 1), AnnounceEvent::kStarted, 0, 5,
                                               Offers(1, 2)));
          for (int k = 0; k < 4; ++k) bytes[below(bytes.size())] = static_cast<uint8_t>(rng());
          break;
        }
        case 2: bytes = {0x81, 0x03, 'a', 'b', 'c'}; break;                   // unmasked
        case 3: bytes = ClientFrame(Opcode::kContinuation, std::vector<uint8_t>{'x'}); break;
        case 4: bytes = {0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}; break;
        default: bytes = ClientTextFrame("\xc3\x28 not utf-8"); break;
      }
      if (!c->SendRaw(bytes)) break;
    }
    closed_by_reef += c->WaitClosed(5000) ? 1 : 0;
  }
  CHECK(closed_by_reef >= 150);  // a few random streams may still be mid-frame

  // Well-framed messages that are not what they should be: each gets a failure reason and
  // the connection stays.
  auto talker = WsTestClient::Connect(reef.https(4), true);
  REQUIRE(talker != nullptr);
  const std::vector<std::string> bad = {
      "{", "[]", "null", R"({"action":"announce"})", R"({"action":"dance"})",
      R"({"action":"announce","info_hash":12,"peer_id":[],"offers":{}})",
      std::string(2000, '[') + std::string(2000, ']'),  // deep, and within max_message_size
      R"({"action":"answer","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb"})",
      R"({"action":"scrape","info_hash":[1,2,3]})"};
  for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < deadline; ++i) {
    const std::string& message = bad[static_cast<size_t>(i) % bad.size()];
    CAPTURE(message.substr(0, 80));
    REQUIRE(FailureOf(Ask(*talker, message)) != "");
  }

  // A normal client: answered, and its offer reaches another normal client.
  auto a = WsTestClient::Connect(reef.http(4));
  auto b = WsTestClient::Connect(reef.https(4), true);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  const InfoHash fresh = Id20('F', 1);
  CHECK(std::holds_alternative<AnnounceResponse>(
      Ask(*a, AnnounceJson(fresh, Id20('A', 1), AnnounceEvent::kStarted, 0, 5, {})).message));
  const Reply m = Ask(*b, AnnounceJson(fresh, Id20('B', 1), AnnounceEvent::kStarted, 10, 5,
                                       Offers(1, 1)));
  const auto* r = std::get_if<AnnounceResponse>(&m.message);
  REQUIRE(r != nullptr);
  CHECK(r->complete == 1);
  auto got = a->Read(1);
  REQUIRE(got.has_value());
  CHECK(MessagesOf<OfferMessage>(*got).size() == 1);

  // The idle sockets were kept (the ping interval is a minute): the first and the last
  // still announce. Then reef stops cleanly with all of them connected.
  for (auto* c : {idle.front().get(), idle.back().get()}) {
    CHECK(std::holds_alternative<AnnounceResponse>(
        Ask(*c, AnnounceJson(fresh, Id20('I', c == idle.front().get() ? 1 : 2),
                             AnnounceEvent::kStarted, 10, 5, {})).message));
  }
  CHECK(reef.Stop() == 0);
}

}  // namespace
}  // namespace reef::ws
