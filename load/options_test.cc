// Every limit of LoadOptions: the limit itself passes, one past it is refused.
#include "load/options.h"

#include <doctest/doctest.h>

#include <functional>

namespace reef::load {
namespace {

LoadOptions Base() {
  LoadOptions o;
  o.target = *ParseEndpoint("127.0.0.1:6969");
  return o;
}

void Limit(const char* name, const std::function<void(LoadOptions&)>& at_limit,
           const std::function<void(LoadOptions&)>& past_limit) {
  INFO(name);
  LoadOptions a = Base();
  at_limit(a);
  CHECK(ValidateOptions(a).ok());
  LoadOptions b = Base();
  past_limit(b);
  absl::Status s = ValidateOptions(b);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find(name) != std::string::npos);
}

TEST_CASE("defaults are valid") { CHECK(ValidateOptions(Base()).ok()); }

TEST_CASE("each limit, and one past it") {
  Limit("duration_ms", [](auto& o) { o.duration_ms = kMaxDurationMs; },
        [](auto& o) { o.duration_ms = kMaxDurationMs + 1; });
  Limit("duration_ms", [](auto& o) { o.duration_ms = 1; }, [](auto& o) { o.duration_ms = 0; });
  Limit("warmup_ms", [](auto& o) { o.warmup_ms = kMaxWarmupMs; },
        [](auto& o) { o.warmup_ms = kMaxWarmupMs + 1; });
  Limit("timeout_ms", [](auto& o) { o.timeout_ms = kMaxTimeoutMs; },
        [](auto& o) { o.timeout_ms = kMaxTimeoutMs + 1; });
  Limit("timeout_ms", [](auto& o) { o.timeout_ms = kMinTimeoutMs; },
        [](auto& o) { o.timeout_ms = kMinTimeoutMs - 1; });
  Limit("threads", [](auto& o) { o.threads = kMaxThreads; },
        [](auto& o) { o.threads = kMaxThreads + 1; });
  Limit("sockets", [](auto& o) { o.sockets_per_thread = kMaxSocketsPerThread; },
        [](auto& o) { o.sockets_per_thread = kMaxSocketsPerThread + 1; });
  Limit("in_flight", [](auto& o) { o.in_flight = kMaxInFlight; },
        [](auto& o) { o.in_flight = kMaxInFlight + 1; });
  Limit("rate", [](auto& o) { o.rate = kMaxRate; }, [](auto& o) { o.rate = kMaxRate * 2; });
  Limit("follow_up_probability", [](auto& o) { o.follow_up_probability = 1; },
        [](auto& o) { o.follow_up_probability = 1.01; });
  Limit("follow_up_probability", [](auto& o) { o.follow_up_probability = 0; },
        [](auto& o) { o.follow_up_probability = -0.01; });
  Limit("max_in_flight", [](auto& o) { o.max_in_flight = kMaxInFlight; },
        [](auto& o) { o.max_in_flight = kMaxInFlight + 1; });
  Limit("max_in_flight", [](auto& o) { o.max_in_flight = o.in_flight; },
        [](auto& o) { o.max_in_flight = o.in_flight - 1; });
  Limit("torrents", [](auto& o) { o.torrents = kMaxTorrents; },
        [](auto& o) { o.torrents = kMaxTorrents + 1; });
  Limit("peers_per_torrent", [](auto& o) { o.peers_per_torrent = kMaxPeersPerTorrent; },
        [](auto& o) { o.peers_per_torrent = kMaxPeersPerTorrent + 1; });
  Limit("seeder_share", [](auto& o) { o.seeder_share = 1; },
        [](auto& o) { o.seeder_share = 1.01; });
  Limit("scrape_hashes", [](auto& o) { o.scrape_hashes = 74; },
        [](auto& o) { o.scrape_hashes = 75; });
  Limit("num_want", [](auto& o) { o.num_want = -1; }, [](auto& o) { o.num_want = -2; });
  Limit("popularity_shape", [](auto& o) { o.popularity_shape = kMaxShape; },
        [](auto& o) { o.popularity_shape = kMaxShape + 1; });
  Limit("connect_share", [](auto& o) { o.connect_share = 0; },
        [](auto& o) { o.connect_share = -0.1; });
  Limit("shares exceed 1", [](auto& o) { o.started_share = o.stopped_share = 0.5; },
        [](auto& o) { o.started_share = o.stopped_share = 0.51; });
  const auto ws = [](auto set) {
    return [set](LoadOptions& o) {
      o.protocol = Protocol::kWs;
      set(o);
    };
  };
  Limit("ws_offers", ws([](auto& o) { o.ws_offers = kMaxWsOffers; }),
        ws([](auto& o) { o.ws_offers = kMaxWsOffers + 1; }));
  Limit("ws_offers", ws([](auto& o) { o.ws_offers = 0; }), ws([](auto& o) { o.ws_offers = -1; }));
  Limit("ws_torrents_per_connection",
        ws([](auto& o) { o.ws_torrents_per_connection = kMaxWsTorrentsPerConnection; }),
        ws([](auto& o) { o.ws_torrents_per_connection = kMaxWsTorrentsPerConnection + 1; }));
  Limit("ws_torrents_per_connection", ws([](auto& o) { o.ws_torrents_per_connection = 1; }),
        ws([](auto& o) { o.ws_torrents_per_connection = 0; }));
  // A WebTorrent scrape holds at most protocol/ws's kMaxScrapeInfoHashes.
  Limit("scrape_hashes", ws([](auto& o) { o.scrape_hashes = 64; }),
        ws([](auto& o) { o.scrape_hashes = 65; }));
}

TEST_CASE("combinations") {
  LoadOptions o = Base();
  o.announce_share = 0;
  CHECK(!ValidateOptions(o).ok());  // empty mix
  o = Base();
  o.protocol = Protocol::kHttp;
  o.connect_share = 0.1;
  CHECK(!ValidateOptions(o).ok());  // HTTP has no connect
  o = Base();
  o.protocol = Protocol::kHttp;
  o.keep_alive = false;
  o.in_flight = 2;
  CHECK(!ValidateOptions(o).ok());
  o.in_flight = 1;
  CHECK(ValidateOptions(o).ok());
  for (const char* bad : {"", "announce", "/a b", "/a?x", "/a\r\n"}) {
    o = Base();
    o.protocol = Protocol::kHttp;
    o.announce_path = bad;
    CHECK(!ValidateOptions(o).ok());
  }
  o = Base();
  o.protocol = Protocol::kWs;
  o.connect_share = 0.1;
  CHECK(!ValidateOptions(o).ok());  // WebTorrent has no connect
  for (const char* bad : {"", "announce", "/a b", "/a#x", "/a\r\n"}) {
    o = Base();
    o.protocol = Protocol::kWs;
    o.ws_path = bad;
    CHECK(!ValidateOptions(o).ok());
  }
  o = Base();
  o.target = *ParseEndpoint("10.1.2.3:6969");
  CHECK(ValidateOptions(o).code() == absl::StatusCode::kPermissionDenied);
  o.allow_non_loopback = true;
  CHECK(ValidateOptions(o).ok());
  o = Base();
  o.target = Endpoint{};
  CHECK(!ValidateOptions(o).ok());
}

TEST_CASE("the closed loop is for UDP only, and sizes each socket's slots by its limit") {
  LoadOptions o = Base();
  o.follow_up_probability = 0.2;
  o.in_flight = 8;
  o.max_in_flight = 64;
  CHECK(ValidateOptions(o).ok());
  CHECK(o.SlotsPerSocket() == 64);
  o.follow_up_probability = 0;
  CHECK(o.SlotsPerSocket() == 8);  // the fixed window needs no more
  o.follow_up_probability = 0.2;
  o.protocol = Protocol::kHttp;
  absl::Status s = ValidateOptions(o);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find("needs --protocol=udp") != std::string::npos);
}

}  // namespace
}  // namespace reef::load
