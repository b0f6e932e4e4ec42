// [ws] on its own: defaults, every limit at and just past it, the checks across keys, and
// that the library limits it builds pass the library's own validation.
#include "server/ws/ws_config.h"

#include <doctest/doctest.h>

#include <string>

namespace reef {
namespace {

struct OnlyWs {
  WsConfig ws;
  friend bool operator==(const OnlyWs&, const OnlyWs&) = default;
};

const config::Schema<OnlyWs>& Schema() {
  static const auto* schema =
      new config::Schema<OnlyWs>("test", {config::Bind(&OnlyWs::ws, WsSection())});
  return *schema;
}

absl::StatusOr<WsConfig> Parse(const std::string& body) {
  auto parsed = Schema().Parse("[ws]\n" + body, "test.toml");
  if (!parsed.ok()) return parsed.status();
  return parsed->ws;
}

std::string Error(const std::string& body) {
  auto parsed = Parse(body);
  return parsed.ok() ? std::string() : std::string(parsed.status().message());
}

TEST_CASE("the defaults are the library's, and valid") {
  const WsConfig c;
  CHECK(c.enabled);
  CHECK(c.announce_interval == absl::Seconds(120));
  CHECK(c.max_message_size == 65536);
  CHECK(c.max_outbound_size == 262144);
  CHECK(c.ping_interval == absl::Seconds(60));
  CHECK(c.idle_timeout == absl::Seconds(150));
  CHECK(c.max_offers == 10);
  CHECK(c.max_scrape_hashes == 64);
  CHECK(c.max_torrents_per_connection == 100);
  CHECK(c.max_peers == 4'000'000);
  CHECK(c.max_torrents == 1'000'000);
  CHECK(c.peer_inactivity_timeout == absl::Seconds(1200));
  CHECK(c.relay_queue_size == 1 << 20);
  CHECK(ws::ValidateConnectionLimits(c.connection_limits()).ok());
  CHECK(ws::ValidateWebTorrentOptions(c.tracker_options()).ok());
  CHECK(ws::ValidateWebTorrentSwarmConfig(c.swarm_config(64)).ok());
  auto parsed = Parse("");
  REQUIRE(parsed.ok());
  CHECK(*parsed == c);
}

TEST_CASE("every key round-trips through --print-config") {
  OnlyWs c;
  c.ws.enabled = false;
  c.ws.announce_interval = absl::Seconds(30);
  c.ws.max_message_size = 4096;
  c.ws.max_outbound_size = 8192;
  c.ws.ping_interval = absl::Seconds(5);
  c.ws.idle_timeout = absl::Seconds(6);
  c.ws.max_offers = 3;
  c.ws.max_scrape_hashes = 2;
  c.ws.max_torrents_per_connection = 7;
  c.ws.max_peers = 11;
  c.ws.max_torrents = 12;
  c.ws.peer_inactivity_timeout = absl::Seconds(13);
  c.ws.relay_queue_size = 14;
  const std::string text = Schema().Render(c);
  auto parsed = Schema().Parse(text, "rendered.toml");
  REQUIRE(parsed.ok());
  CHECK(*parsed == c);
  for (const char* key : {"enabled", "announce_interval_seconds", "max_message_size", "max_outbound_size",
                          "ping_interval_seconds", "idle_timeout_seconds", "max_offers", "max_scrape_hashes",
                          "max_torrents_per_connection", "max_peers", "max_torrents",
                          "peer_inactivity_timeout_seconds", "relay_queue_size"}) {
    CAPTURE(key);
    CHECK(text.find(std::string(key) + " = ") != std::string::npos);
  }
}

TEST_CASE("each limit, and the value just past it") {
  struct Case {
    std::string key;
    std::string at;
    std::string past;
  };
  const Case cases[] = {
      {"max_message_size", "1024", "1023"},
      {"max_message_size", "16777216", "16777217"},
      {"max_offers", "10", "11"},
      {"max_offers", "1", "0"},
      {"max_scrape_hashes", "64", "65"},
      {"max_torrents_per_connection", "100000", "100001"},
      {"max_torrents_per_connection", "1", "0"},
      {"max_peers", "1", "0"},
      {"max_torrents", "1", "0"},
      {"announce_interval_seconds", "1", "0"},
      {"peer_inactivity_timeout_seconds", "1", "0"},
      {"relay_queue_size", "1073741824", "1073741825"},
      {"relay_queue_size", "0", "-1"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.key);
    CAPTURE(c.at);
    // Room for the largest message, so the outbound check does not interfere.
    const std::string base = "max_outbound_size = 33554432\n";
    CHECK(Error(base + c.key + " = " + c.at + "\n").empty());
    const std::string error = Error(base + c.key + " = " + c.past + "\n");
    CHECK(error.find("ws." + c.key) != std::string::npos);
  }
}

TEST_CASE("the idle timeout must be longer than the ping interval") {
  CHECK(Error("ping_interval_seconds = 10\nidle_timeout_seconds = 11\n").empty());
  const std::string error = Error("ping_interval_seconds = 10\nidle_timeout_seconds = 10\n");
  CHECK(error.find("test.toml:3: ws.idle_timeout_seconds: must be longer than ws.ping_interval_seconds") !=
        std::string::npos);
}

TEST_CASE("the outbound limit must hold one message") {
  CHECK(Error("max_message_size = 4096\nmax_outbound_size = 4110\n").empty());
  const std::string error = Error("max_message_size = 4096\nmax_outbound_size = 4109\n");
  CHECK(error.find("ws.max_outbound_size: must hold at least one message") != std::string::npos);
}

TEST_CASE("what the config builds passes the library's validation at its limits") {
  auto c = Parse(
      "max_message_size = 1024\nmax_outbound_size = 1038\nping_interval_seconds = 1\n"
      "idle_timeout_seconds = 2\nmax_offers = 1\nmax_scrape_hashes = 1\n"
      "max_torrents_per_connection = 1\nmax_peers = 1\nmax_torrents = 1\n"
      "peer_inactivity_timeout_seconds = 1\n");
  REQUIRE(c.ok());
  CHECK(ws::ValidateConnectionLimits(c->connection_limits()).ok());
  CHECK(ws::ValidateWebTorrentOptions(c->tracker_options()).ok());
  CHECK(ws::ValidateWebTorrentSwarmConfig(c->swarm_config(1)).ok());
  CHECK(ws::ValidateWebTorrentSwarmConfig(c->swarm_config(4096)).ok());
}

}  // namespace
}  // namespace reef
