// BuildTrackerCore: every [swarm] key reaches the store or the tracker core's options.
#include "server/protocol_workers.h"

#include <doctest/doctest.h>

#include <memory>

#include "absl/time/time.h"

namespace reef {
namespace {

TEST_CASE("every [swarm] key the core reads reaches it, none left at its default") {
  SwarmConfig swarm;
  swarm.announce_interval = absl::Seconds(1000);
  swarm.min_announce_interval = absl::Seconds(123);  // HTTP's "min interval"
  swarm.peer_inactivity_timeout = absl::Seconds(1500);
  swarm.max_response_peers = 17;
  swarm.max_scrape_hashes = 9;
  swarm.shards = 3;
  auto access_list = std::make_shared<const AccessList>(AccessListMode::kDeny);
  absl::StatusOr<tracker::Shared> core = BuildTrackerCore(swarm, access_list);
  REQUIRE(core.ok());
  CHECK(core->options.announce_interval_s == 1000);
  CHECK(core->options.min_announce_interval_s == 123);
  CHECK(core->options.max_response_peers == 17);
  CHECK(core->options.max_scrape_hashes == 9);
  REQUIRE(core->store != nullptr);
  CHECK(core->store->config().shards == 3);
  CHECK(core->store->config().max_response_peers == 17);
  CHECK(core->store->config().peer_inactivity_timeout_s == 1500);
  CHECK(core->access_list == access_list);
}

TEST_CASE("a [swarm] section the store refuses is an error, not a core") {
  SwarmConfig swarm;
  swarm.shards = 0;
  absl::StatusOr<tracker::Shared> core =
      BuildTrackerCore(swarm, std::make_shared<const AccessList>(AccessListMode::kOff));
  CHECK(core.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace reef
