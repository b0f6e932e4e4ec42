// Fuzzes the WebTorrent tracker's connections as a socket worker drives them: two
// workers' hosts (WebTorrentHost) over one WebTorrentSwarm and their relay mailboxes,
// up to six connections, and an input that is a script of what clients and sockets do.
//
// The script is a sequence of operations; each starts with one byte, op = byte & 7 and
// arg = byte >> 3:
//   0 open      a connection on worker arg & 1 (at most six at once)
//   1 raw       u16le length, then that many bytes, fed to connection arg as read
//   2 frame     flags byte (bit 0 FIN, opcode = [text, continuation, binary, ping, pong,
//               close][(flags >> 1) % 6]), u16le length, payload: one masked client frame
//               made of it, fed to connection arg
//   3 read      a byte n: the client reads all its output (n == 0) or n * 37 bytes
//   4 tick      u16le t: the clock moves t * 100 ms; every timer runs, every shard is cleaned
//   5 close     connection arg's socket ends
//   6 mailbox   both workers wake and drain their mailboxes
//   7 shutdown  both workers close every connection with 1001
// Connections are numbered among the open ones (arg modulo their count). A connection
// whose done() is true has its socket closed at once, as the worker does; bytes are fed
// only while wants_read(), as the worker reads. Seeds are the WebTorrent messages of
// bittorrent-tracker's capture framed this way (fuzz/ws_tracker_fuzzer_seeds.py).
//
// Properties checked after every operation:
//  - everything reef writes, read back as a client reads it, is a sequence of valid server
//    frames: unmasked, minimal length encoding, FIN, no reserved bits, known opcodes,
//    control frames of at most 125 bytes, close frames with a valid code, text that is
//    valid UTF-8 and parses as a WebTorrent server message;
//  - each connection's buffers stay within the bound its limits give (kept input, the
//    message being reassembled, output), so memory does not grow with the input;
//  - at the end, with every socket closed, the swarm holds nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/utf8.h"
#include "protocol/ws/webtorrent.h"
#include "server/common/access_list.h"
#include "server/ws/relay_mailbox.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_swarm.h"
#include "server/ws/webtorrent_tracker.h"

namespace {

using reef::ws::ConnectionHandle;
using reef::ws::Opcode;
using reef::ws::WebTorrentHost;

constexpr size_t kMaxOpen = 6;
constexpr size_t kMaxChunk = 4096;

struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool empty() const { return at >= size; }
  uint8_t U8() { return at < size ? data[at++] : 0; }
  uint16_t U16() {
    const uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  std::span<const uint8_t> Bytes(size_t n) {
    n = std::min(n, size - std::min(at, size));
    std::span<const uint8_t> out(data + at, n);
    at += n;
    return out;
  }
};

struct Client {
  WebTorrentHost* host;
  ConnectionHandle handle;
  std::vector<uint8_t> received;  // bytes read but not yet a whole frame
};

// Checks and removes the whole frames at the front of `received`.
void CheckServerFrames(std::vector<uint8_t>& received) {
  size_t at = 0;
  while (at < received.size()) {
    const auto rest = std::span<const uint8_t>(received).subspan(at);
    const auto header = reef::ws::ParseFrameHeader(
        rest, reef::ws::Role::kClient, reef::ws::FrameLimits{.max_payload = 1u << 30});
    FUZZ_CHECK(!header.failed());  // unmasked, minimal, no RSV, known opcode, control rules
    if (header.incomplete()) break;
    const auto& h = header.value();
    if (h.payload_length > rest.size() - h.header_length) break;
    FUZZ_CHECK(h.fin);
    FUZZ_CHECK(h.opcode != Opcode::kContinuation && h.opcode != Opcode::kBinary);
    const auto payload = rest.subspan(h.header_length, static_cast<size_t>(h.payload_length));
    if (h.opcode == Opcode::kText) {
      FUZZ_CHECK(reef::ws::IsValidUtf8(payload));
      const std::string_view json(reinterpret_cast<const char*>(payload.data()), payload.size());
      FUZZ_CHECK(reef::ws::ParseServerMessage(json).ok());
    } else if (h.opcode == Opcode::kClose) {
      FUZZ_CHECK(reef::ws::ParseClose(payload).ok());
      FUZZ_CHECK(payload.size() >= 2);  // reef always says why
    }
    at += h.header_length + payload.size();
  }
  received.erase(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;

  reef::ws::ConnectionLimits limits;
  limits.max_message_size = 2048;
  limits.max_outbound_bytes = 8192;
  limits.ping_interval_ms = 1000;
  limits.idle_timeout_ms = 5000;
  reef::ws::WebTorrentOptions options;
  options.max_torrents_per_connection = 4;
  options.max_message_size = limits.max_message_size;
  reef::ws::WebTorrentSwarmConfig swarm_config;
  swarm_config.shards = 2;
  swarm_config.max_peers = 64;
  swarm_config.max_torrents = 16;
  swarm_config.peer_inactivity_timeout_s = 60;

  reef::AccessList access(reef::AccessListMode::kOff);
  auto swarm = std::move(reef::ws::WebTorrentSwarm::Create(swarm_config)).value();
  auto boxes = std::move(reef::ws::RelayMailboxes::Create(
                             2, 16 * 1024, reef::ws::WebTorrentTracker::RelayBufferSize(options)))
                   .value();
  std::array<std::unique_ptr<WebTorrentHost>, 2> hosts;
  for (uint16_t w = 0; w < 2; ++w) {
    hosts[w] = std::make_unique<WebTorrentHost>(w, limits, options, *swarm, access, boxes.get(),
                                                7 + w);
  }
  // What one connection may hold: a partial frame plus a read, a message being
  // reassembled, output up to the limit plus one reply or relayed frame; vectors may
  // hold twice what they use.
  const size_t per_connection_bound =
      2 * (limits.max_message_size + reef::ws::kMaxFrameHeaderSize + kMaxChunk) +
      2 * limits.max_message_size +
      2 * (limits.max_outbound_bytes + reef::ws::WebTorrentTracker::RelayBufferSize(options)) +
      options.max_torrents_per_connection * 2 * sizeof(reef::ws::PeerSession::Entry);

  std::vector<Client> clients;
  int64_t now_ms = 1'000'000;

  const auto close_done = [&] {
    for (size_t i = 0; i < clients.size();) {
      reef::ws::WsConnection* c = clients[i].host->Find(clients[i].handle);
      FUZZ_CHECK(c != nullptr);
      if (c->done()) {
        clients[i].host->Release(clients[i].handle);
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  };

  Reader in{data, size};
  for (int ops = 0; ops < 2000 && !in.empty(); ++ops) {
    const uint8_t byte = in.U8();
    const uint8_t op = byte & 7;
    const uint8_t arg = byte >> 3;
    Client* client = clients.empty() ? nullptr : &clients[arg % clients.size()];
    switch (op) {
      case 0:
        if (clients.size() < kMaxOpen) {
          WebTorrentHost* host = hosts[arg & 1].get();
          clients.push_back({host, host->Open(now_ms), {}});
        }
        break;
      case 1:
      case 2: {
        std::vector<uint8_t> bytes;
        if (op == 1) {
          const auto raw = in.Bytes(std::min<size_t>(in.U16(), kMaxChunk));
          bytes.assign(raw.begin(), raw.end());
        } else {
          static constexpr Opcode kOps[] = {Opcode::kText, Opcode::kContinuation,
                                            Opcode::kBinary, Opcode::kPing,
                                            Opcode::kPong, Opcode::kClose};
          const uint8_t flags = in.U8();
          const auto payload = in.Bytes(std::min<size_t>(in.U16(), kMaxChunk));
          bytes.resize(payload.size() + reef::ws::kMaxFrameHeaderSize);
          const reef::ws::MaskKey mask = {flags, 0x5a, 0xa5, 0x3c};
          const auto w = reef::ws::WriteMaskedFrame(bytes, kOps[(flags >> 1) % 6], payload, mask,
                                                    (flags & 1) != 0);
          // Control frames over 125 bytes cannot be written: send them raw instead.
          if (!w.ok()) bytes.assign(payload.begin(), payload.end());
          else bytes.resize(w.length());
        }
        if (client == nullptr) break;
        reef::ws::WsConnection* c = client->host->Find(client->handle);
        if (c->wants_read()) client->host->OnBytes(client->handle, bytes, now_ms);
        break;
      }
      case 3: {
        if (client == nullptr) break;
        const uint8_t n = in.U8();
        reef::ws::WsConnection* c = client->host->Find(client->handle);
        const size_t take = n == 0 ? c->output_size() : std::min<size_t>(c->output_size(), n * 37u);
        const auto out = c->output().first(take);
        client->received.insert(client->received.end(), out.begin(), out.end());
        client->host->ConsumeOutput(client->handle, take, now_ms);
        CheckServerFrames(client->received);
        break;
      }
      case 4: {
        now_ms += int64_t{in.U16()} * 100;
        for (auto& host : hosts) host->OnTimerAll(now_ms);
        for (size_t s = 0; s < swarm->shard_count(); ++s) swarm->CleanShard(s, now_ms / 1000);
        break;
      }
      case 5:
        if (client == nullptr) break;
        client->host->Release(client->handle);
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(client - clients.data()));
        break;
      case 6:
        for (auto& host : hosts) host->WakePeers();
        for (auto& host : hosts) host->DrainMailbox(now_ms);
        break;
      case 7:
        for (auto& host : hosts) host->CloseAll(now_ms);
        break;
    }
    for (auto& host : hosts) host->TakeWritable([](const ConnectionHandle&, void*) {});
    close_done();
    for (auto& host : hosts) {
      FUZZ_CHECK(host->buffered_bytes() <= host->open_connections() * per_connection_bound);
    }
  }

  // Every socket closes: nothing may be left behind in the swarm.
  for (const Client& c : clients) c.host->Release(c.handle);
  for (auto& host : hosts) FUZZ_CHECK(host->open_connections() == 0);
  const auto stats = swarm->Stats();
  FUZZ_CHECK(stats.torrents == 0 && stats.seeders == 0 && stats.leechers == 0);
  return 0;
}
