#include "server/metrics/peer_census.h"

#include <doctest/doctest.h>

#include <string>

namespace reef::metrics {
namespace {

PeerId Id(std::string_view prefix) {
  std::string bytes(prefix);
  bytes.resize(kPeerIdSize, 'x');
  return *PeerId::FromString(bytes);
}

// A peer id of an Azureus-style client reef knows ("-qB") with a made-up version, so each
// `n` below 36*36 is its own (client, version) pair.
PeerId VersionedQb(int n) {
  const char* digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string prefix = "-qB";
  prefix += digits[n / 36];
  prefix += digits[n % 36];
  prefix += "00-";
  return Id(prefix);
}

std::string Render(const PeerClientCensus& census) {
  Exposition out;
  census.Collect(out);
  return out.Render();
}

TEST_CASE("shards' tallies are summed; a new tally replaces the shard's last one") {
  PeerClientCensus census(/*shards=*/2, /*max_series=*/10);
  PeerClientCensus::Tally a = census.NewTally();
  a.Add(Id("-qB4500-"));
  a.Add(Id("-qB4500-"));
  a.Add(Id("-TR4060-"));
  census.Replace(0, std::move(a));
  PeerClientCensus::Tally b = census.NewTally();
  b.Add(Id("-qB4500-"));
  b.Add(Id("garbage"));
  CHECK(b.total() == 2);
  census.Replace(1, std::move(b));
  CHECK(Render(census) ==
        "# HELP reef_peer_clients Peers held, by client software and version (from the peer "
        "id), as of each shard's last cleaning.\n"
        "# TYPE reef_peer_clients gauge\n"
        "reef_peer_clients{client=\"qBittorrent\",version=\"4.5\"} 3\n"
        "reef_peer_clients{client=\"Transmission\",version=\"4.0\"} 1\n"
        "reef_peer_clients{client=\"other\",version=\"\"} 1\n");
  census.Replace(0, census.NewTally());  // shard 0 emptied
  census.Replace(7, census.NewTally());  // out of range: ignored
  CHECK(Render(census).find("{client=\"qBittorrent\",version=\"4.5\"} 1\n") != std::string::npos);
  CHECK(Render(census).find("Transmission") == std::string::npos);
}

TEST_CASE("at most max_series series: the most common pairs, the rest as other") {
  constexpr size_t kMaxSeries = 5;
  PeerClientCensus census(/*shards=*/1, kMaxSeries);
  PeerClientCensus::Tally tally = census.NewTally();
  // Pair i gets i + 1 peers; 50 pairs.
  for (int i = 0; i < 50; ++i) {
    for (int j = 0; j <= i; ++j) tally.Add(VersionedQb(i));
  }
  census.Replace(0, std::move(tally));
  Exposition out;
  census.Collect(out);
  const Exposition::Family* family = out.Find("reef_peer_clients");
  REQUIRE(family != nullptr);
  CHECK(family->series.size() == kMaxSeries);
  CHECK(family->series[0].labels == "{client=\"qBittorrent\",version=\"1.13\"}");  // i = 49
  CHECK(std::get<uint64_t>(family->series[0].value) == 50);
  uint64_t sum = 0;
  for (const auto& series : family->series) sum += std::get<uint64_t>(series.value);
  CHECK(sum == 50 * 51 / 2);  // nothing lost, only folded into "other"
  CHECK(family->series.back().labels == "{client=\"other\",version=\"\"}");
}

TEST_CASE("one shard's tally is bounded too: new pairs past the bound count as other") {
  PeerClientCensus census(/*shards=*/1, /*max_series=*/3);
  PeerClientCensus::Tally tally = census.NewTally();
  for (int i = 0; i < 36 * 36; ++i) tally.Add(VersionedQb(i));  // 1296 pairs
  CHECK(tally.total() == 36 * 36);
  CHECK(tally.pairs() == kMaxPeerClientSeries);
  census.Replace(0, std::move(tally));
  Exposition out;
  census.Collect(out);
  CHECK(out.Find("reef_peer_clients")->series.size() == 3);
}

TEST_CASE("max_series is clamped to its limits; no peers: the family alone") {
  CHECK(PeerClientCensus(1, 0).max_series() == kMinPeerClientSeries);
  CHECK(PeerClientCensus(1, 1u << 30).max_series() == kMaxPeerClientSeries);
  PeerClientCensus one(1, 1);  // only "other"
  PeerClientCensus::Tally tally = one.NewTally();
  tally.Add(Id("-qB4500-"));
  one.Replace(0, std::move(tally));
  CHECK(Render(one).find("reef_peer_clients{client=\"other\",version=\"\"} 1\n") !=
        std::string::npos);
  PeerClientCensus empty(4, 10);
  CHECK(Render(empty) ==
        "# HELP reef_peer_clients Peers held, by client software and version (from the peer "
        "id), as of each shard's last cleaning.\n"
        "# TYPE reef_peer_clients gauge\n");
}

}  // namespace
}  // namespace reef::metrics
