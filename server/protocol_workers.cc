#include "server/protocol_workers.h"

#include "server/common/log.h"

namespace reef {

absl::StatusOr<std::vector<std::unique_ptr<Worker>>> BuildProtocolWorkers(
    const ServerContext& context) {
  std::vector<std::unique_ptr<Worker>> workers;

  // [udp]: the UDP socket workers (server/udp) are not built yet. Until they are, say so
  // rather than pretend to serve.
  if (context.config.udp.enabled) {
    REEF_LOG(Warn) << "udp.enabled is true, but this build of reef has no UDP server yet: "
                      "nothing is served over UDP";
  }

  // [http], [ws]: future protocols add their workers here.

  if (workers.empty()) {
    REEF_LOG(Warn) << "no protocol workers: no tracker protocol is both enabled and built, "
                      "so reef serves nothing and waits for SIGTERM";
  }
  return workers;
}

}  // namespace reef
