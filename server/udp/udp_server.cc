#include "server/udp/udp_server.h"

#include <sys/random.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/privileges.h"
#include "server/udp/connection_id.h"
#include "server/udp/event_loop.h"
#include "server/udp/socket.h"
#include "server/udp/tracker.h"

namespace reef::udp {
namespace {

// What every UDP worker shares; kept alive by each worker's shared_ptr.
struct Shared {
  Shared(ConnectionIds connection_ids, const tracker::Shared& tracker_core)
      : ids(connection_ids), core(tracker_core) {}
  const ConnectionIds ids;
  const tracker::Shared core;  // holds the store and the access list
};

class UdpWorker final : public Worker {
 public:
  UdpWorker(std::string name, std::shared_ptr<Shared> shared, std::vector<int> sockets,
            std::unique_ptr<UdpEventLoop> loop, const UdpOptions& options, int cpu)
      : Worker(std::move(name)),
        shared_(std::move(shared)),
        sockets_(std::move(sockets)),
        loop_(std::move(loop)),
        core_(shared_->core, RandomSeed()),
        tracker_(options, core_, shared_->ids),
        cpu_(cpu) {}

  ~UdpWorker() override {
    for (int fd : sockets_) close(fd);
  }

  const LoopStats& loop_stats() const { return loop_->stats(); }
  const UdpStats& udp_stats() const { return tracker_.stats(); }
  const tracker::Counters& core_counters() const { return core_.counters(); }

  absl::Status Run(const StopSignal& stop) override {
    if (cpu_ >= 0) {
      if (absl::Status pinned = PinCurrentThreadToCpu(cpu_); !pinned.ok()) return pinned;
    }
    absl::Status status = loop_->Run(sockets_, stop.fd(), tracker_);
    const LoopStats& io = loop_->stats();
    const UdpStats& u = tracker_.stats();
    const tracker::CountersSnapshot c = core_.counters().Snapshot();
    using tracker::Action;
    using tracker::Protocol;
    using tracker::Refusal;
    using tracker::StoreEvent;
    REEF_LOG(Info) << "datagrams received " << io.received.load() << ", sent " << io.sent.load()
                   << ", oversized " << io.oversized.load() << ", send errors "
                   << io.send_errors.load() + io.send_dropped.load() << "; connects "
                   << u.Connects() << ", announces "
                   << c.Served(Protocol::kUdp, Action::kAnnounce) << ", scrapes "
                   << c.Served(Protocol::kUdp, Action::kScrape) << ", errors sent "
                   << u.errors_sent.load() << ", bad connection ids "
                   << u.bad_connection_ids.load() << ", dropped " << u.dropped.load()
                   << "; refused: " << tracker::RefusalName(Refusal::kPortZero) << " "
                   << c.Refusals(Refusal::kPortZero) << ", "
                   << tracker::RefusalName(Refusal::kNotAllowed) << " "
                   << c.Refusals(Refusal::kNotAllowed) << ", "
                   << tracker::RefusalName(Refusal::kTooManyHashes) << " "
                   << c.Refusals(Refusal::kTooManyHashes) << ", "
                   << tracker::RefusalName(Refusal::kFull) << " " << c.Refusals(Refusal::kFull)
                   << "; info hashes hidden from scrapes "
                   << c.hidden_info_hashes[static_cast<size_t>(Protocol::kUdp)] << "; "
                   << StoreEventName(StoreEvent::kPrefixEviction) << " "
                   << c.StoreEvents(StoreEvent::kPrefixEviction) << ", "
                   << StoreEventName(StoreEvent::kStopKeyMismatch) << " "
                   << c.StoreEvents(StoreEvent::kStopKeyMismatch) << ", "
                   << StoreEventName(StoreEvent::kCompletedNotCounted) << " "
                   << c.StoreEvents(StoreEvent::kCompletedNotCounted);
    return status;
  }

 private:
  static uint64_t RandomSeed() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = static_cast<uint64_t>(getpid());
    return seed;
  }

  const std::shared_ptr<Shared> shared_;
  const std::vector<int> sockets_;
  const std::unique_ptr<UdpEventLoop> loop_;
  tracker::Tracker core_;
  UdpTracker tracker_;
  const int cpu_;
};

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

}  // namespace

absl::StatusOr<UdpWorkers> BuildUdpWorkers(const UdpConfig& udp, const tracker::Shared& core) {
  absl::StatusOr<ConnectionIds> ids = udp.connection_id_secret.empty()
                                          ? ConnectionIds::WithRandomKey()
                                          : ConnectionIds::WithSecret(udp.connection_id_secret);
  if (!ids.ok()) return ids.status();
  auto shared = std::make_shared<Shared>(*ids, core);

  UdpOptions options;
  options.reply_to_bad_connection_id = udp.error_on_bad_connection_id;

  LoopOptions loop_options;
  loop_options.max_datagram_bytes = static_cast<size_t>(udp.max_datagram_size);
  loop_options.max_reply_bytes = UdpTracker::MaxReplySize(core.options);

  SocketOptions socket_options;
  socket_options.receive_buffer_bytes = static_cast<size_t>(udp.receive_buffer_size);

  absl::StatusOr<std::vector<int>> cpus = UdpWorkerCpus(udp);
  if (!cpus.ok()) return cpus.status();
  const bool steer = udp.steering == UdpSteering::kCpu;

  std::vector<SocketAddress> addresses = udp.listen;
  UdpWorkers out;
  std::string describe_backend;
  std::vector<int> first_sockets;  // worker 0's, one per address: each in its reuseport group
  for (int w = 0; w < udp.socket_workers; ++w) {
    const std::string name = absl::StrCat("udp-", w);
    const int cpu = cpus->empty() ? -1 : (*cpus)[static_cast<size_t>(w)];
    socket_options.incoming_cpu = steer ? cpu : -1;
    std::vector<int> sockets;
    for (SocketAddress& address : addresses) {
      absl::StatusOr<OpenedSocket> opened = OpenUdpSocket(address, socket_options);
      if (!opened.ok()) {
        CloseAll(sockets);
        return opened.status();
      }
      sockets.push_back(opened->fd);
      absl::StatusOr<SocketAddress> bound = BoundAddress(opened->fd);
      if (!bound.ok()) {
        CloseAll(sockets);
        return bound.status();
      }
      if (address.port() == 0) address = *bound;  // the others share the port we got
      if (socket_options.receive_buffer_bytes > 0 &&
          opened->receive_buffer_bytes < socket_options.receive_buffer_bytes) {
        REEF_LOG(Warn) << name << ": " << bound->ToString() << " got a receive buffer of "
                       << opened->receive_buffer_bytes << " bytes, not the "
                       << socket_options.receive_buffer_bytes
                       << " configured (net.core.rmem_max caps it without CAP_NET_ADMIN)";
      }
      if (w == 0) {
        REEF_LOG(Info) << "udp: listening on " << bound->ToString();
        out.bound.push_back(*bound);
      }
    }
    std::unique_ptr<UdpEventLoop> loop;
    if (udp.backend == UdpBackend::kIoUring) {
      absl::StatusOr<std::unique_ptr<UdpEventLoop>> uring = MakeIoUringLoop(loop_options);
      if (!uring.ok()) {
        CloseAll(sockets);
        return absl::Status(uring.status().code(),
                            absl::StrCat("udp.backend = \"io_uring\" is not available here: ",
                                         uring.status().message(),
                                         " (use backend = \"epoll\")"));
      }
      loop = std::move(*uring);
    } else {
      loop = MakeEpollLoop(loop_options);
    }
    describe_backend = loop->Describe();
    if (w == 0) first_sockets = sockets;
    auto worker = std::make_unique<UdpWorker>(name, shared, std::move(sockets), std::move(loop),
                                              options, cpu);
    out.loop_stats.push_back(&worker->loop_stats());
    out.udp_stats.push_back(&worker->udp_stats());
    out.core_counters.push_back(&worker->core_counters());
    out.workers.push_back(std::move(worker));
  }
  if (steer) {
    // Worker i bound its sockets i-th in each group, so index i is worker i's.
    for (int fd : first_sockets) {
      if (absl::Status steered = SteerByCpu(fd, *cpus); !steered.ok()) return steered;
    }
    REEF_LOG(Info) << "udp: each datagram goes to the worker on the CPU that received it "
                      "(steering = \"cpu\"; workers on CPUs "
                   << absl::StrJoin(*cpus, ", ") << ")";
  }
  REEF_LOG(Info) << "udp: " << udp.socket_workers << " socket worker(s), "
                 << (out.workers.empty() ? std::string(UdpBackendName(udp.backend))
                                         : describe_backend)
                 << " backend";
  return out;
}

}  // namespace reef::udp
