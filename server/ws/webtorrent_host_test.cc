#include "server/ws/webtorrent_host.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "server/ws/webtorrent_test_util.h"

namespace reef::ws {
namespace {

using testing::AnnounceJson;
using testing::AnswerJson;
using testing::ClientTextFrame;
using testing::Id20;
using testing::OfferSpec;
using testing::ReceivedFrame;
using testing::ScrapeJson;
using testing::SdpJson;

const InfoHash kTorrent = Id20('T', 1);
const InfoHash kOtherTorrent = Id20('T', 2);

std::vector<OfferSpec> Offers(uint32_t first, uint32_t n) {
  std::vector<OfferSpec> offers;
  for (uint32_t i = 0; i < n; ++i) offers.push_back({Id20('O', first + i), SdpJson("offer", first + i)});
  return offers;
}

struct World {
  explicit World(WebTorrentOptions o = {}, ConnectionLimits l = {},
                 WebTorrentSwarmConfig swarm_config = {},
                 AccessListMode access_mode = AccessListMode::kOff)
      : options(o), limits(l), access(access_mode) {
    REQUIRE(ValidateWebTorrentOptions(options).ok());
    REQUIRE(ValidateConnectionLimits(limits).ok());
    auto created = WebTorrentSwarm::Create(swarm_config);
    REQUIRE(created.ok());
    swarm = std::move(created).value();
    host = std::make_unique<WebTorrentHost>(0, limits, options, *swarm, access, nullptr, 42);
  }
  WebTorrentOptions options;
  ConnectionLimits limits;
  AccessList access;
  std::unique_ptr<WebTorrentSwarm> swarm;
  std::unique_ptr<WebTorrentHost> host;
  int64_t now_ms = 5'000'000;
};

// One browser's connection.
struct Client {
  Client(World& w) : world(w), handle(w.host->Open(w.now_ms)) {}
  void Send(const std::string& json) {
    auto frame = ClientTextFrame(json);
    world.host->OnBytes(handle, frame, world.now_ms);
  }
  // Everything reef wrote to this client so far, as parsed frames.
  std::vector<ReceivedFrame> Take() {
    WsConnection* c = world.host->Find(handle);
    if (c == nullptr) return {};
    auto frames = testing::ParseServerFrames(c->output());
    REQUIRE(frames.has_value());
    world.host->ConsumeOutput(handle, c->output_size(), world.now_ms);
    return *frames;
  }
  World& world;
  ConnectionHandle handle;
};

template <typename T>
std::vector<T> MessagesOf(const std::vector<ReceivedFrame>& frames) {
  std::vector<T> out;
  for (const auto& f : frames) {
    auto m = testing::ParseServer(f);
    REQUIRE(m.has_value());
    if (auto* t = std::get_if<T>(&*m)) out.push_back(*t);
  }
  return out;
}

std::string FailureOf(const std::vector<ReceivedFrame>& frames) {
  auto errors = MessagesOf<ErrorResponse>(frames);
  REQUIRE(errors.size() == 1);
  return std::string(errors[0].failure_reason());
}

TEST_CASE("two browsers meet: offers reach the other, the answer comes back, scrape counts") {
  World w;
  Client a(w), b(w);
  const PeerId pa = Id20('A', 1), pb = Id20('B', 2);

  a.Send(AnnounceJson(kTorrent, pa, AnnounceEvent::kStarted, 0, 5, Offers(100, 5)));
  auto got = a.Take();
  auto responses = MessagesOf<AnnounceResponse>(got);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].info_hash == kTorrent);
  CHECK(responses[0].complete == 1);
  CHECK(responses[0].incomplete == 0);
  CHECK(responses[0].interval == kDefaultWsAnnounceIntervalS);
  CHECK(b.Take().empty());  // b has not announced: no offer for it

  b.Send(AnnounceJson(kTorrent, pb, AnnounceEvent::kStarted, 1000, 5, Offers(200, 5)));
  got = b.Take();
  responses = MessagesOf<AnnounceResponse>(got);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].complete == 1);
  CHECK(responses[0].incomplete == 1);
  CHECK(MessagesOf<OfferMessage>(got).empty());  // never its own offer

  // a is the only other peer: exactly one of b's offers, the first, reaches it.
  got = a.Take();
  auto offers = MessagesOf<OfferMessage>(got);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].info_hash == kTorrent);
  CHECK(offers[0].peer_id == pb);
  CHECK(offers[0].offer_id == Id20('O', 200));
  CHECK(offers[0].offer == SdpJson("offer", 200));

  a.Send(AnswerJson(kTorrent, pa, pb, offers[0].offer_id, SdpJson("answer", 7)));
  CHECK(a.Take().empty());  // no reply to an answer
  got = b.Take();
  auto answers = MessagesOf<AnswerMessage>(got);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].peer_id == pa);
  CHECK(answers[0].offer_id == Id20('O', 200));
  CHECK(answers[0].answer == SdpJson("answer", 7));
  CHECK(answers[0].info_hash == kTorrent);

  a.Send(ScrapeJson({kTorrent, kOtherTorrent}));
  got = a.Take();
  auto scrapes = MessagesOf<ScrapeResponse>(got);
  REQUIRE(scrapes.size() == 1);
  REQUIRE(scrapes[0].files().size() == 2);
  CHECK(scrapes[0].files()[0] == ScrapeFile{kTorrent, 1, 1, 0});
  CHECK(scrapes[0].files()[1] == ScrapeFile{kOtherTorrent, 0, 0, 0});
  a.Send(ScrapeJson({kTorrent}, /*as_array=*/false));
  CHECK(MessagesOf<ScrapeResponse>(a.Take()).size() == 1);

  const auto& stats = w.host->tracker_stats();
  CHECK(stats.announces.load() == 2);
  CHECK(stats.offers_relayed.load() == 1);
  CHECK(stats.answers_relayed.load() == 1);
  CHECK(stats.scrapes.load() == 2);
}

TEST_CASE("disconnecting removes every entry the connection made, at once") {
  World w;
  Client a(w), b(w);
  a.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 0, 0, {}));
  a.Send(AnnounceJson(kOtherTorrent, Id20('A', 1), AnnounceEvent::kStarted, 5, 0, {}));
  b.Send(AnnounceJson(kTorrent, Id20('B', 1), AnnounceEvent::kStarted, 5, 0, {}));
  CHECK(w.swarm->Stats().torrents == 2);

  SUBCASE("the socket closes") { w.host->Release(a.handle); }
  SUBCASE("a close frame") {
    a.Send(std::string());  // an empty text message first: a failure reason, still open
    auto close = testing::ClientFrame(Opcode::kClose, std::vector<uint8_t>{0x03, 0xe8});
    w.host->OnBytes(a.handle, close, w.now_ms);
  }
  SUBCASE("a protocol error") {
    auto bad = testing::ClientFrame(Opcode::kText, std::vector<uint8_t>{0xff});
    w.host->OnBytes(a.handle, bad, w.now_ms);
  }
  SUBCASE("an idle timeout") {
    const int64_t start = w.now_ms;
    w.now_ms = start + w.limits.ping_interval_ms;
    w.host->OnTimerAll(w.now_ms);
    b.Send(ScrapeJson({kTorrent}));  // b answers (any bytes do), a does not
    w.now_ms = start + w.limits.idle_timeout_ms;
    w.host->OnTimerAll(w.now_ms);
    CHECK(w.host->Find(a.handle)->done());
    CHECK(w.host->Find(b.handle)->open());
  }
  CHECK(w.swarm->Scrape(kTorrent) == SwarmCounts{0, 1, 0});
  CHECK(w.swarm->Scrape(kOtherTorrent) == SwarmCounts{});
  CHECK(w.swarm->Stats().torrents == 1);
  CHECK(w.host->tracker_stats().entries_removed_on_close.load() == 2);
}

TEST_CASE("a peer id announced by one connection cannot be used by another") {
  World w;
  Client owner(w), thief(w), third(w);
  const PeerId victim = Id20('V', 1);
  owner.Send(AnnounceJson(kTorrent, victim, AnnounceEvent::kStarted, 100, 5, {}));
  third.Send(AnnounceJson(kTorrent, Id20('C', 3), AnnounceEvent::kStarted, 100, 5, {}));
  owner.Take();
  third.Take();

  // Replace (make it a seeder), stop it, answer as it, receive for it: all refused.
  thief.Send(AnnounceJson(kTorrent, victim, AnnounceEvent::kNone, 0, 5, Offers(1, 1)));
  CHECK(FailureOf(thief.Take()) == kReasonPeerIdInUse);
  thief.Send(AnnounceJson(kTorrent, victim, AnnounceEvent::kStopped, 0, 5, {}));
  CHECK(FailureOf(thief.Take()) == kReasonPeerIdInUse);
  thief.Send(AnswerJson(kTorrent, victim, Id20('C', 3), Id20('O', 1), SdpJson("answer", 1)));
  CHECK(thief.Take().empty());
  CHECK(third.Take().empty());  // the forged answer never arrived
  CHECK(w.host->tracker_stats().answers_not_in_swarm.load() == 1);
  CHECK(w.swarm->Scrape(kTorrent) == SwarmCounts{0, 2, 0});

  // The thief's own close removes nothing of the owner's.
  w.host->Release(thief.handle);
  CHECK(w.swarm->Scrape(kTorrent) == SwarmCounts{0, 2, 0});
  // Offers still reach the owner.
  third.Send(AnnounceJson(kTorrent, Id20('C', 3), AnnounceEvent::kNone, 100, 5, Offers(9, 3)));
  CHECK(MessagesOf<OfferMessage>(owner.Take()).size() == 1);
}

TEST_CASE("offers go to min(offers, numwant) distinct other peers, one offer each") {
  World w;
  std::vector<std::unique_ptr<Client>> clients;
  for (uint32_t i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(w));
    clients.back()->Send(AnnounceJson(kTorrent, Id20('P', i), AnnounceEvent::kStarted, 1, 0, {}));
    clients.back()->Take();
  }
  Client sender(w);
  struct Case {
    std::optional<uint64_t> numwant;
    uint32_t offers;
    size_t expected;
  };
  for (const Case& c : {Case{5, 5, 5}, Case{2, 5, 2}, Case{10, 3, 3}, Case{std::nullopt, 4, 4},
                        Case{0, 5, 0}, Case{10, 10, 8}}) {
    sender.Send(AnnounceJson(kTorrent, Id20('S', 0), AnnounceEvent::kNone, 1, c.numwant,
                             Offers(1000, c.offers)));
    CHECK(MessagesOf<AnnounceResponse>(sender.Take()).size() == 1);
    std::vector<OfferId> seen;
    size_t receivers = 0;
    for (auto& client : clients) {
      auto offers = MessagesOf<OfferMessage>(client->Take());
      CHECK(offers.size() <= 1);  // one offer per peer
      receivers += offers.size();
      for (const auto& o : offers) {
        CHECK(std::find(seen.begin(), seen.end(), o.offer_id) == seen.end());
        seen.push_back(o.offer_id);
      }
    }
    CHECK(receivers == c.expected);
  }
}

TEST_CASE("each limit refuses just past it, with a failure reason, and the connection stays") {
  WebTorrentOptions o;
  o.max_offers = 3;
  o.max_scrape_hashes = 2;
  o.max_torrents_per_connection = 2;
  World w(o);
  Client c(w);
  const PeerId p = Id20('P', 1);

  c.Send(AnnounceJson(kTorrent, p, AnnounceEvent::kStarted, 1, 3, Offers(1, 3)));
  CHECK(MessagesOf<AnnounceResponse>(c.Take()).size() == 1);
  c.Send(AnnounceJson(kTorrent, p, AnnounceEvent::kNone, 1, 4, Offers(1, 4)));
  CHECK(FailureOf(c.Take()) == kReasonTooManyOffers);

  c.Send(ScrapeJson({kTorrent, kOtherTorrent}));
  CHECK(MessagesOf<ScrapeResponse>(c.Take()).size() == 1);
  c.Send(ScrapeJson({kTorrent, kOtherTorrent, Id20('T', 3)}));
  CHECK(FailureOf(c.Take()) == kReasonTooManyInfoHashes);

  c.Send(AnnounceJson(kOtherTorrent, p, AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(MessagesOf<AnnounceResponse>(c.Take()).size() == 1);
  c.Send(AnnounceJson(Id20('T', 3), p, AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(FailureOf(c.Take()) == kReasonTooManyTorrents);
  // Stopping one makes room.
  c.Send(AnnounceJson(kOtherTorrent, p, AnnounceEvent::kStopped, 1, 0, {}));
  c.Take();
  c.Send(AnnounceJson(Id20('T', 3), p, AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(MessagesOf<AnnounceResponse>(c.Take()).size() == 1);

  c.Send("not json");
  CHECK(FailureOf(c.Take()) == ErrorReason(ParseClientMessage("not json").error()));
  CHECK(w.host->Find(c.handle)->open());
  CHECK(w.host->tracker_stats().errors_sent.load() == 4);
}

TEST_CASE("the store's budget answers tracker is full") {
  WebTorrentSwarmConfig config;
  config.shards = 1;
  config.max_peers = 1;
  World w({}, {}, config);
  Client a(w), b(w);
  a.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(MessagesOf<AnnounceResponse>(a.Take()).size() == 1);
  b.Send(AnnounceJson(kTorrent, Id20('B', 1), AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(FailureOf(b.Take()) == kReasonTrackerFull);
}

TEST_CASE("a refused info hash gets a failure reason and scrapes as unknown") {
  World w({}, {}, {}, AccessListMode::kDeny);
  InfoHashSet denied;
  denied.insert(kTorrent);
  w.access.Replace(denied);
  Client c(w);
  c.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 1, 0, {}));
  CHECK(FailureOf(c.Take()) == kReasonNotAllowed);
  CHECK(w.swarm->Stats().torrents == 0);
  c.Send(ScrapeJson({kTorrent}));
  auto scrapes = MessagesOf<ScrapeResponse>(c.Take());
  REQUIRE(scrapes.size() == 1);
  CHECK(scrapes[0].files()[0] == ScrapeFile{kTorrent, 0, 0, 0});
}

TEST_CASE("an answer to a peer that is not there is dropped and counted") {
  World w;
  Client a(w);
  a.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 1, 0, {}));
  a.Take();
  a.Send(AnswerJson(kTorrent, Id20('A', 1), Id20('Z', 9), Id20('O', 1), SdpJson("answer", 1)));
  CHECK(a.Take().empty());
  CHECK(w.host->tracker_stats().answers_no_peer.load() == 1);
}

TEST_CASE("left missing or null is a leecher; completed without left is a seeder") {
  World w;
  Client c(w);
  c.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, std::nullopt, 0, {}));
  auto r = MessagesOf<AnnounceResponse>(c.Take());
  REQUIRE(r.size() == 1);
  CHECK(r[0].incomplete == 1);
  CHECK(r[0].complete == 0);
  c.Send(R"({"action":"announce","info_hash":"TTTTTTTTTTTTTTTTTTTT","peer_id":"AAAAAAAAAAAAAAAAAAAA","left":null})");
  r = MessagesOf<AnnounceResponse>(c.Take());
  REQUIRE(r.size() == 1);
  CHECK(r[0].incomplete == 1);
  c.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kCompleted, std::nullopt, 0, {}));
  r = MessagesOf<AnnounceResponse>(c.Take());
  REQUIRE(r.size() == 1);
  CHECK(r[0].complete == 1);
  CHECK(r[0].incomplete == 0);
  CHECK(w.swarm->Scrape(kTorrent).completed == 1);
}

TEST_CASE("an escaped and a raw binary string name the same peer and torrent") {
  World w;
  Client c(w);
  // info_hash and peer_id: 20 code points each, the last one U+00E9 ("é"), sent raw
  // (UTF-8 C3 A9) the first time and as \u00e9 the second.
  c.Send("{\"action\":\"announce\",\"info_hash\":\"TTTTTTTTTTTTTTTTTTT\xc3\xa9\","
         "\"peer_id\":\"PPPPPPPPPPPPPPPPPPP\xc3\xa9\",\"left\":0,\"event\":\"started\"}");
  auto r = MessagesOf<AnnounceResponse>(c.Take());
  REQUIRE(r.size() == 1);
  CHECK(r[0].complete == 1);
  c.Send(R"({"action":"announce","info_hash":"TTTTTTTTTTTTTTTTTTT\u00e9",)"
         R"("peer_id":"PPPPPPPPPPPPPPPPPPP\u00E9","left":0,"event":"stopped"})");
  r = MessagesOf<AnnounceResponse>(c.Take());
  REQUIRE(r.size() == 1);
  CHECK(r[0].complete == 0);
  CHECK(w.swarm->Stats().torrents == 0);
}

TEST_CASE("a relayed frame for a closed connection is dropped, even when its slot is reused") {
  World w;
  Client a(w), b(w);
  a.Send(AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 1, 0, {}));
  const ConnectionHandle old = a.handle;
  w.host->Release(a.handle);
  Client reuse(w);
  CHECK(reuse.handle.slot == old.slot);
  CHECK(reuse.handle.generation != old.generation);
  std::vector<uint8_t> frame = {0x81, 0x01, 'x'};
  w.host->Deliver(old, frame);
  CHECK(reuse.Take().empty());
  CHECK(w.host->relay_stats().to_closed.load() == 1);
  CHECK(w.host->Find(old) == nullptr);
}

TEST_CASE("a browser that does not read loses relayed offers, counted; memory stays bounded") {
  ConnectionLimits limits;
  limits.max_outbound_bytes = 128 * 1024;
  World w({}, limits);
  Client sleeper(w), talker(w);
  sleeper.Send(AnnounceJson(kTorrent, Id20('S', 1), AnnounceEvent::kStarted, 1, 0, {}));
  const std::string sdp_pad(1000, 'x');
  std::vector<OfferSpec> offer = {{Id20('O', 1), R"({"type":"offer","sdp":")" + sdp_pad + R"("})"}};
  for (int i = 0; i < 500; ++i) {
    talker.Send(AnnounceJson(kTorrent, Id20('T', 1), AnnounceEvent::kNone, 1, 1, offer));
    talker.Take();
  }
  WsConnection* c = w.host->Find(sleeper.handle);
  REQUIRE(c != nullptr);
  CHECK(c->output_size() <= limits.max_outbound_bytes);
  CHECK(w.host->connection_stats().relayed_dropped.load() > 300);
  CHECK(w.host->tracker_stats().offers_relayed.load() == 500);
  CHECK(w.host->buffered_bytes() < 2 * limits.max_outbound_bytes + 64 * 1024);
  // Every writable mark names the sleeper once.
  int marks = 0;
  w.host->TakeWritable([&](const ConnectionHandle& h, void*) {
    CHECK(h == sleeper.handle);
    ++marks;
  });
  CHECK(marks == 1);
}

TEST_CASE("two workers relay through their mailboxes; a full mailbox drops and counts") {
  AccessList access(AccessListMode::kOff);
  auto swarm = std::move(WebTorrentSwarm::Create({})).value();
  const WebTorrentOptions options;
  const ConnectionLimits limits;
  auto boxes = std::move(RelayMailboxes::Create(2, 0, WebTorrentTracker::RelayBufferSize(options)))
                   .value();
  WebTorrentHost w0(0, limits, options, *swarm, access, boxes.get(), 1);
  WebTorrentHost w1(1, limits, options, *swarm, access, boxes.get(), 2);
  const int64_t now = 1'000'000;
  const auto a = w0.Open(now);
  const auto b = w1.Open(now);
  auto send = [&](WebTorrentHost& h, ConnectionHandle c, const std::string& json) {
    auto frame = ClientTextFrame(json);
    h.OnBytes(c, frame, now);
  };
  auto take = [&](WebTorrentHost& h, ConnectionHandle c) {
    WsConnection* conn = h.Find(c);
    auto frames = testing::ParseServerFrames(conn->output());
    REQUIRE(frames.has_value());
    h.ConsumeOutput(c, conn->output_size(), now);
    return *frames;
  };
  send(w0, a, AnnounceJson(kTorrent, Id20('A', 1), AnnounceEvent::kStarted, 1, 0, {}));
  take(w0, a);
  send(w1, b, AnnounceJson(kTorrent, Id20('B', 1), AnnounceEvent::kStarted, 1, 5, Offers(1, 5)));
  take(w1, b);
  CHECK(w1.relay_stats().sent_to_mailbox.load() == 1);
  w1.WakePeers();
  CHECK(w0.DrainMailbox(now) == 1);
  int writable = 0;
  w0.TakeWritable([&](const ConnectionHandle& h, void*) { writable += h == a ? 1 : 0; });
  CHECK(writable == 1);
  auto offers = MessagesOf<OfferMessage>(take(w0, a));
  REQUIRE(offers.size() == 1);
  send(w0, a, AnswerJson(kTorrent, Id20('A', 1), Id20('B', 1), offers[0].offer_id,
                         SdpJson("answer", 3)));
  w0.WakePeers();
  CHECK(w1.DrainMailbox(now) == 1);
  CHECK(MessagesOf<AnswerMessage>(take(w1, b)).size() == 1);

  // Fill w0's mailbox from w1 without w0 draining: the rest is dropped and counted.
  const std::vector<OfferSpec> big = {
      {Id20('O', 1), R"({"type":"offer","sdp":")" + std::string(2000, 'x') + R"("})"}};
  for (int i = 0; i < 200; ++i) {
    send(w1, b, AnnounceJson(kTorrent, Id20('B', 1), AnnounceEvent::kNone, 1, 1, big));
    take(w1, b);
  }
  CHECK(w1.relay_stats().mailbox_full.load() > 0);
  CHECK(w1.relay_stats().sent_to_mailbox.load() + w1.relay_stats().mailbox_full.load() == 201);
  w1.WakePeers();
  CHECK(w0.DrainMailbox(now) == w1.relay_stats().sent_to_mailbox.load() - 1);
}

TEST_CASE("shutdown closes every connection with 1001") {
  World w;
  Client a(w), b(w);
  w.host->CloseAll(w.now_ms);
  for (Client* c : {&a, &b}) {
    auto frames = c->Take();
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].opcode == Opcode::kClose);
  }
  CHECK(w.host->open_connections() == 2);  // until their sockets are released
  CHECK(w.host->connection_stats().open_now.load() == 2);
  w.host->Release(a.handle);
  CHECK(w.host->connection_stats().open_now.load() == 1);
  w.host->Release(b.handle);
  CHECK(w.host->open_connections() == 0);
  CHECK(w.host->connection_stats().open_now.load() == 0);
}

}  // namespace
}  // namespace reef::ws
