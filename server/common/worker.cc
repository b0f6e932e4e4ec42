#include "server/common/worker.h"

namespace reef {
namespace {

class FunctionWorker final : public Worker {
 public:
  FunctionWorker(std::string name, absl::AnyInvocable<absl::Status(const StopSignal&)> run)
      : Worker(std::move(name)), run_(std::move(run)) {}

  absl::Status Run(const StopSignal& stop) override { return run_(stop); }

 private:
  absl::AnyInvocable<absl::Status(const StopSignal&)> run_;
};

}  // namespace

std::unique_ptr<Worker> MakeWorker(std::string name,
                                   absl::AnyInvocable<absl::Status(const StopSignal&)> run) {
  return std::make_unique<FunctionWorker>(std::move(name), std::move(run));
}

}  // namespace reef
