#include "server/metrics/registry.h"

#include <utility>

#include "server/common/log.h"
#include "server/common/strings.h"

namespace reef::metrics {

void SeriesExpiry::Apply(Exposition& exposition, absl::Duration now) {
  ++generation_;
  for (const Exposition::Family& family : exposition.families()) {
    if (!family.info.expires) continue;
    const bool is_gauge = family.info.type == MetricType::kGauge;
    for (const Exposition::Series& series : family.series) {
      const double value = ToDouble(series.value);
      auto [it, added] = ages_.try_emplace(StrCat(family.info.name, series.labels));
      Age& age = it->second;
      if (added || value != age.last_value || (is_gauge && value != 0)) {
        age.last_seen = now;
      }
      age.last_value = value;
      age.generation = generation_;
    }
    exposition.RemoveSeriesIf(family.info.name, [&](const Exposition::Series& series) {
      const Age& age = ages_.find(StrCat(family.info.name, series.labels))->second;
      return now - age.last_seen > stale_after_;
    });
  }
  for (auto it = ages_.begin(); it != ages_.end();) {
    if (it->second.generation != generation_) {
      ages_.erase(it++);
    } else {
      ++it;
    }
  }
}

Registry::Registry(RegistryOptions options, const Clock& clock)
    : options_(options), clock_(clock), expiry_(options.stale_after) {}

void Registry::AddCollector(Collector collector) {
  MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

Exposition Registry::Collect() {
  MutexLock lock(&mu_);
  Exposition exposition;
  for (Collector& collector : collectors_) collector(exposition);
  expiry_.Apply(exposition, absl::Seconds(clock_.MonotonicSeconds()));
  if (!exposition.status().ok() && !logged_problem_) {
    logged_problem_ = true;
    REEF_LOG(Error) << "metrics: left out of the export: " << exposition.status();
  }
  return exposition;
}

std::string Registry::Render() { return Collect().Render(); }

}  // namespace reef::metrics
