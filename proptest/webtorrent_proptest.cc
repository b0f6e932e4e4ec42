// Model-based property test of the WebTorrent swarm and relay (rapidcheck state testing).
//
// Two socket workers' hosts (WebTorrentHost) share one WebTorrentSwarm and relay through
// RelayMailboxes; several connections live on each. A simple model (which connection
// owns which (torrent, peer id) entry, who is a seeder, completed counts) and the real
// thing receive the same random sequence of connects, announces with offers, answers,
// scrapes, stops and disconnects (socket close, close frame, protocol error). After every
// command every connection's output is read and must be exactly what the model allows:
//   - the announcer gets one announce response with the model's counts, or the failure
//     reason the model predicts (too many offers, peer id owned by another connection,
//     too many torrents on the connection);
//   - offers: exactly min(offers, numwant, other entries) of them arrive, one per chosen
//     entry, on the connections owning those entries, never on the sender's own entry,
//     with the sender's peer id and distinct offer ids from its first offers; a seeder's
//     go to leechers first;
//   - an answer arrives only at the owner of to_peer_id, only if the sender owns its
//     peer id on that torrent; nobody else receives anything, the sender no reply;
//   - scrape counts are the model's; after a disconnect nothing of that connection is
//     left in the swarm and nothing more arrives for it;
//   - the store's totals equal the model's after every command.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <rapidcheck/state.h>

#include "proptest/rapidcheck_doctest.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_test_util.h"

namespace reef::ws {
namespace {

using testing::Id20;

constexpr int kConnections = 5;  // slots of the model; connection i lives on worker i % 2
constexpr int kTorrents = 2;
constexpr int kPeerIds = 4;
constexpr size_t kMaxOffersOption = 4;
constexpr size_t kMaxTorrentsPerConnection = 2;

InfoHash TorrentHash(int t) { return Id20('T', static_cast<uint32_t>(t)); }
PeerId PeerIdOf(int p) { return Id20('P', static_cast<uint32_t>(p)); }
OfferId OfferIdOf(uint32_t n) { return Id20('O', n); }

struct ModelEntry {
  int owner = 0;  // connection
  bool seeder = false;
  bool completed_counted = false;
};

struct Model {
  std::array<bool, kConnections> open{};
  // (torrent, peer id) -> entry
  std::map<std::pair<int, int>, ModelEntry> entries;
  std::array<uint32_t, kTorrents> completed{};
  uint32_t next_offer = 1;  // offer ids are unique over the run

  SwarmCounts Counts(int t) const {
    SwarmCounts c;
    for (const auto& [key, e] : entries) {
      if (key.first != t) continue;
      (e.seeder ? c.seeders : c.leechers) += 1;
    }
    c.completed = completed[static_cast<size_t>(t)];
    return c;
  }
  size_t EntriesOf(int connection) const {
    return static_cast<size_t>(std::count_if(entries.begin(), entries.end(), [&](const auto& kv) {
      return kv.second.owner == connection;
    }));
  }
  const ModelEntry* Find(int t, int p) const {
    const auto it = entries.find({t, p});
    return it == entries.end() ? nullptr : &it->second;
  }
  // A torrent's completed count goes with its last entry.
  void DropEmptyTorrents() {
    for (int t = 0; t < kTorrents; ++t) {
      const SwarmCounts c = Counts(t);
      if (c.seeders + c.leechers == 0) completed[static_cast<size_t>(t)] = 0;
    }
  }
};

struct Sut {
  Sut() : access(AccessListMode::kOff) {
    options.max_offers = kMaxOffersOption;
    options.max_torrents_per_connection = kMaxTorrentsPerConnection;
    swarm = std::move(WebTorrentSwarm::Create({.shards = 2})).value();
    boxes = std::move(RelayMailboxes::Create(2, 0, WebTorrentTracker::RelayBufferSize(options)))
                .value();
    for (uint16_t w = 0; w < 2; ++w) {
      hosts[w] = std::make_unique<WebTorrentHost>(w, limits, options, *swarm, access, boxes.get(),
                                                  100 + w);
    }
  }
  WebTorrentHost& HostOf(int c) { return *hosts[static_cast<size_t>(c % 2)]; }

  // Delivers what is in the mailboxes, as the workers' loops would.
  void Settle() {
    for (auto& h : hosts) h->WakePeers();
    for (auto& h : hosts) h->DrainMailbox(now_ms);
  }
  // Each open connection's output since the last call.
  std::array<std::vector<testing::ReceivedFrame>, kConnections> TakeAll() {
    Settle();
    std::array<std::vector<testing::ReceivedFrame>, kConnections> out;
    for (int c = 0; c < kConnections; ++c) {
      if (!handles[static_cast<size_t>(c)].has_value()) continue;
      WebTorrentHost& host = HostOf(c);
      WsConnection* conn = host.Find(*handles[static_cast<size_t>(c)]);
      RC_ASSERT(conn != nullptr);
      auto frames = testing::ParseServerFrames(conn->output());
      RC_ASSERT(frames.has_value());
      host.ConsumeOutput(*handles[static_cast<size_t>(c)], conn->output_size(), now_ms);
      out[static_cast<size_t>(c)] = std::move(*frames);
    }
    return out;
  }
  void Send(int c, const std::string& json) {
    auto frame = testing::ClientTextFrame(json);
    HostOf(c).OnBytes(*handles[static_cast<size_t>(c)], frame, now_ms);
  }

  WebTorrentOptions options;
  ConnectionLimits limits;
  AccessList access;
  std::unique_ptr<WebTorrentSwarm> swarm;
  std::unique_ptr<RelayMailboxes> boxes;
  std::array<std::unique_ptr<WebTorrentHost>, 2> hosts;
  std::array<std::optional<ConnectionHandle>, kConnections> handles;
  int64_t now_ms = 10'000'000;
};

using Command = rc::state::Command<Model, Sut>;

std::vector<ServerMessage> Parsed(const std::vector<testing::ReceivedFrame>& frames) {
  std::vector<ServerMessage> out;
  for (const auto& f : frames) {
    RC_ASSERT(f.opcode == Opcode::kText);
    auto m = testing::ParseServer(f);
    RC_ASSERT(m.has_value());
    out.push_back(*m);
  }
  return out;
}

void CheckStore(const Model& m, Sut& sut) {
  WebTorrentStoreStats want;
  for (int t = 0; t < kTorrents; ++t) {
    const SwarmCounts c = m.Counts(t);
    RC_ASSERT(sut.swarm->Scrape(TorrentHash(t)) == c);
    want.torrents += c.seeders + c.leechers > 0 ? 1u : 0u;
    want.seeders += c.seeders;
    want.leechers += c.leechers;
  }
  const WebTorrentStoreStats got = sut.swarm->Stats();
  RC_ASSERT(got.torrents == want.torrents);
  RC_ASSERT(got.seeders == want.seeders);
  RC_ASSERT(got.leechers == want.leechers);
}

void CheckNothingFor(const std::array<std::vector<testing::ReceivedFrame>, kConnections>& out,
                     std::set<int> except) {
  for (int c = 0; c < kConnections; ++c) {
    if (except.count(c) == 0) RC_ASSERT(out[static_cast<size_t>(c)].empty());
  }
}

struct Connect : Command {
  int c;
  explicit Connect(const Model&) : c(*rc::gen::inRange(0, kConnections)) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.open[static_cast<size_t>(c)]); }
  void apply(Model& m) const override { m.open[static_cast<size_t>(c)] = true; }
  void run(const Model& m, Sut& sut) const override {
    sut.handles[static_cast<size_t>(c)] = sut.HostOf(c).Open(sut.now_ms);
    CheckNothingFor(sut.TakeAll(), {});
    CheckStore(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "Connect(" << c << ")"; }
};

struct Announce : Command {
  int c, t, p;
  AnnounceEvent event;
  std::optional<uint64_t> left;
  std::optional<uint64_t> numwant;
  uint32_t offers;
  uint32_t first_offer = 0;

  explicit Announce(const Model& m)
      : c(*rc::gen::inRange(0, kConnections)),
        t(*rc::gen::inRange(0, kTorrents)),
        p(*rc::gen::inRange(0, kPeerIds)),
        event(*rc::gen::element(AnnounceEvent::kNone, AnnounceEvent::kStarted,
                                AnnounceEvent::kStarted, AnnounceEvent::kCompleted,
                                AnnounceEvent::kStopped, AnnounceEvent::kUpdate)),
        left(*rc::gen::element<std::optional<uint64_t>>(0, 0, 1000, std::nullopt)),
        numwant(*rc::gen::element<std::optional<uint64_t>>(std::nullopt, 0, 1, 2, 5, 50)),
        offers(*rc::gen::inRange<uint32_t>(0, static_cast<uint32_t>(kMaxOffersOption) + 2)),
        first_offer(m.next_offer) {}

  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.open[static_cast<size_t>(c)]);
    RC_PRE(first_offer == m.next_offer);
  }

  enum class Expect { kResponse, kTooManyOffers, kNotOwner, kTooManyTorrents };
  Expect Outcome(const Model& m) const {
    if (offers > kMaxOffersOption) return Expect::kTooManyOffers;
    const ModelEntry* e = m.Find(t, p);
    const bool mine = e != nullptr && e->owner == c;
    if (!mine && event != AnnounceEvent::kStopped &&
        m.EntriesOf(c) >= kMaxTorrentsPerConnection) {
      return Expect::kTooManyTorrents;
    }
    if (e != nullptr && e->owner != c) return Expect::kNotOwner;
    return Expect::kResponse;
  }
  bool Seeder() const { return left.has_value() ? *left == 0 : event == AnnounceEvent::kCompleted; }

  void apply(Model& m) const override {
    m.next_offer += offers;
    if (Outcome(m) != Expect::kResponse) return;
    const auto key = std::make_pair(t, p);
    if (event == AnnounceEvent::kStopped) {
      m.entries.erase(key);
      m.DropEmptyTorrents();
      return;
    }
    ModelEntry& e = m.entries[key];
    e.owner = c;
    e.seeder = Seeder();
    if (event == AnnounceEvent::kCompleted && !e.completed_counted) {
      e.completed_counted = true;
      ++m.completed[static_cast<size_t>(t)];
    }
  }

  void run(const Model& m, Sut& sut) const override {
    const Model next = nextState(m);
    std::vector<testing::OfferSpec> specs;
    for (uint32_t i = 0; i < offers; ++i) {
      specs.push_back({OfferIdOf(first_offer + i), testing::SdpJson("offer", first_offer + i)});
    }
    sut.Send(c, testing::AnnounceJson(TorrentHash(t), PeerIdOf(p), event, left, numwant, specs));
    const auto out = sut.TakeAll();
    const auto mine = Parsed(out[static_cast<size_t>(c)]);
    const Expect expect = Outcome(m);
    if (expect != Expect::kResponse) {
      RC_ASSERT(mine.size() == 1u);
      const auto* error = std::get_if<ErrorResponse>(&mine[0]);
      RC_ASSERT(error != nullptr);
      const std::string_view want = expect == Expect::kTooManyOffers   ? kReasonTooManyOffers
                                    : expect == Expect::kNotOwner      ? kReasonPeerIdInUse
                                                                       : kReasonTooManyTorrents;
      RC_ASSERT(error->failure_reason() == want);
      CheckNothingFor(out, {c});
      CheckStore(next, sut);
      return;
    }

    // The sender: its announce response, with the counts after the announce.
    RC_ASSERT(mine.size() >= 1u);
    const auto* response = std::get_if<AnnounceResponse>(&mine[0]);
    RC_ASSERT(response != nullptr);
    const SwarmCounts counts = next.Counts(t);
    RC_ASSERT(response->info_hash == TorrentHash(t));
    RC_ASSERT(response->complete == counts.seeders);
    RC_ASSERT(response->incomplete == counts.leechers);

    // Offers: which entries could receive one.
    uint32_t others = 0, other_leechers = 0;
    std::map<int, uint32_t> entries_per_connection;  // receivable entries per connection
    for (const auto& [key, e] : next.entries) {
      if (key.first != t || key.second == p) continue;
      ++others;
      other_leechers += e.seeder ? 0 : 1;
      ++entries_per_connection[e.owner];
    }
    uint32_t expected = 0;
    if (event != AnnounceEvent::kStopped) {
      expected = std::min<uint32_t>(offers, static_cast<uint32_t>(std::min<uint64_t>(
                                                numwant.value_or(offers), offers)));
      expected = std::min(expected, others);
    }
    uint32_t received = 0;
    for (int r = 0; r < kConnections; ++r) {
      const auto msgs = Parsed(out[static_cast<size_t>(r)]);
      const size_t skip = r == c ? 1 : 0;  // the sender's own response
      uint32_t here = 0;
      for (size_t i = skip; i < msgs.size(); ++i) {
        const auto* offer = std::get_if<OfferMessage>(&msgs[i]);
        RC_ASSERT(offer != nullptr);
        RC_ASSERT(offer->info_hash == TorrentHash(t));
        RC_ASSERT(offer->peer_id == PeerIdOf(p));
        // The i-th receiver gets the i-th offer; together they are the first `expected`.
        bool ours = false;
        for (uint32_t k = 0; k < expected; ++k) {
          if (offer->offer_id == OfferIdOf(first_offer + k)) {
            ours = true;
            RC_ASSERT(offer->offer == testing::SdpJson("offer", first_offer + k));
          }
        }
        RC_ASSERT(ours);
        ++here;
      }
      // Never more offers on a connection than it holds receivable entries.
      RC_ASSERT(here <= entries_per_connection[r]);
      received += here;
    }
    RC_ASSERT(received == expected);
    // Offer ids are distinct over all receivers.
    std::set<std::string> distinct;
    for (int r = 0; r < kConnections; ++r) {
      for (const auto& f : out[static_cast<size_t>(r)]) {
        auto msg = testing::ParseServer(f);
        if (auto* o = std::get_if<OfferMessage>(&*msg)) {
          RC_ASSERT(distinct.insert(std::string(o->offer_id.data(), o->offer_id.data() + 20)).second);
        }
      }
    }
    if (Seeder() && expected > 0) {
      // A seeder's offers reach leechers first. Where each receiving connection holds one
      // receivable entry, the model knows which entries were picked: exactly
      // min(expected, leechers among the others) of them must be leechers.
      bool exact = true;
      uint32_t leechers_picked = 0;
      for (int r = 0; r < kConnections; ++r) {
        const size_t got = out[static_cast<size_t>(r)].size() - (r == c ? 1u : 0u);
        if (got == 0) continue;
        if (entries_per_connection[r] != 1) {
          exact = false;
          continue;
        }
        for (const auto& [key, e] : next.entries) {
          if (key.first == t && key.second != p && e.owner == r && !e.seeder) ++leechers_picked;
        }
      }
      if (exact) RC_ASSERT(leechers_picked == std::min(expected, other_leechers));
      RC_TAG(exact ? "seeder offers, checked exactly" : "seeder offers, shared connection");
    }
    CheckStore(next, sut);
  }

  void show(std::ostream& os) const override {
    os << "Announce(conn " << c << ", torrent " << t << ", peer " << p << ", "
       << EventName(event) << ", left " << (left ? std::to_string(*left) : "none")
       << ", numwant " << (numwant ? std::to_string(*numwant) : "none") << ", offers " << offers
       << ")";
  }
};

struct Answer : Command {
  int c, t, p, q;
  uint32_t offer;
  explicit Answer(const Model& m)
      : c(*rc::gen::inRange(0, kConnections)),
        t(*rc::gen::inRange(0, kTorrents)),
        p(*rc::gen::inRange(0, kPeerIds)),
        q(*rc::gen::inRange(0, kPeerIds + 1)),  // kPeerIds: nobody holds it
        offer(*rc::gen::inRange<uint32_t>(1, m.next_offer + 1)) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open[static_cast<size_t>(c)]); }
  void apply(Model&) const override {}
  void run(const Model& m, Sut& sut) const override {
    sut.Send(c, testing::AnswerJson(TorrentHash(t), PeerIdOf(p), PeerIdOf(q), OfferIdOf(offer),
                                    testing::SdpJson("answer", offer)));
    const auto out = sut.TakeAll();
    const ModelEntry* from = m.Find(t, p);
    const ModelEntry* to = m.Find(t, q);
    if (from == nullptr || from->owner != c || to == nullptr) {
      CheckNothingFor(out, {});
      return;
    }
    CheckNothingFor(out, {to->owner});
    const auto msgs = Parsed(out[static_cast<size_t>(to->owner)]);
    RC_ASSERT(msgs.size() == 1u);
    const auto* answer = std::get_if<AnswerMessage>(&msgs[0]);
    RC_ASSERT(answer != nullptr);
    RC_ASSERT(answer->info_hash == TorrentHash(t));
    RC_ASSERT(answer->peer_id == PeerIdOf(p));
    RC_ASSERT(answer->offer_id == OfferIdOf(offer));
    RC_ASSERT(answer->answer == testing::SdpJson("answer", offer));
    CheckStore(m, sut);
  }
  void show(std::ostream& os) const override {
    os << "Answer(conn " << c << ", torrent " << t << ", from " << p << " to " << q << ", offer "
       << offer << ")";
  }
};

struct Scrape : Command {
  int c;
  std::vector<int> torrents;
  explicit Scrape(const Model&)
      : c(*rc::gen::inRange(0, kConnections)),
        torrents(*rc::gen::container<std::vector<int>>(*rc::gen::inRange<size_t>(1, 4),
                                                        rc::gen::inRange(0, kTorrents + 1))) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open[static_cast<size_t>(c)]); }
  void apply(Model&) const override {}
  void run(const Model& m, Sut& sut) const override {
    std::vector<InfoHash> hashes;
    for (int t : torrents) hashes.push_back(TorrentHash(t));
    sut.Send(c, testing::ScrapeJson(hashes));
    const auto out = sut.TakeAll();
    CheckNothingFor(out, {c});
    const auto msgs = Parsed(out[static_cast<size_t>(c)]);
    RC_ASSERT(msgs.size() == 1u);
    const auto* scrape = std::get_if<ScrapeResponse>(&msgs[0]);
    RC_ASSERT(scrape != nullptr);
    const std::set<int> distinct(torrents.begin(), torrents.end());
    RC_ASSERT(scrape->files().size() == distinct.size());
    for (const ScrapeFile& f : scrape->files()) {
      int t = -1;
      for (int x : distinct) t = TorrentHash(x) == f.info_hash ? x : t;
      RC_ASSERT(t >= 0);
      const SwarmCounts want = t < kTorrents ? m.Counts(t) : SwarmCounts{};
      RC_ASSERT(f.complete == want.seeders);
      RC_ASSERT(f.incomplete == want.leechers);
      RC_ASSERT(f.downloaded == want.completed);
    }
  }
  void show(std::ostream& os) const override {
    os << "Scrape(conn " << c << ", torrents";
    for (int t : torrents) os << " " << t;
    os << ")";
  }
};

enum class How { kSocket, kCloseFrame, kProtocolError };

struct Disconnect : Command {
  int c;
  How how;
  explicit Disconnect(const Model&)
      : c(*rc::gen::inRange(0, kConnections)),
        how(*rc::gen::element(How::kSocket, How::kCloseFrame, How::kProtocolError)) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.open[static_cast<size_t>(c)]); }
  void apply(Model& m) const override {
    m.open[static_cast<size_t>(c)] = false;
    std::erase_if(m.entries, [&](const auto& kv) { return kv.second.owner == c; });
    m.DropEmptyTorrents();
  }
  void run(const Model& m, Sut& sut) const override {
    WebTorrentHost& host = sut.HostOf(c);
    const ConnectionHandle h = *sut.handles[static_cast<size_t>(c)];
    switch (how) {
      case How::kSocket:
        break;
      case How::kCloseFrame: {
        auto frame = testing::ClientFrame(Opcode::kClose, std::vector<uint8_t>{0x03, 0xe8});
        host.OnBytes(h, frame, sut.now_ms);
        break;
      }
      case How::kProtocolError: {
        std::vector<uint8_t> unmasked = {0x81, 0x00};
        host.OnBytes(h, unmasked, sut.now_ms);
        break;
      }
    }
    if (how != How::kSocket) {
      // A close frame or an error removes the entries at once, before the socket closes.
      CheckStore(nextState(m), sut);
      RC_ASSERT(host.Find(h) != nullptr);
      auto frames = testing::ParseServerFrames(host.Find(h)->output());
      RC_ASSERT(frames.has_value());
      RC_ASSERT(frames->size() == 1u);
      RC_ASSERT((*frames)[0].opcode == Opcode::kClose);
    }
    host.Release(h);
    sut.handles[static_cast<size_t>(c)].reset();
    CheckNothingFor(sut.TakeAll(), {});
    CheckStore(nextState(m), sut);
  }
  void show(std::ostream& os) const override {
    os << "Disconnect(conn " << c << ", "
       << (how == How::kSocket ? "socket" : how == How::kCloseFrame ? "close frame" : "error")
       << ")";
  }
};

// proptest::Check with at least `min_success` cases: a state machine needs many runs to
// reach its rarer states (a seeder among mixed peers with fewer offers than peers takes
// ~200). RC_PARAMS still sets the seed, and a larger max_success.
template <typename Testable>
void CheckAtLeast(const std::string& description, int min_success, Testable&& testable) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = std::max(params.maxSuccess, min_success);
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable),
                                                rc::detail::TestMetadata{}, params);
  if (result.template is<rc::detail::SuccessResult>()) return;
  std::ostringstream ss;
  rc::detail::printResultMessage(result, ss);
  FAIL_CHECK(description << " failed:\n" << ss.str());
}

TEST_CASE("WebTorrent swarm and relay match the model") {
  CheckAtLeast("swarm and relay", 2000, [] {
    Model m;
    Sut sut;
    rc::state::check(m, sut,
                     rc::state::gen::execOneOfWithArgs<Connect, Connect, Announce, Announce,
                                                       Announce, Announce, Answer, Answer, Scrape,
                                                       Disconnect>());
  });
}

}  // namespace
}  // namespace reef::ws
