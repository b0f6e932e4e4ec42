// The WebTorrent tracker's CPU and memory without sockets, measured by hand:
//
//   bazel run --config=opt //server/ws:webtorrent_benchmark
//
// BM_AnnounceWithOffers: one connection of a 50-peer swarm re-announces with 5 offers
//   (~600-byte SDPs, as browsers send), each relayed to another connection of the same
//   worker; the receivers' output is drained. Per announce: parse, swarm, response, five
//   offer frames.
// BM_AnswerRelay: an answer parsed, routed and relayed.
// BM_Scrape: a scrape of 5 info hashes.
// BM_MemoryPerPeer / BM_MemoryPerIdleConnection: heap in use (mallinfo2) per WebTorrent
//   peer (its swarm entry and its connection's record of it; 20,000 connections announcing
//   5 torrents each), and per open, idle WebSocket connection of a host (its slot, its
//   WsConnection, its session), reported as counters. The TCP connection beneath (and
//   the kernel's socket) come on top: see the idle-connection figures of server/tcp.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_test_util.h"

namespace reef::ws {
namespace {

using testing::AnnounceJson;
using testing::AnswerJson;
using testing::ClientTextFrame;
using testing::Id20;
using testing::OfferSpec;

std::string BrowserLikeSdp(uint32_t n) {
  // ~600 bytes, the size of a data-channel-only offer with one host candidate.
  std::string sdp = R"({"type":"offer","sdp":"v=0\r\no=- )" + std::to_string(4611731400430051000ULL + n) +
                    R"( 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n)";
  sdp += R"(a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP )";
  sdp += R"(webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2113937151 )";
  sdp += R"(9e3779b1-0000-4000-8000-000000000000.local 54321 typ host generation 0 )";
  sdp += R"(network-cost 999\r\na=ice-ufrag:9e37\r\na=ice-pwd:9e3779b19e3779b19e3779b1\r\n)";
  sdp += R"(a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CB:A0:7B:2C:6E:4A:0B:)";
  sdp += R"(1F:63:55:E6:9E:32:1B:D4:37:F6:72:5C:7D\r\na=setup:actpass\r\na=mid:0\r\n)";
  sdp += R"(a=sctp-port:5000\r\na=max-message-size:262144\r\n"})";
  return sdp;
}

struct Bench {
  Bench() : access(AccessListMode::kOff) {
    swarm = std::move(WebTorrentSwarm::Create({})).value();
    host = std::make_unique<WebTorrentHost>(0, limits, options, *swarm, access, nullptr, 1);
  }
  void Feed(ConnectionHandle h, const std::vector<uint8_t>& frame) {
    scratch = frame;  // OnBytes unmasks in place
    host->OnBytes(h, scratch, now_ms);
  }
  void Drain(ConnectionHandle h) {
    WsConnection* c = host->Find(h);
    host->ConsumeOutput(h, c->output_size(), now_ms);
  }
  ConnectionLimits limits;
  WebTorrentOptions options;
  AccessList access;
  std::unique_ptr<WebTorrentSwarm> swarm;
  std::unique_ptr<WebTorrentHost> host;
  std::vector<uint8_t> scratch;
  int64_t now_ms = 1'000'000;
};

void BM_AnnounceWithOffers(benchmark::State& state) {
  Bench b;
  const InfoHash torrent = Id20('T', 1);
  std::vector<ConnectionHandle> peers;
  for (uint32_t i = 0; i < 50; ++i) {
    peers.push_back(b.host->Open(b.now_ms));
    b.Feed(peers.back(), ClientTextFrame(AnnounceJson(torrent, Id20('P', i),
                                                      AnnounceEvent::kStarted, 1000, 0, {})));
    b.Drain(peers.back());
  }
  std::vector<OfferSpec> offers;
  for (uint32_t i = 0; i < 5; ++i) offers.push_back({Id20('O', i), BrowserLikeSdp(i)});
  const auto frame = ClientTextFrame(
      AnnounceJson(torrent, Id20('P', 0), AnnounceEvent::kNone, 1000, 5, offers));
  for (auto _ : state) {
    b.Feed(peers[0], frame);
    b.host->TakeWritable([&](const ConnectionHandle& h, void*) { b.Drain(h); });
    b.Drain(peers[0]);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}
BENCHMARK(BM_AnnounceWithOffers);

void BM_AnswerRelay(benchmark::State& state) {
  Bench b;
  const InfoHash torrent = Id20('T', 1);
  const auto a = b.host->Open(b.now_ms);
  const auto c = b.host->Open(b.now_ms);
  b.Feed(a, ClientTextFrame(AnnounceJson(torrent, Id20('A', 1), AnnounceEvent::kStarted, 0, 0, {})));
  b.Feed(c, ClientTextFrame(AnnounceJson(torrent, Id20('C', 1), AnnounceEvent::kStarted, 1, 0, {})));
  b.Drain(a);
  b.Drain(c);
  std::string answer = BrowserLikeSdp(1);
  answer.replace(answer.find("offer"), 5, "answer");
  const auto frame = ClientTextFrame(AnswerJson(torrent, Id20('A', 1), Id20('C', 1), Id20('O', 1), answer));
  for (auto _ : state) {
    b.Feed(a, frame);
    b.Drain(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnswerRelay);

void BM_Scrape(benchmark::State& state) {
  Bench b;
  const auto c = b.host->Open(b.now_ms);
  std::vector<InfoHash> hashes;
  for (uint32_t i = 0; i < 5; ++i) {
    hashes.push_back(Id20('T', i));
    b.Feed(c, ClientTextFrame(AnnounceJson(hashes.back(), Id20('A', 1), AnnounceEvent::kStarted, 0, 0, {})));
  }
  b.Drain(c);
  const auto frame = ClientTextFrame(testing::ScrapeJson(hashes));
  for (auto _ : state) {
    b.Feed(c, frame);
    b.Drain(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Scrape);

size_t HeapInUse() { return mallinfo2().uordblks; }

// Peers spread as a busy tracker holds them: 20,000 connections, each announcing 5
// torrents out of 20,000 (so swarms of ~5 peers), N = 100,000 peers.
void BM_MemoryPerPeer(benchmark::State& state) {
  for (auto _ : state) {
    Bench b;
    constexpr uint32_t kConnections = 20'000;
    constexpr uint32_t kPerConnection = 5;
    std::vector<ConnectionHandle> handles;
    for (uint32_t i = 0; i < kConnections; ++i) handles.push_back(b.host->Open(b.now_ms));
    const size_t before = HeapInUse();
    const size_t buffers_before = b.host->buffered_bytes();
    for (uint32_t i = 0; i < kConnections; ++i) {
      for (uint32_t k = 0; k < kPerConnection; ++k) {
        const uint32_t torrent = (i * 7919 + k * 104729) % kConnections;
        b.Feed(handles[i], ClientTextFrame(AnnounceJson(Id20('T', torrent), Id20('P', i),
                                                        AnnounceEvent::kStarted, i % 2, 0, {})));
      }
      b.Drain(handles[i]);
    }
    const size_t after = HeapInUse();
    const double peers = static_cast<double>(b.swarm->Stats().seeders + b.swarm->Stats().leechers);
    // The sessions' entry lists are the connections' side of each peer; count them too.
    state.counters["peers"] = peers;
    state.counters["bytes_per_peer"] = static_cast<double>(after - before) / peers;
    state.counters["of_which_session_bytes_per_peer"] =
        static_cast<double>(b.host->buffered_bytes() - buffers_before) / peers;
  }
}
BENCHMARK(BM_MemoryPerPeer)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_MemoryPerIdleConnection(benchmark::State& state) {
  for (auto _ : state) {
    Bench b;
    constexpr uint32_t kConnections = 50'000;
    const size_t before = HeapInUse();
    std::vector<ConnectionHandle> handles;
    handles.reserve(kConnections);
    const size_t reserved = HeapInUse();
    for (uint32_t i = 0; i < kConnections; ++i) handles.push_back(b.host->Open(b.now_ms));
    const size_t after = HeapInUse();
    state.counters["connections"] = kConnections;
    state.counters["bytes_per_idle_connection"] =
        static_cast<double>(after - reserved) / kConnections;
    state.counters["handle_list_bytes"] = static_cast<double>(reserved - before);
  }
}
BENCHMARK(BM_MemoryPerIdleConnection)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace reef::ws
