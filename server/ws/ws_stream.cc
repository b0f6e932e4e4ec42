#include "server/ws/ws_stream.h"

#include <utility>

#include "protocol/ws/handshake.h"

namespace reef::ws {
namespace {

// One upgraded TCP connection's WebSocket: a handle into the worker's host.
class WsStream final : public tcp::Stream {
 public:
  explicit WsStream(WebTorrentHost& host) : host_(host) {}

  void Open(int64_t now_ms) { handle_ = host_.Open(now_ms, this); }
  tcp::Connection* connection() const { return connection_; }

  void Attach(tcp::Connection& connection) override { connection_ = &connection; }
  void Receive(std::span<uint8_t> plaintext, tcp::Millis now) override {
    host_.OnBytes(handle_, plaintext, now);
  }
  bool WantsInput() const override {
    const WsConnection* c = host_.Find(handle_);
    return c != nullptr && c->wants_read();
  }
  std::span<const uint8_t> Output() const override {
    const WsConnection* c = host_.Find(handle_);
    return c == nullptr ? std::span<const uint8_t>() : c->output();
  }
  void Consumed(size_t n, tcp::Millis now) override { host_.ConsumeOutput(handle_, n, now); }
  void Timer(tcp::TimerKind, tcp::Millis now) override { host_.OnTimer(handle_, now); }
  bool AwaitsAnswer() const override {
    const WsConnection* c = host_.Find(handle_);
    return c != nullptr && c->ping_outstanding();
  }
  bool Done() const override {
    const WsConnection* c = host_.Find(handle_);
    return c == nullptr || c->closed();
  }
  void Ended() override {
    host_.Release(handle_);
    connection_ = nullptr;
  }

 private:
  WebTorrentHost& host_;
  ConnectionHandle handle_;
  tcp::Connection* connection_ = nullptr;
};

}  // namespace

bool AsksForWebSocket(const http::Request& request) {
  for (const http::Header& h : request.headers) {
    if (http::EqualsIgnoreCase(h.name, "Upgrade") && http::HeaderListContains(h.value, "websocket")) {
      return true;
    }
  }
  return false;
}

WsStreamFactory::WsStreamFactory(uint16_t worker, const ConnectionLimits& limits,
                                 const WebTorrentOptions& options,
                                 std::shared_ptr<WebTorrentSwarm> swarm,
                                 std::shared_ptr<const AccessList> access_list,
                                 std::shared_ptr<RelayMailboxes> mailboxes, uint64_t rng_seed)
    : limits_(limits),
      swarm_(std::move(swarm)),
      access_list_(std::move(access_list)),
      mailboxes_(std::move(mailboxes)),
      host_(worker, limits, options, *swarm_, *access_list_, mailboxes_.get(), rng_seed) {}

void WsStreamFactory::Install(std::unique_ptr<WsStreamFactory> factory, tcp::TcpWorker& worker) {
  WebTorrentHost* host = &factory->host_;
  // Ping after ping_interval of silence; close idle_timeout after the last byte.
  worker.SetStreamTimers(factory->limits_.ping_interval_ms,
                         factory->limits_.idle_timeout_ms - factory->limits_.ping_interval_ms);
  tcp::TcpWorker* w = &worker;
  worker.AddTurnHook([host, w](tcp::Millis) {
    // Connections that received relayed frames this turn: queue and send them.
    host->TakeWritable([w](const ConnectionHandle&, void* user) {
      tcp::Connection* conn = static_cast<WsStream*>(user)->connection();
      if (conn != nullptr) w->Refresh(*conn);
    });
    host->WakePeers();
  });
  if (host->mailbox_fd() >= 0) {
    worker.AddWakeSource(host->mailbox_fd(), [host, w] { host->DrainMailbox(w->now()); });
  }
  worker.SetStreamFactory(std::move(factory));
}

bool WsStreamFactory::Wants(const http::Request& request) const {
  return AsksForWebSocket(request);
}

size_t WsStreamFactory::Upgrade(const http::Request& request, const tcp::RequestContext& context,
                                std::span<uint8_t> out, std::unique_ptr<tcp::Stream>* stream) {
  const auto upgrade = ValidateUpgrade(request);
  if (!upgrade.ok()) {
    const WriteResult refusal = WriteHandshakeRefusal(out, upgrade.error());
    return refusal.ok() ? refusal.length() : 0;
  }
  const WriteResult accepted = WriteHandshakeResponse(out, upgrade.value().key);
  if (!accepted.ok()) return 0;
  auto ws = std::make_unique<WsStream>(host_);
  ws->Open(context.now);
  *stream = std::move(ws);
  return accepted.length();
}

}  // namespace reef::ws
