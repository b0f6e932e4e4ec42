#include "server/tcp/tcp_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/privileges.h"
#include "server/common/socket_address.h"

namespace reef::tcp {
namespace {

// What an epoll event's data says: the top two bits are the kind; a connection's event
// carries its slot index (low 32 bits) and the slot's generation (next 30 bits), so an
// event for a connection closed earlier in the same batch is recognised and skipped.
constexpr uint64_t kKindShift = 62;
constexpr uint64_t kConnectionKind = 0;
constexpr uint64_t kListenerKind = 1;
constexpr uint64_t kStopKind = 2;
constexpr uint64_t kWakeKind = 3;
constexpr uint64_t kGenerationMask = (uint64_t{1} << 30) - 1;

uint64_t Tag(uint64_t kind, uint64_t value) { return (kind << kKindShift) | value; }
uint64_t ConnectionTag(uint32_t index, uint32_t generation) {
  return Tag(kConnectionKind, ((generation & kGenerationMask) << 32) | index);
}

// Events taken per epoll_wait, and connections accepted per listener per loop turn (so
// that a flood of connections cannot starve the open ones).
constexpr int kMaxEvents = 256;
constexpr int kAcceptBatch = 64;

Millis MonotonicMillis() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

TcpWorker::TcpWorker(std::string name, std::vector<TcpListener> listeners,
                     const ConnectionLimits& limits, std::unique_ptr<HttpHandler> handler,
                     const TlsContextStore* tls, int cpu)
    : Worker(std::move(name)),
      listeners_(std::move(listeners)),
      handler_(std::move(handler)),
      context_(limits, *handler_),
      cpu_(cpu),
      read_buffer_(std::max(limits.max_head_bytes, kTlsReadBytes)) {
  if (tls != nullptr) tls_.emplace(tls);
}

TcpWorker::~TcpWorker() {
  CloseAll();
  for (const TcpListener& l : listeners_) close(l.fd);
  if (spare_fd_ >= 0) close(spare_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void TcpWorker::AddWakeSource(int fd, absl::AnyInvocable<void()> on_readable) {
  wake_sources_.push_back({fd, std::move(on_readable)});
}

absl::Status TcpWorker::Run(const StopSignal& stop) {
  if (cpu_ >= 0) {
    if (absl::Status pinned = PinCurrentThreadToCpu(cpu_); !pinned.ok()) return pinned;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto add = [&](int fd, uint64_t tag) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
  };
  if (!add(stop.fd(), Tag(kStopKind, 0))) return absl::ErrnoToStatus(errno, "epoll_ctl(stop)");
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (!add(listeners_[i].fd, Tag(kListenerKind, i))) {
      return absl::ErrnoToStatus(errno, "epoll_ctl(listener)");
    }
  }
  for (size_t i = 0; i < wake_sources_.size(); ++i) {
    if (!add(wake_sources_[i].fd, Tag(kWakeKind, i))) {
      return absl::ErrnoToStatus(errno, "epoll_ctl(wake source)");
    }
  }
  absl::Status status = Serve(epoll_fd_, stop);
  CloseAll();
  const ConnectionStats& c = context_.stats;
  REEF_LOG(Info) << "connections accepted " << stats_.accepted.load() << ", refused "
                 << stats_.refused_over_limit.load() + stats_.refused_no_descriptors.load()
                 << "; requests " << c.requests.load() << ", bad requests "
                 << c.bad_requests.load() << "; timeouts: head " << c.head_timeouts.load()
                 << ", idle " << c.idle_timeouts.load() << ", write " << c.write_timeouts.load()
                 << ", handshake " << c.handshake_timeouts.load() << "; TLS handshakes "
                 << c.tls_handshakes.load() << " (resumed " << c.tls_resumptions.load()
                 << "), failed " << c.tls_handshake_failures.load();
  return status;
}

absl::Status TcpWorker::Serve(int epoll_fd, const StopSignal& stop) {
  epoll_event events[kMaxEvents];
  while (true) {
    now_ = MonotonicMillis();
    const int timeout = context_.timers.SleepMs(now_);
    const int n = epoll_wait(epoll_fd, events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "epoll_wait");
    }
    now_ = MonotonicMillis();
    for (int e = 0; e < n; ++e) {
      const uint64_t tag = events[e].data.u64;
      const uint64_t kind = tag >> kKindShift;
      if (kind == kStopKind) {
        if (stop.requested()) return absl::OkStatus();
        continue;
      }
      if (kind == kListenerKind) {
        const size_t index = tag & 0xffffffffu;
        if (absl::Status accepted = AcceptSome(listeners_[index]); !accepted.ok()) return accepted;
        continue;
      }
      if (kind == kWakeKind) {
        wake_sources_[tag & 0xffffffffu].on_readable();
        continue;
      }
      const uint32_t index = static_cast<uint32_t>(tag & 0xffffffffu);
      const uint32_t generation = static_cast<uint32_t>((tag >> 32) & kGenerationMask);
      if (index >= slots_.size()) continue;
      Slot& slot = slots_[index];
      if (!slot.conn.has_value() || (slot.generation & kGenerationMask) != generation) continue;
      HandleIo(*slot.conn, events[e].events);
    }
    context_.timers.Expire(now_, [this](TimerEntry* entry, TimerKind kind) {
      auto* conn = static_cast<Connection*>(entry);
      conn->Expire(kind, now_);
      Settle(*conn);
    });
  }
}

absl::Status TcpWorker::AcceptSome(const TcpListener& listener) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&address), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
          return absl::OkStatus();
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:     // a firewall said no
        case ENETDOWN:  // and the other errors accept(2) says to treat as EAGAIN
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
          continue;
        case EMFILE:
        case ENFILE:
          // Out of descriptors: accept the waiting connection on the spare one and close
          // it at once, so the listener is not left readable for ever.
          stats_.refused_no_descriptors.fetch_add(1, std::memory_order_relaxed);
          if (spare_fd_ >= 0) {
            close(spare_fd_);
            const int dropped = accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (dropped >= 0) close(dropped);
            spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
          }
          return absl::OkStatus();
        case ENOBUFS:
        case ENOMEM:
          return absl::OkStatus();  // the kernel is short of memory: try on the next turn
        default:
          return absl::ErrnoToStatus(errno, "accept4");
      }
    }
    if (stats_.open.load(std::memory_order_relaxed) >=
        static_cast<int64_t>(context_.limits.max_connections)) {
      stats_.refused_over_limit.fetch_add(1, std::memory_order_relaxed);
      close(fd);
      continue;
    }
    const std::optional<Endpoint> peer = ClientEndpoint(address);
    if (!peer.has_value()) {  // not IPv4 or IPv6: cannot happen on our listeners
      close(fd);
      continue;
    }
    uint32_t index;
    if (!free_slots_.empty()) {
      index = free_slots_.back();
      free_slots_.pop_back();
    } else {
      index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& slot = slots_[index];
    SSL_CTX* tls = listener.tls && tls_.has_value() ? tls_->Get() : nullptr;
    Connection& conn = slot.conn.emplace(context_, *peer, tls, now_);
    conn.socket.fd = fd;
    conn.socket.index = index;
    stats_.open.fetch_add(1, std::memory_order_relaxed);
    if (conn.state() == Connection::State::kClosed || (listener.tls && tls == nullptr)) {
      CloseConnection(conn);  // OpenSSL could not make an SSL
      continue;
    }
    stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    // The request (or ClientHello) is there already (TCP_DEFER_ACCEPT): read and answer it
    // now. Settle() registers the socket with epoll only if the connection stays open, so
    // a one-request connection costs no epoll_ctl at all.
    HandleIo(conn, EPOLLIN);
  }
  return absl::OkStatus();
}

void TcpWorker::HandleIo(Connection& conn, uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    conn.Abort();
  } else if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0) {
    ReadOnce(conn);
  }
  Settle(conn);
}

void TcpWorker::ReadOnce(Connection& conn) {
  const int fd = conn.socket.fd;
  if (conn.state() == Connection::State::kLinger) {
    // Drop what the client still sends; its end of file ends the connection.
    const ssize_t n = recv(fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n == 0) {
      conn.ReceiveEnd(now_);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      conn.Abort();
    }
    return;
  }
  const size_t budget = std::min(conn.ReceiveBudget(), read_buffer_.size());
  if (budget == 0) return;
  const ssize_t n = recv(fd, read_buffer_.data(), budget, 0);
  if (n > 0) {
    stats_.bytes_received.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    conn.Receive(std::span<const uint8_t>(read_buffer_.data(), static_cast<size_t>(n)), now_);
  } else if (n == 0) {
    conn.ReceiveEnd(now_);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    conn.Abort();  // reset by the peer, or worse
  }
}

void TcpWorker::Settle(Connection& conn) {
  const int fd = conn.socket.fd;
  while (true) {
    std::span<const uint8_t> pending = conn.PendingOutput();
    if (pending.empty()) break;
    const ssize_t n = send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      stats_.bytes_sent.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      conn.Sent(static_cast<size_t>(n), now_);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    conn.Abort();  // EPIPE, ECONNRESET: the client is gone
    break;
  }
  const Connection::State state = conn.state();
  if (state == Connection::State::kClosed) {
    CloseConnection(conn);
    return;
  }
  if (state == Connection::State::kLinger && !conn.socket.write_shut) {
    shutdown(fd, SHUT_WR);
    conn.socket.write_shut = true;
  }
  uint32_t want = 0;
  if (state == Connection::State::kLinger || conn.ReceiveBudget() > 0) want |= EPOLLIN;
  if (!conn.PendingOutput().empty()) want |= EPOLLOUT;
  if (!conn.socket.registered || want != conn.socket.events) {
    epoll_event event{};
    event.events = want;
    event.data.u64 = ConnectionTag(conn.socket.index, slots_[conn.socket.index].generation);
    if (epoll_ctl(epoll_fd_, conn.socket.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) !=
        0) {
      conn.Abort();
      CloseConnection(conn);
      return;
    }
    conn.socket.registered = true;
    conn.socket.events = want;
  }
}

void TcpWorker::CloseConnection(Connection& conn) {
  const uint32_t index = conn.socket.index;
  // Closing the descriptor also takes it out of the epoll set (no other descriptor refers
  // to the socket).
  const int fd = conn.socket.fd;
  Slot& slot = slots_[index];
  slot.conn.reset();
  ++slot.generation;
  free_slots_.push_back(index);
  stats_.open.fetch_sub(1, std::memory_order_relaxed);
  stats_.closed.fetch_add(1, std::memory_order_relaxed);
  close(fd);
}

void TcpWorker::CloseAll() {
  for (Slot& slot : slots_) {
    if (slot.conn.has_value()) CloseConnection(*slot.conn);
  }
}

}  // namespace reef::tcp
