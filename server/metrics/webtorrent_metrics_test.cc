// The WebTorrent collector over real hosts and a real swarm: two workers' hosts sharing
// one swarm and their mailboxes, driven with known traffic (webtorrent_test_util.h), then
// every series checked against what that traffic must have counted.
#include "server/metrics/webtorrent_metrics.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/ws/webtorrent_test_util.h"

namespace reef::metrics {
namespace {

using ws::AnnounceEvent;
using ws::testing::AnnounceJson;
using ws::testing::AnswerJson;
using ws::testing::ClientTextFrame;
using ws::testing::Id20;
using ws::testing::OfferSpec;
using ws::testing::ScrapeJson;
using ws::testing::SdpJson;

constexpr int64_t kNowMs = 5'000'000;

// Two socket workers' WebTorrent, as InstallWebTorrent makes it, without sockets.
struct TwoWorkers {
  TwoWorkers() : access(AccessListMode::kOff) {
    options.max_torrents_per_connection = 1;
    auto swarm = ws::WebTorrentSwarm::Create({});
    REQUIRE(swarm.ok());
    auto boxes = ws::RelayMailboxes::Create(2, 0, ws::WebTorrentTracker::RelayBufferSize(options));
    REQUIRE(boxes.ok());
    mailboxes = std::move(boxes).value();
    for (uint16_t worker = 0; worker < 2; ++worker) {
      hosts.push_back(std::make_unique<ws::WebTorrentHost>(worker, ws::ConnectionLimits{}, options,
                                                           **swarm, access, mailboxes.get(), 7));
      observed.ws_hosts.push_back(hosts.back().get());
    }
    observed.webtorrent = std::move(swarm).value();
  }
  ws::WebTorrentHost& host(uint16_t worker) { return *hosts[worker]; }
  // Each worker takes what the other sent it.
  void DrainMailboxes() {
    for (auto& h : hosts) h->WakePeers();
    for (auto& h : hosts) h->DrainMailbox(kNowMs);
  }

  // Declared first so that it (and the swarm it holds) is destroyed after the hosts.
  ServerObservables observed;
  ws::WebTorrentOptions options;
  AccessList access;
  std::unique_ptr<ws::RelayMailboxes> mailboxes;
  std::vector<std::unique_ptr<ws::WebTorrentHost>> hosts;
};

// One browser's connection on one worker.
struct Browser {
  Browser(ws::WebTorrentHost& h) : host(h), handle(h.Open(kNowMs)) {}
  void Send(const std::string& json) {
    std::vector<uint8_t> frame = ClientTextFrame(json);
    host.OnBytes(handle, frame, kNowMs);
  }
  ws::WebTorrentHost& host;
  ws::ConnectionHandle handle;
};

std::vector<OfferSpec> OneOffer(uint32_t n) { return {{Id20('O', n), SdpJson("offer", n)}}; }

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST_CASE("after known traffic on two workers, every WebTorrent series has its exact value") {
  TwoWorkers w;
  const InfoHash torrent = Id20('T', 1);
  const PeerId pa = Id20('A', 1), pb = Id20('B', 2);
  Browser a(w.host(0)), b(w.host(1)), c(w.host(1));

  a.Send(AnnounceJson(torrent, pa, AnnounceEvent::kStarted, 0, 1, OneOffer(100)));
  // Worker 0, a second torrent on a connection allowed one: refused.
  a.Send(AnnounceJson(Id20('T', 2), pa, AnnounceEvent::kStarted, 0, 1, {}));
  // Worker 1: b's offer goes to a, on worker 0, through the mailbox.
  b.Send(AnnounceJson(torrent, pb, AnnounceEvent::kStarted, 1000, 1, OneOffer(200)));
  w.DrainMailboxes();
  // a answers b (back through the mailbox), and answers a peer that is not there.
  a.Send(AnswerJson(torrent, pa, pb, Id20('O', 200), SdpJson("answer", 1)));
  a.Send(AnswerJson(torrent, pa, Id20('Z', 9), Id20('O', 200), SdpJson("answer", 2)));
  w.DrainMailboxes();
  b.Send(ScrapeJson({torrent}));
  b.Send("{");  // not a message: a failure reason
  c.Send(AnnounceJson(torrent, pa, AnnounceEvent::kStarted, 0, 1, {}));  // a's peer id
  w.host(1).Release(c.handle);  // c's socket ends without a close handshake

  Registry registry;
  AddWebTorrentCollector(registry, w.observed);
  const std::string text = registry.Render();
  INFO(text);
  CHECK(Has(text, "reef_webtorrent_messages_total{type=\"announce\"} 3"));  // a, b, c
  CHECK(Has(text, "reef_webtorrent_messages_total{type=\"answer\"} 2"));
  CHECK(Has(text, "reef_webtorrent_messages_total{type=\"scrape\"} 1"));
  CHECK(Has(text, "reef_webtorrent_errors_sent_total 3"));
  CHECK(Has(text, "reef_webtorrent_refused_total{reason=\"info hash not allowed\"} 0"));
  CHECK(Has(text, "reef_webtorrent_refused_total{reason=\"peer id in use\"} 1"));
  CHECK(Has(text, "reef_webtorrent_refused_total{reason=\"tracker full\"} 0"));
  CHECK(Has(text, "reef_webtorrent_refused_total{reason=\"too many torrents per connection\"} 1"));
  CHECK(Has(text, "reef_webtorrent_relayed_total{kind=\"offer\"} 1"));
  CHECK(Has(text, "reef_webtorrent_relayed_total{kind=\"answer\"} 1"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"answer to unknown peer\"} 1"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"answer from peer not in swarm\"} 0"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"too big\"} 0"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"mailbox full\"} 0"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"receiver gone\"} 0"));
  CHECK(Has(text, "reef_webtorrent_dropped_total{cause=\"receiver backlog\"} 0"));
  CHECK(Has(text, "reef_webtorrent_mailbox_frames_total{direction=\"sent\"} 2"));
  CHECK(Has(text, "reef_webtorrent_mailbox_frames_total{direction=\"received\"} 2"));
  CHECK(Has(text, "reef_webtorrent_closed_connection_peers_total 0"));
  CHECK(Has(text, "reef_websocket_connections_open 2"));
  CHECK(Has(text, "reef_websocket_connections_opened_total 3"));
  CHECK(Has(text, "reef_websocket_connections_closed_total{cause=\"socket closed\"} 1"));
  CHECK(Has(text, "reef_websocket_connections_closed_total{cause=\"client close\"} 0"));
  CHECK(Has(text, "reef_webtorrent_torrents 1"));
  CHECK(Has(text, "reef_webtorrent_peers{status=\"seeder\"} 1"));
  CHECK(Has(text, "reef_webtorrent_peers{status=\"leecher\"} 1"));
  CHECK(SumWebTorrentMessages(w.observed) == 6);

  // b's connection ends: its peer leaves the swarm at once, and is counted.
  w.host(1).Release(b.handle);
  const std::string after = registry.Render();
  INFO(after);
  CHECK(Has(after, "reef_webtorrent_closed_connection_peers_total 1"));
  CHECK(Has(after, "reef_websocket_connections_open 1"));
  CHECK(Has(after, "reef_websocket_connections_closed_total{cause=\"socket closed\"} 2"));
  CHECK(Has(after, "reef_webtorrent_peers{status=\"leecher\"} 0"));
}

TEST_CASE("with [ws] off there is no WebTorrent series at all, not zeros") {
  ServerObservables observed;
  Registry registry;
  AddWebTorrentCollector(registry, observed);
  const std::string text = registry.Render();
  CHECK(text.find("webtorrent") == std::string::npos);
  CHECK(text.find("websocket") == std::string::npos);
  CHECK(SumWebTorrentMessages(observed) == 0);
}

}  // namespace
}  // namespace reef::metrics
