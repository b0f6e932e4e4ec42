// Registry: the collectors that fill one scrape, and the expiry of idle labelled series.
//
//   Registry registry({.stale_after = absl::Minutes(15)});
//   registry.AddCollector([&store](Exposition& out) {
//     out.Add(kTorrents, {}, store.Stats().torrents);
//   });
//   std::string text = registry.Render();   // what GET /metrics answers
//
// Collectors run on the scraping thread and read what workers publish (relaxed atomics
// the workers own, see counters.h, or a store's own locked totals): nothing a collector
// does makes a worker wait on the request path.
//
// Stale series (SeriesExpiry): in families marked `expires`, a series that is not seen for
// `stale_after` is left out of the output instead of staying forever at its last value;
// seen again, it comes back. "Seen" means: its value changed since the previous collection,
// or it is a gauge whose value is not zero (a client that still has peers). Collection
// runs at each scrape and on a schedule (Expire(), which the metrics worker calls every
// `stale_after / 4`), so a series' age does not depend on how often Prometheus scrapes,
// and what the expiry remembers is bounded by the series collectors report.
#ifndef REEF_SERVER_METRICS_REGISTRY_H_
#define REEF_SERVER_METRICS_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/mutex.h"
#include "server/metrics/exposition.h"

namespace reef::metrics {

// Remembers when each series of the expiring families was last seen.
class SeriesExpiry {
 public:
  explicit SeriesExpiry(absl::Duration stale_after) : stale_after_(stale_after) {}

  // Updates the ages from `exposition`, collected at `now`, then removes from it the
  // series of expiring families not seen for longer than stale_after. Forgets series the
  // exposition no longer reports at all.
  void Apply(Exposition& exposition, absl::Duration now);

  absl::Duration stale_after() const { return stale_after_; }
  size_t tracked() const { return ages_.size(); }

 private:
  struct Age {
    double last_value = 0;
    absl::Duration last_seen;
    uint64_t generation = 0;  // the Apply() that last reported it
  };
  const absl::Duration stale_after_;
  absl::flat_hash_map<std::string, Age> ages_;  // "family{labels}" -> age
  uint64_t generation_ = 0;
};

struct RegistryOptions {
  // An expiring series not seen for this long leaves the output.
  absl::Duration stale_after = absl::Minutes(15);
};

class Registry {
 public:
  using Collector = absl::AnyInvocable<void(Exposition&)>;

  // Ages are measured on `clock`'s monotonic seconds (a FakeClock in tests).
  explicit Registry(RegistryOptions options = {}, const Clock& clock = SystemClock());
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Any time, any thread. Collectors run in the order added, under the registry's lock,
  // so one never runs twice at once; they must not call back into the registry.
  void AddCollector(Collector collector);

  // Runs every collector, applies the expiry, and returns the text format. Logs (once) a
  // family or series that broke a naming rule; the rest is still rendered.
  std::string Render();
  // The same collection without the text: tests, and the stats page's numbers.
  Exposition Collect();
  // The schedule: collects so that ages advance without a scrape, and drops what the
  // expiry no longer needs to remember.
  void Expire() { Collect(); }

  const RegistryOptions& options() const { return options_; }

 private:
  const RegistryOptions options_;
  const Clock& clock_;
  Mutex mu_;
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
  SeriesExpiry expiry_ ABSL_GUARDED_BY(mu_);
  bool logged_problem_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_REGISTRY_H_
