// The UDP tracker's workers, built from the configuration.
//
// For each of udp.socket_workers workers: one SO_REUSEPORT socket per udp.listen address
// (so the kernel spreads clients across workers), the event loop udp.backend names, its
// own tracker core over the shared store, and a UdpTracker (BEP 15 <-> core). Everything
// that can fail at start (binding, io_uring support, the connection id key) fails here,
// on the main thread, before privileges are dropped.
#ifndef REEF_SERVER_UDP_UDP_SERVER_H_
#define REEF_SERVER_UDP_UDP_SERVER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/worker.h"
#include "server/tracker/tracker.h"
#include "server/udp/event_loop.h"
#include "server/udp/tracker.h"
#include "server/udp/udp_config.h"

namespace reef::udp {

struct UdpWorkers {
  // "udp-0" .. "udp-N-1", to be run by a Supervisor.
  std::vector<std::unique_ptr<Worker>> workers;
  // What each udp.listen address was bound to, in order (port 0 resolved). A listen
  // address with port 0 is bound once by the first worker and the others share its port.
  std::vector<SocketAddress> bound;
  // Each worker's counters, valid while its worker lives (for metrics and tests).
  std::vector<const LoopStats*> loop_stats;
  std::vector<const UdpStats*> udp_stats;
  std::vector<const tracker::Counters*> core_counters;
};

// Reads the [udp] section; what the announce and scrape rules need comes in `core`.
absl::StatusOr<UdpWorkers> BuildUdpWorkers(const UdpConfig& udp, const tracker::Shared& core);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_UDP_SERVER_H_
