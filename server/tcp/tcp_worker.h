// A TCP socket worker: one thread, one epoll loop over non-blocking sockets, its own
// SO_REUSEPORT listeners (plain and TLS), a table of connections and their timers.
//
// Per loop turn: epoll_wait (sleeping until the earliest connection deadline at most),
// then for each ready socket one recv of at most the connection's ReceiveBudget(), the
// bytes handed to the Connection, its output sent at once (send until EAGAIN), and the
// epoll interest changed only when the connection's wishes change (EPOLLOUT while output
// waits, no EPOLLIN while it is backpressured). Then the timers that ran out close their
// connections. Listeners accept in batches; past ConnectionLimits::max_connections a new
// connection is closed at once and counted, and the open ones keep being served. When
// the process runs out of descriptors (EMFILE), a spare descriptor kept for the purpose is
// closed to accept and close the waiting connection, so the listener does not spin.
//
// Nothing a client does ends Run(): bad bytes, resets and timeouts close that one
// connection. Run() returns an error only when epoll itself fails or a listener breaks,
// which ends reef through the supervisor.
//
// For the WebSocket server (next): AddWakeSource() puts an eventfd (a Mailbox's) in the
// loop; its callback runs on the worker's thread, where it may touch the worker's
// connections.
#ifndef REEF_SERVER_TCP_TCP_WORKER_H_
#define REEF_SERVER_TCP_TCP_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "server/common/worker.h"
#include "server/tcp/connection.h"
#include "server/tcp/tls.h"

namespace reef::tcp {

struct TcpListener {
  int fd = -1;      // listening, non-blocking; the worker closes it
  bool tls = false;
};

// Counters of the sockets; the connections' own are in ConnectionStats.
struct TcpWorkerStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_over_limit{0};  // closed at once: max_connections reached
  std::atomic<uint64_t> refused_no_descriptors{0};  // EMFILE/ENFILE at accept
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<int64_t> open{0};  // connections open now
};

class TcpWorker final : public Worker {
 public:
  // `limits` must pass ValidateLimits for handler->MaxResponseBytes(). `tls` serves the
  // listeners marked tls (it must outlive the worker; null if there are none). `cpu` >= 0
  // pins the worker's thread.
  TcpWorker(std::string name, std::vector<TcpListener> listeners, const ConnectionLimits& limits,
            std::unique_ptr<HttpHandler> handler, const TlsContextStore* tls, int cpu = -1);
  ~TcpWorker() override;

  // Before Run(): runs `on_readable` on the worker's thread whenever `fd` is readable
  // (level-triggered: the callback must drain it).
  void AddWakeSource(int fd, absl::AnyInvocable<void()> on_readable);

  absl::Status Run(const StopSignal& stop) override;

  const TcpWorkerStats& stats() const { return stats_; }
  const ConnectionStats& connection_stats() const { return context_.stats; }
  HttpHandler& handler() { return *handler_; }

 private:
  struct Slot {
    std::optional<Connection> conn;
    uint32_t generation = 0;
  };
  struct WakeSource {
    int fd;
    absl::AnyInvocable<void()> on_readable;
  };

  absl::Status Serve(int epoll_fd, const StopSignal& stop);
  absl::Status AcceptSome(const TcpListener& listener);
  void HandleIo(Connection& conn, uint32_t events);
  void ReadOnce(Connection& conn);
  // Sends what is pending, closes or shuts down as the state says, updates epoll interest.
  void Settle(Connection& conn);
  void CloseConnection(Connection& conn);
  void CloseAll();

  const std::vector<TcpListener> listeners_;
  const std::unique_ptr<HttpHandler> handler_;
  ConnectionContext context_;
  const int cpu_;
  std::optional<TlsContextReader> tls_;
  std::vector<WakeSource> wake_sources_;
  std::deque<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint8_t> read_buffer_;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;
  Millis now_ = 0;
  TcpWorkerStats stats_;
};

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_TCP_WORKER_H_
