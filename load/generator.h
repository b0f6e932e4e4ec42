// RunLoad: one whole load run against a tracker, as the reef_load binary and the tests
// run it.
#ifndef REEF_LOAD_GENERATOR_H_
#define REEF_LOAD_GENERATOR_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "load/options.h"
#include "load/run.h"

namespace reef::load {

// Validates `options` (including the loopback rule), then runs the protocol's threads.
// `stop` (may be null) ends the run early.
absl::StatusOr<std::unique_ptr<RunOutcome>> RunLoad(const LoadOptions& options,
                                                    std::atomic<bool>* stop);

}  // namespace reef::load

#endif  // REEF_LOAD_GENERATOR_H_
