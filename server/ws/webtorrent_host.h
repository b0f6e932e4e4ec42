// WebTorrentHost: the WebTorrent connections of one socket worker, apart from sockets.
//
// It owns, per connection, a WsConnection (frames), a PeerSession (what the connection
// announced) and a slot in a table whose index and generation make the connection's
// ConnectionHandle; and, per worker, a WebTorrentTracker (messages) and the Relay that
// delivers offers and answers: to a connection of this worker directly, to another
// worker's connection through RelayMailboxes. The socket layer (the HTTP worker after an
// `Upgrade: websocket`, or a test, or a fuzzer) drives it with bytes, writes, timers and
// closes, and asks which connections have new output from a relay.
//
// The socket layer's duties, in order:
//   - after the 101 response: h = Open(now), then OnBytes(h, leftover) if the client sent
//     frames right behind its upgrade request;
//   - OnBytes(h, bytes, now) for what it reads, while Find(h)->wants_read();
//   - write Find(h)->output() to the socket and ConsumeOutput(h, written, now);
//   - OnTimer(h, now) at Find(h)->next_deadline_ms();
//   - DrainMailbox(now) when wake_fd() (RelayMailboxes) is readable, and WakePeers() at
//     the end of each event-loop iteration;
//   - after each of those, TakeWritable(fn) for connections a relay gave output to;
//   - Find(h)->done(): close the socket and Release(h); a socket that ends first:
//     Release(h) too (it calls OnSocketClosed, which removes the peer's entries).
//
// Not thread-safe: one worker owns a host. Hosts of different workers share the swarm,
// the access list and the mailboxes.
#ifndef REEF_SERVER_WS_WEBTORRENT_HOST_H_
#define REEF_SERVER_WS_WEBTORRENT_HOST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "server/common/access_list.h"
#include "server/ws/connection.h"
#include "server/ws/relay_mailbox.h"
#include "server/ws/webtorrent_swarm.h"
#include "server/ws/webtorrent_tracker.h"

namespace reef::ws {

// Relay counters of one worker.
struct RelayStats {
  std::atomic<uint64_t> delivered_local{0};    // to a connection of this worker
  std::atomic<uint64_t> sent_to_mailbox{0};    // to another worker's mailbox
  std::atomic<uint64_t> mailbox_full{0};       // another worker's mailbox was full: dropped
  std::atomic<uint64_t> received_from_mailbox{0};
  std::atomic<uint64_t> to_closed{0};          // the receiving connection was gone: dropped
};

class WebTorrentHost final : public Relay {
 public:
  // `limits` and `options` must pass their Validate functions; `mailboxes` may be null
  // (a single worker, tests): then every handle of another worker is dropped as closed.
  WebTorrentHost(uint16_t worker, const ConnectionLimits& limits,
                 const WebTorrentOptions& options, WebTorrentSwarm& swarm,
                 const AccessList& access_list, RelayMailboxes* mailboxes, uint64_t rng_seed);
  ~WebTorrentHost() override;
  WebTorrentHost(const WebTorrentHost&) = delete;
  WebTorrentHost& operator=(const WebTorrentHost&) = delete;

  uint16_t worker() const { return worker_; }

  // `user` is the socket layer's own (its connection object), handed back by TakeWritable.
  ConnectionHandle Open(int64_t now_ms, void* user = nullptr);
  // The live connection `h` names, or null (closed, released, another worker's).
  WsConnection* Find(const ConnectionHandle& h);

  void OnBytes(const ConnectionHandle& h, std::span<uint8_t> bytes, int64_t now_ms);
  void ConsumeOutput(const ConnectionHandle& h, size_t n, int64_t now_ms);
  void OnTimer(const ConnectionHandle& h, int64_t now_ms);
  // Every connection's timer (tests, and a socket layer without a timer structure).
  void OnTimerAll(int64_t now_ms);
  // Closes every open connection with 1001 (shutdown).
  void CloseAll(int64_t now_ms);
  // The socket is gone: ends the connection if it was not done, frees its slot.
  void Release(const ConnectionHandle& h);

  // Readable when DrainMailbox has frames to take (-1 without mailboxes).
  int mailbox_fd() const;
  size_t DrainMailbox(int64_t now_ms);
  void WakePeers();

  // Calls `fn` once for each connection that received relayed output since the last
  // call and is still live.
  void TakeWritable(absl::FunctionRef<void(const ConnectionHandle&, void* user)> fn);

  // Relay: where the tracker's offers and answers go.
  void Deliver(const ConnectionHandle& to, std::span<const uint8_t> frame) override;

  size_t open_connections() const { return live_; }
  // Each live connection's handle (tests, fuzzers).
  std::vector<ConnectionHandle> Handles() const;
  const ConnectionStats& connection_stats() const { return connection_stats_; }
  const WebTorrentStats& tracker_stats() const { return tracker_.stats(); }
  const RelayStats& relay_stats() const { return relay_stats_; }
  // Bytes held by every live connection's buffers, and by its session's entry list.
  size_t buffered_bytes() const;

 private:
  struct Slot;
  Slot* LiveSlot(const ConnectionHandle& h);
  void MarkWritable(Slot& slot);
  void DeliverLocal(const ConnectionHandle& to, std::span<const uint8_t> frame);

  const uint16_t worker_;
  const ConnectionLimits limits_;
  WebTorrentTracker tracker_;
  RelayMailboxes* const mailboxes_;
  ConnectionStats connection_stats_;
  RelayStats relay_stats_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> writable_;  // slots with relayed output since TakeWritable
  size_t live_ = 0;
  int64_t now_ms_ = 0;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_WEBTORRENT_HOST_H_
