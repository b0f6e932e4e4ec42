#include "load/generator.h"

#include "load/http_client.h"
#include "load/udp_client.h"
#include "load/workload.h"
#include "load/ws_client.h"

namespace reef::load {

absl::StatusOr<std::unique_ptr<RunOutcome>> RunLoad(const LoadOptions& options,
                                                    std::atomic<bool>* stop) {
  absl::StatusOr<std::shared_ptr<const Workload>> workload = Workload::Create(options);
  if (!workload.ok()) return workload.status();
  RunSettings settings;
  settings.threads = options.threads;
  settings.warmup_ms = options.warmup_ms;
  settings.duration_ms = options.duration_ms;
  settings.timeout_ms = options.timeout_ms;
  settings.rate = options.rate;
  settings.progress = options.progress;
  std::shared_ptr<const Workload> w = *workload;
  ThreadBody body;
  if (options.protocol == Protocol::kUdp) {
    body = [w](int i, const RunControl& c, ThreadStats* s) { return RunUdpThread(*w, i, c, s); };
  } else if (options.protocol == Protocol::kHttp || options.protocol == Protocol::kHttps) {
    body = [w](int i, const RunControl& c, ThreadStats* s) { return RunHttpThread(*w, i, c, s); };
  } else {
    body = [w](int i, const RunControl& c, ThreadStats* s) { return RunWsThread(*w, i, c, s); };
  }
  return RunThreads(settings, body, stop);
}

}  // namespace reef::load
