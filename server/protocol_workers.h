// The one place where the reef binary gets its protocol workers (UDP, later HTTP and
// WebSocket) from the configuration. server/main.cc calls BuildProtocolWorkers() once, on
// the main thread, before dropping privileges and before any worker runs.
//
// To add a protocol: build its workers in BuildProtocolWorkers() from context.config and
// the tracker core every protocol shares (`core`: the store, the access list, the clock,
// the announce and scrape rules' options; each worker makes its own tracker::Tracker
// from it),
// doing everything that can fail at start there (bind the sockets, check io_uring) so that
// a bad address or a refused backend stops reef before it serves anything; each worker's
// Run() then serves until its StopSignal. Add the library to //server:protocol_workers'
// deps. Nothing else in main.cc needs to change.
#ifndef REEF_SERVER_PROTOCOL_WORKERS_H_
#define REEF_SERVER_PROTOCOL_WORKERS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/access_list.h"
#include "server/config.h"
#include "server/common/worker.h"
#include "server/tracker/tracker.h"

namespace reef {

// What protocol workers are built from; everything here outlives every worker.
struct ServerContext {
  const Config& config;
  // Which info hashes to serve: call access_list->Allows(info_hash) per request (cheap,
  // any thread). Always set; in mode "off" it allows everything.
  std::shared_ptr<const AccessList> access_list;
};

// The workers for every enabled protocol, in the order they should be started, sharing
// one swarm store, and the store's cleaner ("cleaner"). An error
// stops reef at start (exit status 1) with the message logged. An empty list is allowed:
// reef then runs its other workers (the access list) and waits for SIGTERM.
absl::StatusOr<std::vector<std::unique_ptr<Worker>>> BuildProtocolWorkers(
    const ServerContext& context);

// The swarm store and the tracker core's options from the [swarm] section, with the
// access list and the system clock: what every protocol's workers share. The one place
// the [swarm] section is read, but for the cleaner's interval. (Tests that build one
// protocol's workers alone use it too.)
absl::StatusOr<tracker::Shared> BuildTrackerCore(const SwarmConfig& swarm,
                                                 std::shared_ptr<const AccessList> access_list);

}  // namespace reef

#endif  // REEF_SERVER_PROTOCOL_WORKERS_H_
