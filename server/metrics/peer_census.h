// PeerClientCensus: the peers the store holds, counted by client software (peer_client.h),
// for the optional reef_peer_clients metric.
//
// Counted off the request path: the store's cleaner already visits every peer of a shard
// when it cleans it, so it tallies the peers it keeps and hands the tally over with
// Replace(shard, tally). The census therefore lags the store by at most one cleaning
// interval, and costs announces nothing. The exporter sums the shards' latest tallies.
//
// Bounded: a shard's tally keeps at most kMaxPeerClientSeries (client, version) pairs
// (later pairs count as "other"), and the census exports at most `max_series` series, the
// most common ones; the rest are counted under client="other", version="". With the family marked `expires`, a client whose last peer
// left stays at 0 for the registry's stale_after, then disappears from the export.
#ifndef REEF_SERVER_METRICS_PEER_CENSUS_H_
#define REEF_SERVER_METRICS_PEER_CENSUS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "protocol/common/fixed_bytes.h"
#include "server/common/mutex.h"
#include "server/metrics/exposition.h"
#include "server/metrics/peer_client.h"

namespace reef::metrics {

inline constexpr FamilyInfo kPeerClients = {
    .name = "reef_peer_clients",
    .help = "Peers held, by client software and version (from the peer id), as of each "
            "shard's last cleaning.",
    .type = MetricType::kGauge,
    .expires = true,
};

// Limits on PeerClientCensus's max_series.
inline constexpr size_t kMinPeerClientSeries = 1;
inline constexpr size_t kMaxPeerClientSeries = 1000;

class PeerClientCensus {
 public:
  // One shard's peers by client, filled by the cleaner while it walks the shard.
  class Tally {
   public:
    void Add(const PeerId& peer_id);
    uint64_t total() const { return total_; }
    size_t pairs() const { return counts_.size(); }

   private:
    friend class PeerClientCensus;
    uint64_t total_ = 0;
    absl::flat_hash_map<PeerClient, uint64_t> counts_;
  };

  // `max_series` within [kMinPeerClientSeries, kMaxPeerClientSeries] (clamped).
  PeerClientCensus(size_t shards, size_t max_series);

  Tally NewTally() const { return Tally(); }
  // The cleaner, after walking `shard`. A shard out of range is ignored.
  void Replace(size_t shard, Tally tally);

  // Adds the reef_peer_clients series: the shards' tallies summed, the most common
  // max_series - 1 pairs by name, everything else as "other".
  void Collect(Exposition& out) const;

  size_t max_series() const { return max_series_; }

 private:
  const size_t max_series_;
  mutable Mutex mu_;
  std::vector<absl::flat_hash_map<PeerClient, uint64_t>> shards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_PEER_CENSUS_H_
