#include "server/ws/webtorrent_host.h"

#include <utility>

namespace reef::ws {

struct WebTorrentHost::Slot final : WsConnection::Handler {
  explicit Slot(WebTorrentHost* h) : host(h) {}

  void OnText(WsConnection& from, std::string_view message) override {
    host->tracker_.OnMessage(session, from, message, host->now_ms_ / 1000);
  }
  void OnClosing(WsConnection&) override { host->tracker_.OnClosing(session); }

  WebTorrentHost* const host;
  void* user = nullptr;
  uint32_t generation = 0;
  bool marked_writable = false;
  PeerSession session;
  std::optional<WsConnection> connection;
};

WebTorrentHost::WebTorrentHost(uint16_t worker, const ConnectionLimits& limits,
                               const WebTorrentOptions& options, WebTorrentSwarm& swarm,
                               const AccessList& access_list, RelayMailboxes* mailboxes,
                               uint64_t rng_seed)
    : worker_(worker),
      limits_(limits),
      tracker_(options, swarm, access_list, *this, rng_seed),
      mailboxes_(mailboxes) {}

WebTorrentHost::~WebTorrentHost() {
  // Whatever is still open leaves the swarm with its host.
  for (auto& slot : slots_) {
    if (slot->connection.has_value()) slot->connection->OnSocketClosed();
  }
}

ConnectionHandle WebTorrentHost::Open(int64_t now_ms, void* user) {
  now_ms_ = now_ms;
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Slot>(this));
  }
  Slot& slot = *slots_[index];
  ++slot.generation;  // a handle of the slot's previous connection matches no more
  slot.marked_writable = false;
  slot.user = user;
  slot.session.handle = {worker_, index, slot.generation};
  slot.connection.emplace(limits_, slot, connection_stats_, now_ms);
  ++live_;
  connection_stats_.open_now.store(live_, std::memory_order_relaxed);
  return slot.session.handle;
}

WebTorrentHost::Slot* WebTorrentHost::LiveSlot(const ConnectionHandle& h) {
  if (h.worker != worker_ || h.slot >= slots_.size()) return nullptr;
  Slot* slot = slots_[h.slot].get();
  if (slot->generation != h.generation || !slot->connection.has_value()) return nullptr;
  return slot;
}

WsConnection* WebTorrentHost::Find(const ConnectionHandle& h) {
  Slot* slot = LiveSlot(h);
  return slot == nullptr ? nullptr : &*slot->connection;
}

void WebTorrentHost::OnBytes(const ConnectionHandle& h, std::span<uint8_t> bytes,
                             int64_t now_ms) {
  now_ms_ = now_ms;
  if (Slot* slot = LiveSlot(h)) slot->connection->OnBytes(bytes, now_ms);
}

void WebTorrentHost::ConsumeOutput(const ConnectionHandle& h, size_t n, int64_t now_ms) {
  now_ms_ = now_ms;
  if (Slot* slot = LiveSlot(h)) slot->connection->ConsumeOutput(n, now_ms);
}

void WebTorrentHost::OnTimer(const ConnectionHandle& h, int64_t now_ms) {
  now_ms_ = now_ms;
  if (Slot* slot = LiveSlot(h)) slot->connection->OnTimer(now_ms);
}

void WebTorrentHost::OnTimerAll(int64_t now_ms) {
  now_ms_ = now_ms;
  for (auto& slot : slots_) {
    if (slot->connection.has_value()) slot->connection->OnTimer(now_ms);
  }
}

void WebTorrentHost::CloseAll(int64_t now_ms) {
  now_ms_ = now_ms;
  for (auto& slot : slots_) {
    if (slot->connection.has_value()) {
      slot->connection->Close(kCloseGoingAway, "server shutting down", now_ms);
    }
  }
}

void WebTorrentHost::Release(const ConnectionHandle& h) {
  Slot* slot = LiveSlot(h);
  if (slot == nullptr) return;
  slot->connection->OnSocketClosed();  // removes the entries if nothing did yet
  slot->connection.reset();
  slot->session.entries.clear();
  slot->session.entries.shrink_to_fit();
  free_slots_.push_back(h.slot);
  --live_;
  connection_stats_.open_now.store(live_, std::memory_order_relaxed);
}

void WebTorrentHost::MarkWritable(Slot& slot) {
  if (slot.marked_writable) return;
  slot.marked_writable = true;
  writable_.push_back(slot.session.handle.slot);
}

void WebTorrentHost::TakeWritable(
    absl::FunctionRef<void(const ConnectionHandle&, void* user)> fn) {
  // `fn` may write (which may resume kept input, which may relay and mark more slots)
  // and release connections: it works on a list of its own.
  std::vector<uint32_t> slots;
  slots.swap(writable_);
  for (uint32_t index : slots) {
    Slot& slot = *slots_[index];
    slot.marked_writable = false;
    if (slot.connection.has_value()) fn(slot.session.handle, slot.user);
  }
  slots.clear();
  if (writable_.empty()) writable_.swap(slots);  // keep the capacity
}

void WebTorrentHost::DeliverLocal(const ConnectionHandle& to, std::span<const uint8_t> frame) {
  Slot* slot = LiveSlot(to);
  if (slot == nullptr) {
    Bump(relay_stats_.to_closed);
    return;
  }
  if (slot->connection->SendRelayed(frame)) {
    Bump(relay_stats_.delivered_local);
    MarkWritable(*slot);
  }
}

void WebTorrentHost::Deliver(const ConnectionHandle& to, std::span<const uint8_t> frame) {
  if (to.worker == worker_) {
    DeliverLocal(to, frame);
    return;
  }
  if (mailboxes_ == nullptr || to.worker >= mailboxes_->workers()) {
    Bump(relay_stats_.to_closed);
    return;
  }
  if (mailboxes_->Push(worker_, to, frame)) {
    Bump(relay_stats_.sent_to_mailbox);
  } else {
    Bump(relay_stats_.mailbox_full);
  }
}

size_t WebTorrentHost::DrainMailbox(int64_t now_ms) {
  now_ms_ = now_ms;
  if (mailboxes_ == nullptr) return 0;
  const size_t frames = mailboxes_->Drain(
      worker_, [this](const ConnectionHandle& to, std::span<const uint8_t> frame) {
        DeliverLocal(to, frame);
      });
  Bump(relay_stats_.received_from_mailbox, frames);
  return frames;
}

int WebTorrentHost::mailbox_fd() const {
  return mailboxes_ == nullptr ? -1 : mailboxes_->wake_fd(worker_);
}

void WebTorrentHost::WakePeers() {
  if (mailboxes_ != nullptr) mailboxes_->WakePending(worker_);
}

std::vector<ConnectionHandle> WebTorrentHost::Handles() const {
  std::vector<ConnectionHandle> handles;
  for (const auto& slot : slots_) {
    if (slot->connection.has_value()) handles.push_back(slot->session.handle);
  }
  return handles;
}

size_t WebTorrentHost::buffered_bytes() const {
  size_t bytes = 0;
  for (const auto& slot : slots_) {
    if (!slot->connection.has_value()) continue;
    bytes += slot->connection->buffered_bytes() +
             slot->session.entries.capacity() * sizeof(PeerSession::Entry);
  }
  return bytes;
}

}  // namespace reef::ws
