// Fuzzes a WebSocket connection as the HTTP worker carries it: a TCP Connection (server/tcp,
// plain, or TLS with an in-memory client) whose upgrade request switches it to a WsStream
// over a WebTorrentHost (server/ws/ws_stream.h), with a second, scripted browser in the
// same swarm that sends offers to it, arbitrary chunkings of what the client sends,
// arbitrary read steps and a fake clock.
//
// Input: 4 control bytes, then the client's byte stream (an upgrade request and frames,
// in the seeds).
//   byte 0: mode. bit 0 TLS; bit 1 the scripted peer relays offers between chunks; bit 2
//           the client closes its side at the end; bit 3 the clock moves.
//   bytes 1-3: seeds for the chunk sizes, the read steps and the clock.
//
// Properties, not just "does not crash":
//  - what the client receives is either HTTP responses only (no upgrade), or one 101
//    response followed by valid server frames only (unmasked, minimal lengths, FIN, text
//    that is UTF-8 and a WebTorrent server message, close frames with a code), whole
//    unless a timeout cut the connection short;
//  - the TCP connection's output and buffers stay within its limits, the host's buffers
//    within the WebSocket limits, through any backpressure;
//  - the connection never stalls: when it takes no input it has output to send or is
//    closing;
//  - past every timeout the connection is closed, holds nothing, has no timer armed, and
//    its WebSocket and every swarm entry it made are gone (the scripted peer's remain).
#include <openssl/err.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/http/response_parser.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/utf8.h"
#include "protocol/ws/webtorrent.h"
#include "server/common/access_list.h"
#include "server/tcp/connection.h"
#include "server/tcp/connection_test_util.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/ws_stream.h"

namespace {

using reef::tcp::Connection;
using reef::tcp::ConnectionContext;
using reef::tcp::Millis;
using reef::tcp::TimerEntry;
using reef::tcp::TimerKind;
using reef::tcp::testing::EchoHandler;
using reef::tcp::testing::MemoryTlsClient;

constexpr size_t kControlBytes = 4;
constexpr size_t kChunks[] = {1, 2, 7, 64, 300, 1500, 8192, 20000};
constexpr size_t kReadSteps[] = {1, 5, 100, 1000, 4096, 65536, 1 << 20, 1 << 20};

class Rng {
 public:
  explicit Rng(uint8_t seed) : state_(0x9e3779b97f4a7c15ULL ^ (uint64_t{seed} * 0x100000001b3ULL)) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

reef::tcp::SslContext& ServerContext() {
  static reef::tcp::SslContext ctx = [] {
    const auto cert = reef::tcp::testing::MakeSelfSigned();
    return reef::tcp::MakeServerContext(cert.certificate_pem, cert.private_key_pem).value();
  }();
  return ctx;
}

// Checks the frames at the front of `bytes`; returns the bytes used (whole frames).
size_t CheckFrames(std::string_view bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const auto rest = std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(bytes.data()) + at, bytes.size() - at);
    const auto header = reef::ws::ParseFrameHeader(rest, reef::ws::Role::kClient,
                                                   reef::ws::FrameLimits{.max_payload = 1u << 30});
    FUZZ_CHECK(!header.failed());
    if (header.incomplete()) break;
    const auto& h = header.value();
    if (h.payload_length > rest.size() - h.header_length) break;
    FUZZ_CHECK(h.fin);
    FUZZ_CHECK(h.opcode != reef::ws::Opcode::kContinuation &&
               h.opcode != reef::ws::Opcode::kBinary);
    const auto payload = rest.subspan(h.header_length, static_cast<size_t>(h.payload_length));
    if (h.opcode == reef::ws::Opcode::kText) {
      FUZZ_CHECK(reef::ws::IsValidUtf8(payload));
      FUZZ_CHECK(reef::ws::ParseServerMessage(std::string_view(
                     reinterpret_cast<const char*>(payload.data()), payload.size()))
                     .ok());
    } else if (h.opcode == reef::ws::Opcode::kClose) {
      FUZZ_CHECK(payload.size() >= 2 && reef::ws::ParseClose(payload).ok());
    }
    at += h.header_length + payload.size();
  }
  return at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kControlBytes || size > 256 * 1024) return 0;
  const uint8_t mode = data[0];
  const bool tls = (mode & 1) != 0;
  const bool peer_offers = (mode & 2) != 0;
  const bool client_closes = (mode & 4) != 0;
  const bool clock_moves = (mode & 8) != 0;
  Rng chunks(data[1]);
  Rng reads(data[2]);
  Rng clock(data[3]);
  std::span<const uint8_t> stream(data + kControlBytes, size - kControlBytes);

  // TCP limits as small as the WebSocket limits allow, so backpressure is reached.
  reef::tcp::ConnectionLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_headers = 16;
  limits.head_timeout_ms = 1000;
  limits.keep_alive_timeout_ms = 2000;
  limits.tls_handshake_timeout_ms = 1000;
  limits.write_timeout_ms = 1500;
  limits.linger_timeout_ms = 500;
  limits.max_output_bytes = reef::tcp::TlsSealedSize(reef::tcp::kMaxErrorResponseBytes) +
                            reef::tcp::kTlsOutputSlack + 2048;
  reef::ws::ConnectionLimits ws_limits;
  ws_limits.max_message_size = 2048;
  ws_limits.max_outbound_bytes = 8192;
  ws_limits.ping_interval_ms = 700;
  ws_limits.idle_timeout_ms = 1600;
  reef::ws::WebTorrentOptions options;
  options.max_message_size = ws_limits.max_message_size;
  options.max_torrents_per_connection = 4;

  auto swarm = std::shared_ptr<reef::ws::WebTorrentSwarm>(
      reef::ws::WebTorrentSwarm::Create({.shards = 2, .max_peers = 64, .max_torrents = 16})
          .value()
          .release());
  auto access = std::make_shared<reef::AccessList>(reef::AccessListMode::kOff);
  EchoHandler handler;
  ConnectionContext ctx(limits, handler);
  reef::ws::WsStreamFactory factory(0, ws_limits, options, swarm, access, nullptr, 5);
  ctx.streams = &factory;
  ctx.timers.SetDuration(TimerKind::kStreamIdle, ws_limits.ping_interval_ms);
  ctx.timers.SetDuration(TimerKind::kStreamGrace,
                         ws_limits.idle_timeout_ms - ws_limits.ping_interval_ms);
  reef::ws::WebTorrentHost& host = factory.host();
  Millis now = 1'000'000;

  // The scripted browser: in the seeds' torrent, seeding, offering to whoever is there.
  const reef::InfoHash torrent = reef::ws::testing::Id20('T', 1);
  const reef::ws::ConnectionHandle peer = host.Open(now);
  auto peer_says = [&](const std::string& json) {
    auto frame = reef::ws::testing::ClientTextFrame(json);
    host.OnBytes(peer, frame, now);
    if (reef::ws::WsConnection* c = host.Find(peer)) host.ConsumeOutput(peer, c->output_size(), now);
  };
  peer_says(reef::ws::testing::AnnounceJson(torrent, reef::ws::testing::Id20('S', 1),
                                            reef::ws::AnnounceEvent::kStarted, 0, 0, {}));
  uint32_t offer_count = 0;

  auto conn = std::make_unique<Connection>(ctx, reef::tcp::testing::TestPeer(),
                                           tls ? ServerContext().get() : nullptr, now);
  std::unique_ptr<MemoryTlsClient> client;
  if (tls) client = std::make_unique<MemoryTlsClient>();
  std::string received;

  const size_t max_tcp_buffered = limits.max_head_bytes + limits.max_output_bytes +
                                  reef::tcp::kTlsReadBytes +
                                  reef::tcp::TlsSealedSize(reef::tcp::kMaxErrorResponseBytes) +
                                  reef::tcp::kTlsOutputSlack;
  const size_t max_ws_buffered =
      2 * (ws_limits.max_message_size + reef::ws::kMaxFrameHeaderSize + limits.max_head_bytes) +
      2 * ws_limits.max_message_size +
      2 * (ws_limits.max_outbound_bytes + reef::ws::WebTorrentTracker::RelayBufferSize(options)) +
      2 * (options.max_torrents_per_connection * sizeof(reef::ws::PeerSession::Entry) + 64);
  auto check_bounds = [&] {
    FUZZ_CHECK(conn->BufferedBytes() <= max_tcp_buffered);
    FUZZ_CHECK(host.buffered_bytes() <= 2 * max_ws_buffered);
  };
  auto client_reads = [&](size_t max) {
    size_t taken = 0;
    while (taken < max) {
      std::span<const uint8_t> pending = conn->PendingOutput();
      if (pending.empty()) break;
      const size_t n = std::min(pending.size(), max - taken);
      if (tls) {
        client->Give(pending.first(n));
      } else {
        received.append(reinterpret_cast<const char*>(pending.data()), n);
      }
      conn->Sent(n, now);
      taken += n;
      check_bounds();
    }
    if (tls) received += client->ReadAll();
  };
  // The worker's turn hook: relayed frames are queued, the peer's output read.
  auto turn = [&] {
    host.TakeWritable([&](const reef::ws::ConnectionHandle& h, void*) {
      if (h == peer) {
        if (reef::ws::WsConnection* c = host.Find(peer)) host.ConsumeOutput(peer, c->output_size(), now);
      } else if (conn != nullptr) {
        conn->PumpStream(now);
      }
    });
    check_bounds();
  };
  auto advance = [&](Millis ms) {
    now += ms;
    ctx.timers.Expire(now, [&](TimerEntry* entry, TimerKind kind) {
      static_cast<Connection*>(entry)->Expire(kind, now);
    });
    host.OnTimer(peer, now);
    turn();
  };
  bool handshaking = tls;
  auto give = [&](std::span<const uint8_t> bytes) {
    size_t given = 0;
    for (int guard = 0; given < bytes.size() && guard < 100'000; ++guard) {
      if (conn->state() != Connection::State::kOpen &&
          conn->state() != Connection::State::kHandshake) {
        return;
      }
      const size_t budget = conn->ReceiveBudget();
      if (budget == 0) {
        const size_t before = conn->PendingOutput().size();
        client_reads(kReadSteps[reads.Below(std::size(kReadSteps))]);
        if (conn->PendingOutput().size() == before && before > 0) client_reads(SIZE_MAX);
        turn();
        if (conn->ReceiveBudget() == 0) {
          FUZZ_CHECK(!conn->PendingOutput().empty() ||
                     (conn->state() != Connection::State::kOpen &&
                      conn->state() != Connection::State::kHandshake));
          return;
        }
        continue;
      }
      const size_t n = std::min({budget, kChunks[chunks.Below(std::size(kChunks))],
                                 bytes.size() - given});
      conn->Receive(bytes.subspan(given, n), now);
      given += n;
      turn();
      if (peer_offers) {
        ++offer_count;
        peer_says(reef::ws::testing::AnnounceJson(
            torrent, reef::ws::testing::Id20('S', 1), reef::ws::AnnounceEvent::kNone, 0, 5,
            {{reef::ws::testing::Id20('O', offer_count), reef::ws::testing::SdpJson("offer", offer_count)}}));
        turn();
      }
      if (reads.Below(4) == 0) client_reads(kReadSteps[reads.Below(std::size(kReadSteps))]);
      if (clock_moves && !handshaking && clock.Below(8) == 0) {
        advance(static_cast<Millis>(clock.Below(600)));
      }
    }
  };

  if (tls) {
    for (int round = 0; round < 20 && !client->Handshake() && !client->handshake_failed(); ++round) {
      std::vector<uint8_t> hello = client->TakeOutput();
      give(hello);
      client_reads(SIZE_MAX);
    }
    FUZZ_CHECK(client->Handshake());
    std::vector<uint8_t> finished = client->TakeOutput();
    give(finished);
    client_reads(SIZE_MAX);
    handshaking = false;
    client->Write(std::string_view(reinterpret_cast<const char*>(stream.data()), stream.size()));
    std::vector<uint8_t> records = client->TakeOutput();
    give(records);
  } else {
    give(stream);
  }
  if (client_closes && conn->state() != Connection::State::kClosed) conn->ReceiveEnd(now);
  for (int guard = 0; guard < 10'000 && !conn->PendingOutput().empty(); ++guard) {
    client_reads(SIZE_MAX);
    turn();
  }
  check_bounds();

  // What the client read: HTTP responses, or a 101 and then frames.
  const bool upgraded = ctx.stats.upgrades.load() == 1;
  FUZZ_CHECK(ctx.stats.upgrades.load() <= 1);
  if (upgraded) {
    std::vector<reef::http::Header> headers(32);
    // Responses to pipelined requests before the upgrade come first.
    std::string_view rest = received;
    while (true) {
      auto head = reef::http::ParseResponseHead(rest, headers);
      FUZZ_CHECK(head.ok());
      const int status = head.value().status;
      const size_t length = static_cast<size_t>(head.value().content_length.value_or(0));
      rest.remove_prefix(head.consumed() + (status == 101 ? 0 : length));
      if (status == 101) break;
    }
    const size_t used = CheckFrames(rest);
    const bool cut = ctx.stats.write_timeouts.load() > 0 || ctx.stats.tls_errors.load() > 0 ||
                     host.connection_stats().idle_timeouts.load() > 0;
    if (!cut && conn->state() == Connection::State::kClosed) FUZZ_CHECK(used == rest.size());
  } else {
    // HTTP responses only: the echo handler's, the parser's refusals, and the upgrade's
    // (400, or 426 for the version, with a text body); each whole with its length.
    std::vector<reef::http::Header> headers(32);
    std::string_view rest = received;
    while (!rest.empty()) {
      auto head = reef::http::ParseResponseHead(rest, headers);
      if (head.incomplete()) break;
      FUZZ_CHECK(head.ok());
      FUZZ_CHECK(head.value().content_length.has_value());
      const int status = head.value().status;
      FUZZ_CHECK(status == 200 || status == 400 || status == 405 || status == 413 ||
                 status == 414 || status == 426 || status == 431 || status == 505);
      const size_t length = static_cast<size_t>(*head.value().content_length);
      if (rest.size() - head.consumed() < length) break;
      rest.remove_prefix(head.consumed() + length);
    }
  }

  // Past every timeout the connection is closed and everything it made is gone.
  advance(10'000);
  advance(10'000);
  FUZZ_CHECK(conn->state() == Connection::State::kClosed);
  FUZZ_CHECK(conn->BufferedBytes() == 0);
  conn.reset();
  FUZZ_CHECK(ctx.timers.armed() == 0);
  FUZZ_CHECK(host.open_connections() <= 1);  // the peer may have timed out too
  host.Release(peer);
  FUZZ_CHECK(host.open_connections() == 0);
  const auto stats = swarm->Stats();
  FUZZ_CHECK(stats.torrents == 0 && stats.seeders == 0 && stats.leechers == 0);
  ERR_clear_error();
  return 0;
}
