#include "server/config.h"

#include <doctest/doctest.h>

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace reef {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

// The message ParseConfig gives for `toml`, or "" if it parses.
std::string Error(const std::string& toml) {
  absl::StatusOr<Config> config = ParseConfig(toml, "test.toml");
  if (config.ok()) return "";
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

// A config where every key differs from its default, strings with characters that need
// escaping included.
Config EverythingChanged() {
  Config c;
  c.log.level = LogLevel::kDebug;
  c.udp.enabled = false;
  c.udp.listen = {SocketAddress::Parse("127.0.0.1:0").value(),
                  SocketAddress::Parse("[::1]:7000").value(),
                  SocketAddress::Parse("10.1.2.3:1").value()};
  c.udp.socket_workers = 2;
  c.udp.backend = UdpBackend::kIoUring;
  c.udp.receive_buffer_size = 0;
  c.udp.connection_id_secret = "a \"quoted\" \\ back\tslashed secret, \xc3\xa9t\xc3\xa9 long";
  c.udp.error_on_bad_connection_id = true;
  c.udp.max_datagram_size = kMinDatagramSize;  // udp is off: the [swarm] ties do not apply
  c.udp.cpu_pinning = {1, 0};
  c.udp.steering = UdpSteering::kCpu;
  c.swarm.announce_interval = absl::Seconds(120);
  c.swarm.min_announce_interval = absl::Seconds(120);
  c.swarm.peer_inactivity_timeout = absl::Seconds(121);
  c.swarm.max_response_peers = 1024;
  c.swarm.max_scrape_hashes = 1000;
  c.swarm.shards = 4096;
  c.swarm.cleaning_interval = absl::Seconds(1);
  c.access_list.mode = AccessListMode::kDeny;
  c.access_list.path = "/etc/reef/deny list #1.txt";
  c.access_list.reload_interval = absl::ZeroDuration();
  c.http.enabled = false;
  c.http.listen = {SocketAddress::Parse("127.0.0.1:8080").value()};
  c.http.socket_workers = 3;
  c.http.cpu_pinning = {0, 1, 0};
  c.http.max_connections = 7;
  c.http.max_request_head_size = kMinRequestHeadSize;
  c.http.max_headers = 1;
  c.http.request_head_timeout = absl::Seconds(1);
  c.http.keep_alive_timeout = absl::Seconds(3600);
  c.http.write_timeout = absl::Seconds(2);
  c.http.linger_timeout = absl::Seconds(60);
  c.http.max_output_size = 1 << 20;
  c.http.client_ip_header = "X-Real-IP";
  c.http.trusted_proxies = {http_server::AddressPrefix::Parse("10.0.0.0/8").value(),
                            http_server::AddressPrefix::Parse("::1").value()};
  c.http_tls.listen = {SocketAddress::Parse("[::]:443").value()};
  c.http_tls.certificate_chain = "/etc/reef/chain \"1\".pem";
  c.http_tls.private_key = "/etc/reef/key.pem";
  c.http_tls.handshake_timeout = absl::Seconds(5);
  c.ws.enabled = false;
  c.ws.announce_interval = absl::Seconds(30);
  c.ws.max_message_size = 2048;
  c.ws.max_outbound_size = 4096;
  c.ws.ping_interval = absl::Seconds(5);
  c.ws.idle_timeout = absl::Seconds(6);
  c.ws.max_offers = 1;
  c.ws.max_scrape_hashes = 2;
  c.ws.max_torrents_per_connection = 3;
  c.ws.max_peers = 4;
  c.ws.max_torrents = 5;
  c.ws.peer_inactivity_timeout = absl::Seconds(7);
  c.ws.relay_queue_size = 0;
  c.privileges.user = "nobody";
  c.privileges.group = "nogroup";
  c.privileges.seccomp = false;
  c.metrics.enabled = false;
  c.metrics.listen = {SocketAddress::Parse("[::1]:9100").value()};
  c.metrics.path = "/prometheus/metrics";
  c.metrics.max_connections = 1;
  c.metrics.request_timeout = absl::Seconds(300);
  c.metrics.stale_series = absl::Seconds(60);
  c.metrics.peer_clients = true;
  c.metrics.peer_client_max_series = 1000;
  c.snapshot.enabled = false;
  c.snapshot.path = "/srv/reef/swarms #1.snapshot";
  c.snapshot.interval = absl::Seconds(600);
  return c;
}

TEST_CASE("the defaults are the documented ones") {
  const Config c;
  CHECK(c.log.level == LogLevel::kInfo);
  CHECK(c.udp.enabled);
  REQUIRE(c.udp.listen.size() == 2);
  CHECK(c.udp.listen[0].ToString() == "0.0.0.0:6969");
  CHECK(c.udp.listen[1].ToString() == "[::]:6969");
  CHECK(c.udp.socket_workers == 1);
  CHECK(c.udp.backend == UdpBackend::kEpoll);
  CHECK(c.udp.receive_buffer_size == 4 * 1024 * 1024);
  CHECK(c.udp.connection_id_secret.empty());
  CHECK_FALSE(c.udp.error_on_bad_connection_id);
  CHECK(c.udp.max_datagram_size == 1500);
  CHECK(c.udp.cpu_pinning.empty());
  CHECK(c.udp.steering == UdpSteering::kHash);
  CHECK(c.swarm.announce_interval == absl::Seconds(1800));
  CHECK(c.swarm.min_announce_interval == absl::Seconds(900));
  CHECK(c.swarm.peer_inactivity_timeout == absl::Seconds(2700));
  CHECK(c.swarm.max_response_peers == 50);
  CHECK(c.swarm.max_scrape_hashes == 74);
  CHECK(c.swarm.shards == 256);
  CHECK(c.swarm.cleaning_interval == absl::Seconds(60));
  CHECK(c.access_list.mode == AccessListMode::kOff);
  CHECK(c.access_list.path.empty());
  CHECK(c.access_list.reload_interval == absl::Seconds(60));
  CHECK(c.privileges.user.empty());
  CHECK(c.privileges.group.empty());
  CHECK(c.privileges.seccomp);
  CHECK(c.metrics.enabled);
  REQUIRE(c.metrics.listen.size() == 1);
  CHECK(c.metrics.listen[0].ToString() == "127.0.0.1:9469");
  CHECK(c.metrics.path == "/metrics");
  CHECK_FALSE(c.metrics.peer_clients);
  CHECK(c.snapshot.enabled);
  CHECK(c.snapshot.path == "/var/lib/reef/reef.snapshot");
  CHECK(c.snapshot.interval == absl::ZeroDuration());
}

TEST_CASE("an empty file gives the defaults, which pass every check") {
  absl::StatusOr<Config> config = ParseConfig("", "empty.toml");
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(*config == Config{});
  CHECK(CheckConfigAgainstSystem(*config).ok());
}

TEST_CASE("--print-config output reads back identically") {
  const std::string text = RenderConfig(Config{});
  absl::StatusOr<Config> parsed = ParseConfig(text, "printed.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(*parsed == Config{});
  CHECK(RenderConfig(*parsed) == text);  // byte for byte
}

TEST_CASE("a config with every key changed round-trips too") {
  const Config changed = EverythingChanged();
  REQUIRE_FALSE(changed == Config{});
  const std::string text = RenderConfig(changed);
  absl::StatusOr<Config> parsed = ParseConfig(text, "changed.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status(), "\n", text);
  CHECK(*parsed == changed);
  CHECK(RenderConfig(*parsed) == text);
  // And each changed key alone is seen: flipping any one field breaks equality.
  Config one = changed;
  one.swarm.shards = 4095;
  CHECK_FALSE(ParseConfig(RenderConfig(one), "x").value() == changed);
}

TEST_CASE("every section and key in the printed config has a comment above it") {
  std::istringstream lines(RenderConfig(Config{}));
  std::string line;
  std::string previous;
  int keys = 0;
  int sections = 0;
  while (std::getline(lines, line)) {
    const bool is_key = !line.empty() && line[0] != '#' && line[0] != '[';
    const bool is_section = !line.empty() && line[0] == '[';
    if (is_key || is_section) {
      CHECK_MESSAGE(previous.rfind("# ", 0) == 0, "no comment above: ", line);
    }
    keys += is_key;
    sections += is_section;
    previous = line;
  }
  CHECK(sections == 10);
  CHECK(keys == 76);
}

// The printed text gives reasons, not other trackers' names, and names both signals that
// reload the access list (server/main.cc handles SIGUSR1 and SIGHUP alike).
TEST_CASE("--print-config names no other tracker, and both reload signals") {
  const std::string text = RenderConfig(Config{});
  for (const char* name : {"aquatic", "opentracker", "chihaya", "ocelot", "torrust"}) {
    CHECK_MESSAGE(text.find(name) == std::string::npos, name);
  }
  CHECK(text.find("0: only on SIGUSR1 or SIGHUP, which always reload") != std::string::npos);
}

TEST_CASE("keys left out keep their defaults") {
  absl::StatusOr<Config> config =
      ParseConfig("[swarm]\nshards = 8\n\n[udp]\nsocket_workers = 2\n", "partial.toml");
  REQUIRE_MESSAGE(config.ok(), config.status());
  Config expected;
  expected.swarm.shards = 8;
  expected.udp.socket_workers = 2;
  CHECK(*config == expected);
}

TEST_CASE("unknown sections and keys are refused, with file and line") {
  CHECK(Error("[udp]\nworkers = 4\n") == "test.toml:2: udp.workers: unknown key");
  CHECK(Error("\n[dht]\nlisten = []\n") ==
        "test.toml:2: unknown section [dht] (reef knows log, udp, http, http.tls, ws, swarm, "
        "access_list, privileges, metrics, snapshot)");
  CHECK(Error("level = \"info\"\n") ==
        "test.toml:1: level: unknown key (keys belong in a section)");
  CHECK(Error("[udp.extra]\nx = 1\n") == "test.toml:1: udp.extra: unknown key");
  CHECK(Error("udp = 5\n") ==
        "test.toml:1: udp: expected a table, got an integer (write [udp] above its keys)");
  CHECK(Error("[[udp]]\nenabled = true\n").find("udp: expected a table, got an array") !=
        std::string::npos);
}

TEST_CASE("a value of the wrong type names the key and the type") {
  CHECK(Error("[udp]\nsocket_workers = \"4\"\n") ==
        "test.toml:2: udp.socket_workers: expected an integer, got a string");
  CHECK(Error("[udp]\nenabled = 1\n") ==
        "test.toml:2: udp.enabled: expected true or false, got an integer");
  CHECK(Error("[udp]\nlisten = \"0.0.0.0:6969\"\n") ==
        "test.toml:2: udp.listen: expected an array of \"ADDRESS:PORT\" strings, got a string");
  CHECK(Error("[udp]\nlisten = [6969]\n") ==
        "test.toml:2: udp.listen: expected \"ADDRESS:PORT\" strings, got an integer");
  CHECK(Error("[udp]\ncpu_pinning = [\"0\"]\n") ==
        "test.toml:2: udp.cpu_pinning: expected integers in the array, got a string");
  CHECK(Error("[swarm]\nannounce_interval_seconds = 1800.0\n") ==
        "test.toml:2: swarm.announce_interval_seconds: expected an integer (seconds), got a "
        "floating-point number");
  CHECK(Error("[udp]\nbackend = 1\n") ==
        "test.toml:2: udp.backend: expected one of \"epoll\", \"io_uring\", got an integer");
  CHECK(Error("[privileges]\nuser = 0\n") ==
        "test.toml:2: privileges.user: expected a string, got an integer");
  // Names are quoted as they are in messages about them: no control characters.
  CHECK(Error("[privileges]\nuser = \"nobody\\n\"\ngroup = \"\\u001b[0m\"\n") ==
        "test.toml:2: privileges.user: must not contain control characters\n"
        "test.toml:3: privileges.group: must not contain control characters");
  CHECK(Error("[access_list]\nreload_interval_seconds = 1970-01-01\n") ==
        "test.toml:2: access_list.reload_interval_seconds: expected an integer (seconds), got "
        "a date");
}

TEST_CASE("values out of range: each limit and the value just past it") {
  // Workers: 0 and one past the maximum are refused, the limits themselves accepted.
  CHECK(Error("[udp]\nsocket_workers = 0\n") ==
        "test.toml:2: udp.socket_workers: must be from 1 to 256, got 0");
  CHECK(Error("[udp]\nsocket_workers = 257\n") ==
        "test.toml:2: udp.socket_workers: must be from 1 to 256, got 257");
  CHECK(Error("[udp]\nsocket_workers = 256\n").empty());
  // Ports.
  CHECK(Error("[udp]\nlisten = [\"0.0.0.0:65536\"]\n") ==
        "test.toml:2: udp.listen: \"0.0.0.0:65536\": port must be a number from 0 to 65535");
  CHECK(Error("[udp]\nlisten = [\"[::]:65535\"]\n").empty());
  CHECK(Error("[udp]\nlisten = [\"example.org:80\"]\n") ==
        "test.toml:2: udp.listen: \"example.org:80\": \"example.org\" is not an IPv4 address");
  // Timeouts and intervals must be positive.
  CHECK(Error("[swarm]\npeer_inactivity_timeout_seconds = 0\n") ==
        "test.toml:2: swarm.peer_inactivity_timeout_seconds: must be from 1 to 604800 "
        "seconds, got 0");
  CHECK(Error("[swarm]\ncleaning_interval_seconds = -5\n") ==
        "test.toml:2: swarm.cleaning_interval_seconds: must be from 1 to 604800 seconds, got "
        "-5");
  CHECK(Error("[swarm]\nannounce_interval_seconds = 604801\n") ==
        "test.toml:2: swarm.announce_interval_seconds: must be from 1 to 604800 seconds, got "
        "604801");
  CHECK(Error("[access_list]\nreload_interval_seconds = -1\n") ==
        "test.toml:2: access_list.reload_interval_seconds: must be from 0 to 604800 seconds, "
        "got -1");
  CHECK(Error("[access_list]\nreload_interval_seconds = 0\n").empty());
  // Peer and scrape limits: zero and absurd. (udp off: the datagram-size tie is tested
  // on its own below.)
  CHECK(Error("[swarm]\nmax_response_peers = 0\n") ==
        "test.toml:2: swarm.max_response_peers: must be from 1 to 1024, got 0");
  CHECK(Error("[udp]\nenabled = false\n[swarm]\nmax_response_peers = 1025\n") ==
        "test.toml:4: swarm.max_response_peers: must be from 1 to 1024, got 1025");
  CHECK(Error("[udp]\nenabled = false\n[http]\nenabled = false\n[swarm]\n"
              "max_response_peers = 1024\n").empty());
  CHECK(Error("[swarm]\nmax_scrape_hashes = 0\n") ==
        "test.toml:2: swarm.max_scrape_hashes: must be from 1 to 1000, got 0");
  CHECK(Error("[udp]\nenabled = false\n[swarm]\nmax_scrape_hashes = 1001\n") ==
        "test.toml:4: swarm.max_scrape_hashes: must be from 1 to 1000, got 1001");
  CHECK(Error("[udp]\nenabled = false\n[http]\nenabled = false\n[swarm]\n"
              "max_scrape_hashes = 1000\n").empty());
  CHECK(Error("[swarm]\nshards = 0\n") ==
        "test.toml:2: swarm.shards: must be from 1 to 4096, got 0");
  CHECK(Error("[swarm]\nshards = 4097\n") ==
        "test.toml:2: swarm.shards: must be from 1 to 4096, got 4097");
  // Sizes. The datagram: at least the longest error reply (8 + 128 bytes), at most what the
  // BEP 15 parser reads (a longer request is refused anyway, so a larger size did nothing).
  CHECK(Error("[udp]\nenabled = false\nmax_datagram_size = 135\n") ==
        "test.toml:3: udp.max_datagram_size: must be from 136 to 1500 (an error reply must "
        "fit, and reef's BEP 15 parser takes no request longer than 1500 bytes), got 135");
  CHECK(Error("[udp]\nenabled = false\nmax_datagram_size = 136\n").empty());
  CHECK(Error("[udp]\nmax_datagram_size = 1501\n") ==
        "test.toml:2: udp.max_datagram_size: must be from 136 to 1500 (an error reply must "
        "fit, and reef's BEP 15 parser takes no request longer than 1500 bytes), got 1501");
  CHECK(Error("[udp]\nmax_datagram_size = 1500\n").empty());
  CHECK(Error("[udp]\nreceive_buffer_size = 1073741825\n") ==
        "test.toml:2: udp.receive_buffer_size: must be from 0 to 1073741824, got 1073741825");
  CHECK(Error("[udp]\nreceive_buffer_size = -1\n") ==
        "test.toml:2: udp.receive_buffer_size: must be from 0 to 1073741824, got -1");
  CHECK(Error("[udp]\ncpu_pinning = [1024]\n") ==
        "test.toml:2: udp.cpu_pinning: each must be from 0 to 1023, got 1024");
  // List lengths: at most 64 listen addresses, at most one CPU per possible worker.
  std::string addresses;
  for (int i = 1; i <= 65; ++i) addresses += "\"127.0.0." + std::to_string(i) + ":1\", ";
  CHECK(Error("[udp]\nlisten = [" + addresses + "]\n") ==
        "test.toml:2: udp.listen: must list at most 64 addresses, got 65");
  CHECK(Error("[udp]\nlisten = [" + addresses.substr(0, addresses.rfind("\"127")) + "]\n")
            .empty());
  std::string cpus;
  for (int i = 0; i < 257; ++i) cpus += "0, ";
  CHECK(Error("[udp]\ncpu_pinning = [" + cpus + "]\n") ==
        "test.toml:2: udp.cpu_pinning: must list at most 256 integers, got 257");
  // An integer too big for TOML itself is a syntax error, with its position.
  CHECK(Error("[udp]\nsocket_workers = 99999999999999999999\n").rfind("test.toml:2:", 0) == 0);
}

TEST_CASE("unknown names for enumerated keys list the choices") {
  CHECK(Error("[udp]\nbackend = \"kqueue\"\n") ==
        "test.toml:2: udp.backend: must be one of \"epoll\", \"io_uring\", got \"kqueue\"");
  CHECK(Error("[udp]\nsteering = \"rss\"\n") ==
        "test.toml:2: udp.steering: must be one of \"hash\", \"cpu\", got \"rss\"");
  CHECK(Error("[log]\nlevel = \"verbose\"\n") ==
        "test.toml:2: log.level: must be one of \"debug\", \"info\", \"warn\", \"error\", got "
        "\"verbose\"");
  CHECK(Error("[access_list]\nmode = \"whitelist\"\n") ==
        "test.toml:2: access_list.mode: must be one of \"off\", \"allow\", \"deny\", got "
        "\"whitelist\"");
}

TEST_CASE("the connection id secret: empty, or 32 to 1024 characters") {
  CHECK(Error("[udp]\nconnection_id_secret = \"\"\n").empty());
  CHECK(Error("[udp]\nconnection_id_secret = \"" + std::string(31, 'x') + "\"\n") ==
        "test.toml:2: udp.connection_id_secret: must be empty (a random key) or at least 32 "
        "characters, got 31");
  CHECK(Error("[udp]\nconnection_id_secret = \"" + std::string(32, 'x') + "\"\n").empty());
  CHECK(Error("[udp]\nconnection_id_secret = \"" + std::string(1024, 'x') + "\"\n").empty());
  CHECK(Error("[udp]\nconnection_id_secret = \"" + std::string(1025, 'x') + "\"\n") ==
        "test.toml:2: udp.connection_id_secret: must be at most 1024 characters, got 1025");
}

TEST_CASE("keys that contradict each other are refused, naming the key") {
  CHECK(Error("[swarm]\nannounce_interval_seconds = 600\n") ==
        "test.toml: swarm.min_announce_interval_seconds: must be at most "
        "swarm.announce_interval_seconds (600), got 900");
  CHECK(Error("[swarm]\nannounce_interval_seconds = 900\n").empty());  // equal is fine
  CHECK(Error("[swarm]\nmin_announce_interval_seconds = 1801\n") ==
        "test.toml:2: swarm.min_announce_interval_seconds: must be at most "
        "swarm.announce_interval_seconds (1800), got 1801");
  CHECK(Error("[swarm]\npeer_inactivity_timeout_seconds = 1800\n") ==
        "test.toml:2: swarm.peer_inactivity_timeout_seconds: must be more than "
        "swarm.announce_interval_seconds (1800), or every peer expires before it announces "
        "again; got 1800");
  CHECK(Error("[swarm]\npeer_inactivity_timeout_seconds = 1801\n").empty());
  // The store's budget: every shard needs a share of at least one (issue 11).
  CHECK(Error("[swarm]\nshards = 8\nmax_peers = 7\n") ==
        "test.toml:3: swarm.max_peers: must be at least swarm.shards (8): each shard holds "
        "its share; got 7");
  CHECK(Error("[swarm]\nshards = 8\nmax_torrents = 7\n") ==
        "test.toml:3: swarm.max_torrents: must be at least swarm.shards (8): each shard holds "
        "its share; got 7");
  CHECK(Error("[swarm]\nshards = 8\nmax_peers = 8\nmax_torrents = 8\nprefix_cap = 0\n").empty());
  CHECK(Error("[swarm]\nprefix_bits_v4 = 33\n") ==
        "test.toml:2: swarm.prefix_bits_v4: must be from 1 to 32, got 33");
  CHECK(Error("[swarm]\nprefix_bits_v6 = 0\n") ==
        "test.toml:2: swarm.prefix_bits_v6: must be from 1 to 128, got 0");
  CHECK(Error("[udp]\nlisten = []\n") ==
        "test.toml:2: udp.listen: is empty while udp.enabled is true (set enabled = false "
        "instead)");
  CHECK(Error("[udp]\nenabled = false\nlisten = []\n").empty());
  CHECK(Error("[udp]\nlisten = [\"0.0.0.0:1\", \"0.0.0.0:1\"]\n") ==
        "test.toml:2: udp.listen: \"0.0.0.0:1\" is listed twice");
  CHECK(Error("[udp]\nsocket_workers = 2\ncpu_pinning = [0]\n") ==
        "test.toml:3: udp.cpu_pinning: must be empty or list one CPU per socket worker (2), "
        "got 1");
  CHECK(Error("[udp]\nsocket_workers = 2\ncpu_pinning = [0, 1]\n").empty());
  // Steering by CPU needs one worker per CPU.
  CHECK(Error("[udp]\nsocket_workers = 2\ncpu_pinning = [1, 1]\n").empty());
  CHECK(Error("[udp]\nsocket_workers = 2\ncpu_pinning = [1, 1]\nsteering = \"cpu\"\n") ==
        "test.toml:3: udp.cpu_pinning: lists CPU 1 twice while udp.steering is \"cpu\", which "
        "needs one worker per CPU");
  CHECK(Error("[udp]\nsocket_workers = 2\ncpu_pinning = [1, 0]\nsteering = \"cpu\"\n").empty());
  // The datagram size must hold the largest scrape and announce reply the limits allow:
  // 16 + 20 * 74 = 1496 and 20 + 18 * 50 = 920.
  CHECK(Error("[udp]\nmax_datagram_size = 1496\n").empty());
  CHECK(Error("[udp]\nmax_datagram_size = 1495\n") ==
        "test.toml:2: udp.max_datagram_size: is too small for a scrape of "
        "swarm.max_scrape_hashes (74 hashes, 1496 bytes), got 1495");
  CHECK(Error("[udp]\nmax_datagram_size = 1000\n[swarm]\nmax_response_peers = 55\n") ==
        "test.toml:2: udp.max_datagram_size: is too small for a scrape of "
        "swarm.max_scrape_hashes (74 hashes, 1496 bytes), got 1000\n"
        "test.toml:2: udp.max_datagram_size: is too small for an announce reply of "
        "swarm.max_response_peers (55 IPv6 peers, 1010 bytes), got 1000");
  CHECK(Error("[udp]\nmax_datagram_size = 1000\n[swarm]\nmax_scrape_hashes = 49\n"
              "max_response_peers = 54\n")
            .empty());  // 996 and 992 bytes
  CHECK(Error("[udp]\nenabled = false\n[swarm]\nmax_response_peers = 83\n").empty());
}

// A [swarm] limit past what any UDP datagram reef handles can hold did nothing: BEP 15's
// parser refuses a scrape of 75 hashes (1516 bytes) before the tracker could answer it,
// and an announce reply of 83 IPv6 peers (1514 bytes) would leave the datagram size.
// The limit is refused, naming the real one, while UDP is on.
TEST_CASE("swarm limits a UDP datagram cannot hold are refused with the real limit") {
  CHECK(Error("[swarm]\nmax_scrape_hashes = 75\n") ==
        "test.toml:2: swarm.max_scrape_hashes: must be at most 74 while udp.enabled is true: "
        "a scrape of more hashes (16 + 20 bytes each) does not fit the 1500-byte datagrams "
        "reef handles; got 75");
  CHECK(Error("[swarm]\nmax_scrape_hashes = 74\n").empty());
  CHECK(Error("[swarm]\nmax_response_peers = 83\n") ==
        "test.toml:2: swarm.max_response_peers: must be at most 82 while udp.enabled is true: "
        "an announce reply of more IPv6 peers (20 + 18 bytes each) does not fit the 1500-byte "
        "datagrams reef handles; got 83");
  CHECK(Error("[swarm]\nmax_response_peers = 82\n").empty());  // 1496 bytes
  // The limits come from protocol/udp, not from copies.
  CHECK(MaxScrapeHashesIn(kMaxDatagramSize) == static_cast<int>(udp::kMaxScrapeHashes));
  CHECK(kMaxDatagramSize == static_cast<int>(udp::kMaxRequestSize));
  CHECK(MaxResponsePeersIn(1500) == 82);
  CHECK(MaxScrapeHashesIn(136) == 6);  // (136 - 16) / 20; the reply, (136 - 8) / 12, is 10
  // Access list: a path is required unless the mode is off.
  CHECK(Error("[access_list]\nmode = \"allow\"\n") ==
        "test.toml: access_list.path: is required when access_list.mode is \"allow\"");
  CHECK(Error("[access_list]\nmode = \"deny\"\npath = \"\"\n") ==
        "test.toml:3: access_list.path: is required when access_list.mode is \"deny\"");
  CHECK(Error("[access_list]\nmode = \"off\"\npath = \"\"\n").empty());
}

TEST_CASE("every problem is reported at once, one per line") {
  const std::string error =
      Error("[udp]\nsocket_workers = 0\nbackend = \"x\"\n[swarm]\nshards = \"many\"\n");
  CHECK(error ==
        "test.toml:2: udp.socket_workers: must be from 1 to 256, got 0\n"
        "test.toml:3: udp.backend: must be one of \"epoll\", \"io_uring\", got \"x\"\n"
        "test.toml:5: swarm.shards: expected an integer, got a string");
}

TEST_CASE("TOML syntax errors give file, line and column") {
  CHECK(Error("[udp\nenabled = true\n").rfind("test.toml:1:", 0) == 0);
  CHECK(Error("[udp]\nenabled = true\nenabled = false\n").rfind("test.toml:3:", 0) == 0);
  CHECK(Error("[udp]\nenabled = \n").rfind("test.toml:2:", 0) == 0);
}

// The limits of server/common/config_toml.h apply to reef's own files: a header 100,000
// levels deep crashed reef inside toml++ (config_toml_test has every shape of it).
TEST_CASE("hostile files: too deep, too big, NUL bytes") {
  std::string deep = "[udp]\nenabled = true\n[a";
  for (int i = 0; i < 100000; ++i) deep += ".a";
  CHECK(Error(deep + "]\n") ==
        "test.toml:3: nesting deeper than 32 levels (table headers, dotted keys, arrays and "
        "inline tables together) is refused");
  CHECK(Error(std::string(config::kMaxTomlBytes + 1, '#')) ==
        "test.toml: larger than 1048576 bytes, got 1048577");
  CHECK(Error(std::string("[udp]\n\x00", 7)) ==
        "test.toml:2: a NUL byte is not allowed in a TOML file");
}

TEST_CASE("what depends on the machine: access-list file, user, group, CPUs") {
  Config config;
  config.access_list.mode = AccessListMode::kAllow;
  config.access_list.path = TempPath("reef-no-such-access-list.txt");
  unlink(config.access_list.path.c_str());  // left by an earlier run outside Bazel
  absl::Status missing = CheckConfigAgainstSystem(config);
  CHECK(missing.message() == "config: access_list.path: cannot read \"" +
                                 config.access_list.path +
                                 "\": No such file or directory (access_list.mode is "
                                 "\"allow\")");
  WriteFile(config.access_list.path, "");
  CHECK(CheckConfigAgainstSystem(config).ok());
  config.access_list.mode = AccessListMode::kOff;
  config.access_list.path = "/nonexistent";  // not looked at when off
  CHECK(CheckConfigAgainstSystem(config).ok());

  Config users;
  users.privileges.user = "reef-no-such-user";
  users.privileges.group = "reef-no-such-group";
  CHECK(CheckConfigAgainstSystem(users).message() ==
        "config: privileges.user: no user \"reef-no-such-user\"\n"
        "config: privileges.group: no group \"reef-no-such-group\"");
  users.privileges.user = "nobody";
  users.privileges.group = "";
  CHECK(CheckConfigAgainstSystem(users).ok());

  // The access list is read as the user reef will run as: a 0600 root-owned list reads at
  // start as root, and then every reload as nobody would fail.
  if (geteuid() == 0) {
    char dir_template[] = "/tmp/reef-config-list-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    Config as_nobody;
    as_nobody.privileges.user = "nobody";
    as_nobody.access_list.mode = AccessListMode::kAllow;
    as_nobody.access_list.path = dir + "/list.txt";
    WriteFile(as_nobody.access_list.path, "");
    REQUIRE(chmod(as_nobody.access_list.path.c_str(), 0600) == 0);
    CHECK(CheckConfigAgainstSystem(as_nobody).message() ==
          "config: access_list.path: cannot read \"" + as_nobody.access_list.path +
              "\" as user \"nobody\": Permission denied (access_list.mode is \"allow\")");
    REQUIRE(chmod(as_nobody.access_list.path.c_str(), 0644) == 0);
    CHECK(CheckConfigAgainstSystem(as_nobody).ok());
    unlink(as_nobody.access_list.path.c_str());
    rmdir(dir.c_str());
  }

  Config cpus;
  cpus.udp.cpu_pinning = {1023};
  CHECK(std::string(CheckConfigAgainstSystem(cpus).message())
            .rfind("config: udp.cpu_pinning: CPU 1023 is not available to this process", 0) ==
        0);
  // steering = "cpu" without cpu_pinning: a worker on each CPU this process may use, and
  // no more workers than that.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
  const int usable = CPU_COUNT(&allowed);
  Config steered;
  steered.udp.steering = UdpSteering::kCpu;
  steered.udp.socket_workers = usable;
  CHECK(CheckConfigAgainstSystem(steered).ok());
  CHECK(UdpWorkerCpus(steered.udp).value().size() == static_cast<size_t>(usable));
  steered.udp.socket_workers = usable + 1;
  CHECK(CheckConfigAgainstSystem(steered).message() ==
        "config: udp.steering: steering = \"cpu\" puts one worker on each CPU, and this process "
        "may use " + std::to_string(usable) + " CPU(s), fewer than the " +
            std::to_string(usable + 1) + " socket workers");
  steered.udp.socket_workers = 1;
  int first = 0;
  while (!CPU_ISSET(static_cast<size_t>(first), &allowed)) ++first;
  CHECK(UdpWorkerCpus(steered.udp).value() == std::vector<int>{first});
  steered.udp.cpu_pinning = {first};  // given, it is kept
  CHECK(UdpWorkerCpus(steered.udp).value() == std::vector<int>{first});
  CHECK(UdpWorkerCpus(Config{}.udp).value().empty());  // hash, no pinning: none
}

TEST_CASE("LoadConfigFile reads a file, and says so when it cannot") {
  const std::string path = TempPath("reef.toml");
  WriteFile(path, "[swarm]\nshards = 3\n");
  absl::StatusOr<Config> config = LoadConfigFile(path);
  REQUIRE_MESSAGE(config.ok(), config.status());
  CHECK(config->swarm.shards == 3);

  WriteFile(path, "[swarm]\nshards = 0\n");
  CHECK(LoadConfigFile(path).status().message() ==
        path + ":2: swarm.shards: must be from 1 to 4096, got 0");

  absl::StatusOr<Config> missing = LoadConfigFile(TempPath("nope.toml"));
  CHECK(missing.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(missing.status().message() ==
        "cannot open config file " + TempPath("nope.toml") + ": No such file or directory");
}

}  // namespace
}  // namespace reef

namespace reef {
namespace {

std::string HttpError(const std::string& toml) {
  absl::StatusOr<Config> parsed = ParseConfig(toml, "http.toml");
  return parsed.ok() ? "" : std::string(parsed.status().message());
}

TEST_CASE("[http] and [http.tls]: every limit just past it, and the rules across keys") {
  CHECK(HttpError("[http]\nsocket_workers = 0\n") ==
        "http.toml:2: http.socket_workers: must be from 1 to 256, got 0");
  CHECK(HttpError("[http]\nsocket_workers = 257\n") ==
        "http.toml:2: http.socket_workers: must be from 1 to 256, got 257");
  CHECK(HttpError("[http]\nmax_connections = 0\n") ==
        "http.toml:2: http.max_connections: must be from 1 to 1000000, got 0");
  CHECK(HttpError("[http]\nmax_request_head_size = 255\n") ==
        "http.toml:2: http.max_request_head_size: must be from 256 to 1048576, got 255");
  CHECK(HttpError("[http]\nmax_headers = 1025\n") ==
        "http.toml:2: http.max_headers: must be from 1 to 1024, got 1025");
  CHECK(HttpError("[http]\nrequest_head_timeout_seconds = 0\n") ==
        "http.toml:2: http.request_head_timeout_seconds: must be from 1 to 3600 seconds, got 0");
  CHECK(HttpError("[http]\nlinger_timeout_seconds = 61\n") ==
        "http.toml:2: http.linger_timeout_seconds: must be from 1 to 60 seconds, got 61");
  CHECK(HttpError("[http.tls]\nhandshake_timeout_seconds = 3601\n") ==
        "http.toml:2: http.tls.handshake_timeout_seconds: must be from 1 to 3600 seconds, got "
        "3601");
  // The output buffer holds the largest answer (a scrape of 74 hashes, 8560 bytes),
  // encrypted, with room for TLS messages: 10672 bytes for the defaults.
  CHECK(HttpError("[http]\nmax_output_size = 10672\n").empty());
  CHECK(HttpError("[http]\nmax_output_size = 10671\n") ==
        "http.toml:2: http.max_output_size: must be at least 10672 bytes, to hold the largest "
        "answer swarm.max_response_peers (50) and swarm.max_scrape_hashes (74) allow, "
        "encrypted; got 10671");
  CHECK(HttpError("[http]\nenabled = false\nmax_output_size = 10671\n").empty());
  CHECK(HttpError("[http]\nclient_ip_header = \"X-Forwarded-For\"\n") ==
        "http.toml: http.trusted_proxies: is empty while client_ip_header is set: list the "
        "proxies whose header reef may believe");
  CHECK(HttpError("[http]\nclient_ip_header = \"X Forwarded\"\n") ==
        "http.toml:2: http.client_ip_header: \"X Forwarded\" is not a header name");
  CHECK(HttpError("[http]\ntrusted_proxies = [\"10.1.2.3/8\"]\n") ==
        "http.toml:2: http.trusted_proxies: \"10.1.2.3/8\": has bits set past the prefix length");
  CHECK(HttpError("[http]\nlisten = []\n") ==
        "http.toml:2: http.listen: is empty, and so is http.tls.listen, while http.enabled is "
        "true (set enabled = false instead)");
  CHECK(HttpError("[http]\nlisten = []\n[http.tls]\nlisten = [\"127.0.0.1:443\"]\n"
                  "certificate_chain = \"c\"\nprivate_key = \"k\"\n")
            .empty());
  CHECK(HttpError("[http.tls]\nlisten = [\"127.0.0.1:443\"]\n") ==
        "http.toml: http.tls.certificate_chain: is required when listen is not empty\n"
        "http.toml: http.tls.private_key: is required when listen is not empty");
  CHECK(HttpError("[http]\nlisten = [\"[::]:6969\"]\n[http.tls]\nlisten = [\"[::]:6969\"]\n"
                  "certificate_chain = \"c\"\nprivate_key = \"k\"\n") ==
        "http.toml:4: http.tls.listen: \"[::]:6969\" is also in http.listen: one port serves "
        "either HTTP or HTTPS");
  CHECK(HttpError("[http]\nlisten = [\"[::1]:0\"]\n[http.tls]\nlisten = [\"[::1]:0\"]\n"
                  "certificate_chain = \"c\"\nprivate_key = \"k\"\n")
            .empty());  // port 0: a port of its own for each
  CHECK(HttpError("[http.tls]\nlisten = [\"127.0.0.1:443\"]\ncertificate_chain = \"c\"\n"
                  "private_key = \"k\"\nkey_password = \"x\"\n") ==
        "http.toml:5: http.tls.key_password: unknown key");
}

TEST_CASE("a certificate that does not load is a problem of the configuration (exit 2)") {
  absl::StatusOr<Config> config = ParseConfig(
      "[http.tls]\nlisten = [\"127.0.0.1:0\"]\ncertificate_chain = \"/nonexistent/chain.pem\"\n"
      "private_key = \"/nonexistent/key.pem\"\n",
      "tls.toml");
  REQUIRE_MESSAGE(config.ok(), config.status());
  absl::Status checked = CheckConfigAgainstSystem(*config);
  REQUIRE_FALSE(checked.ok());
  CHECK(std::string(checked.message()).find("http.tls.certificate_chain: certificate chain "
                                            "/nonexistent/chain.pem: No such file") !=
        std::string::npos);
  config->http.enabled = false;  // nothing is served: nothing to load
  CHECK(CheckConfigAgainstSystem(*config).ok());
}

}  // namespace
}  // namespace reef
