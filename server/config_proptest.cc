// Properties of the config and access-list file formats, over random values and random
// damage to valid files.
#include <rapidcheck.h>

#include <cstdio>
#include <string>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "server/common/access_list.h"
#include "server/config.h"
#include "server/http/response_size.h"
#include "server/tcp/connection.h"
#include "server/swarm/torrent_store.h"

namespace reef {
namespace {

using proptest::Check;

// Characters that stress the TOML string writer: quotes, backslashes, control
// characters, '#', and multi-byte UTF-8.
rc::Gen<std::string> TrickyString(bool allow_nul) {
  std::vector<std::string> pieces = {"a",  "Z",  "0",  " ",  "\"", "\\", "#",     "\n",
                                     "\t", "\r", "'",  "=",  "[",  "]",  "\x01",  "\x1f",
                                     "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  if (allow_nul) pieces.push_back(std::string(1, '\0'));
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const std::string& part : parts) s += part;
                        return s;
                      });
}

// Like TrickyString but without control characters, which user and group names refuse.
rc::Gen<std::string> NameString() {
  std::vector<std::string> pieces = {"a", "Z", "0", " ", "\"", "\\", "#", "'", "=", "[",
                                     "]", "-", ".", "\xc3\xa9", "\xe2\x82\xac",
                                     "\xf0\x9f\x98\x80"};
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const std::string& part : parts) s += part;
                        return s;
                      });
}

// The UTF-8 bytes of code point `c` (surrogates included: toml++ must refuse them).
std::string Utf8(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

rc::Gen<SocketAddress> Address() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::arbitrary<bool>(), rc::gen::arbitrary<uint32_t>(),
                     rc::gen::inRange<uint32_t>(0, 65536)),
      [](const std::tuple<bool, uint32_t, uint32_t>& t) {
        const auto& [v6, bits, port] = t;
        std::string text;
        if (v6) {
          char group[8];
          snprintf(group, sizeof(group), "%x", static_cast<unsigned>(bits & 0xffff));
          text = std::string("[2001:db8::") + group + "]:" + std::to_string(port);
        } else {
          text = std::to_string(bits >> 24) + "." + std::to_string((bits >> 16) & 255) + "." +
                 std::to_string((bits >> 8) & 255) + "." + std::to_string(bits & 255) + ":" +
                 std::to_string(port);
        }
        return SocketAddress::Parse(text).value();
      });
}

// A random config that ParseConfig accepts: every key in range, cross-key rules kept.
Config RandomValidConfig() {
  Config c;
  c.log.level = *rc::gen::element(LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                                  LogLevel::kError);
  c.udp.enabled = *rc::gen::arbitrary<bool>();
  const auto addresses = *rc::gen::container<std::vector<SocketAddress>>(Address());
  c.udp.listen.clear();
  for (const SocketAddress& a : addresses) {
    bool seen = false;
    for (const SocketAddress& b : c.udp.listen) seen = seen || a == b;
    if (!seen && c.udp.listen.size() < kMaxListenAddresses) c.udp.listen.push_back(a);
  }
  if (c.udp.enabled && c.udp.listen.empty()) c.udp.listen = UdpConfig::DefaultListen();
  c.udp.socket_workers = *rc::gen::inRange(1, kMaxSocketWorkers + 1);
  c.udp.backend = *rc::gen::element(UdpBackend::kEpoll, UdpBackend::kIoUring);
  c.udp.receive_buffer_size = *rc::gen::inRange(0, kMaxReceiveBufferSize + 1);
  c.udp.connection_id_secret = *rc::gen::suchThat(TrickyString(/*allow_nul=*/true), [](const std::string& s) {
    return s.empty() || (s.size() >= kMinConnectionIdSecretLength &&
                         s.size() <= kMaxConnectionIdSecretLength);
  });
  c.udp.error_on_bad_connection_id = *rc::gen::arbitrary<bool>();
  // With UDP on, the [swarm] limits must fit the datagram ([udp]'s CheckWith).
  c.udp.max_datagram_size = *rc::gen::inRange(kMinDatagramSize, kMaxDatagramSize + 1);
  c.swarm.max_response_peers = *rc::gen::inRange(
      1, (c.udp.enabled ? MaxResponsePeersIn(c.udp.max_datagram_size)
                        : static_cast<int>(swarm::kMaxResponsePeersLimit)) + 1);
  c.swarm.max_scrape_hashes = *rc::gen::inRange(
      1, (c.udp.enabled ? MaxScrapeHashesIn(c.udp.max_datagram_size) : kMaxScrapeHashesLimit) +
             1);
  if (*rc::gen::arbitrary<bool>()) {
    c.udp.cpu_pinning = *rc::gen::container<std::vector<int>>(
        static_cast<size_t>(c.udp.socket_workers), rc::gen::inRange(0, CPU_SETSIZE));
  }
  constexpr int64_t kMaxIntervalSeconds = config::kMaxIntervalSeconds;
  const int64_t interval = *rc::gen::inRange<int64_t>(1, kMaxIntervalSeconds);
  c.swarm.announce_interval = absl::Seconds(interval);
  c.swarm.min_announce_interval = absl::Seconds(*rc::gen::inRange<int64_t>(1, interval + 1));
  c.swarm.peer_inactivity_timeout =
      absl::Seconds(*rc::gen::inRange<int64_t>(interval + 1, kMaxIntervalSeconds + 1));
  c.swarm.shards = *rc::gen::inRange(1, static_cast<int>(swarm::kMaxShards) + 1);
  c.swarm.cleaning_interval =
      absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxIntervalSeconds + 1));
  c.access_list.mode = *rc::gen::element(AccessListMode::kOff, AccessListMode::kAllow,
                                         AccessListMode::kDeny);
  c.access_list.path = *TrickyString(/*allow_nul=*/false);
  if (c.access_list.mode != AccessListMode::kOff && c.access_list.path.empty()) {
    c.access_list.path = "/list";
  }
  c.access_list.reload_interval =
      absl::Seconds(*rc::gen::inRange<int64_t>(0, kMaxIntervalSeconds + 1));
  // [http] and [http.tls]: no address in both listens; the output buffer holds the largest
  // answer the [swarm] limits allow (HTTP's CheckWith).
  c.http.enabled = *rc::gen::arbitrary<bool>();
  c.http.listen.clear();
  c.http_tls.listen.clear();
  for (const SocketAddress& a : *rc::gen::container<std::vector<SocketAddress>>(Address())) {
    bool seen = false;
    for (const SocketAddress& b : c.http.listen) seen = seen || a == b;
    for (const SocketAddress& b : c.http_tls.listen) seen = seen || a == b;
    if (seen) continue;
    auto& list = *rc::gen::arbitrary<bool>() ? c.http.listen : c.http_tls.listen;
    if (list.size() < kMaxHttpListenAddresses) list.push_back(a);
  }
  if (c.http.enabled && c.http.listen.empty() && c.http_tls.listen.empty()) {
    c.http.listen = HttpConfig::DefaultListen();
  }
  c.http.socket_workers = *rc::gen::inRange(1, kMaxHttpSocketWorkers + 1);
  if (*rc::gen::arbitrary<bool>()) {
    c.http.cpu_pinning = *rc::gen::container<std::vector<int>>(
        static_cast<size_t>(c.http.socket_workers), rc::gen::inRange(0, CPU_SETSIZE));
  }
  c.http.max_connections = *rc::gen::inRange(1, kMaxHttpConnectionsPerWorker + 1);
  c.http.max_request_head_size = *rc::gen::inRange(kMinRequestHeadSize, kMaxRequestHeadSize + 1);
  c.http.max_headers = *rc::gen::inRange(1, kMaxHttpHeaders + 1);
  c.http.request_head_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxHttpTimeoutSeconds + 1));
  c.http.keep_alive_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxHttpTimeoutSeconds + 1));
  c.http.write_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxHttpTimeoutSeconds + 1));
  c.http.linger_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxLingerTimeoutSeconds + 1));
  const int needed = static_cast<int>(
      tcp::TlsSealedSize(http_server::MaxHttpResponseBytes(
          static_cast<size_t>(c.swarm.max_response_peers),
          static_cast<size_t>(c.swarm.max_scrape_hashes))) +
      tcp::kTlsOutputSlack);
  c.http.max_output_size = *rc::gen::inRange(needed, kMaxOutputSize + 1);
  if (*rc::gen::arbitrary<bool>()) {
    c.http.client_ip_header = *rc::gen::element<std::string>("X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP");
    c.http.trusted_proxies = {http_server::AddressPrefix::Parse("10.0.0.0/8").value(),
                              http_server::AddressPrefix::Parse("::1").value()};
  }
  c.http_tls.certificate_chain = *TrickyString(/*allow_nul=*/false);
  c.http_tls.private_key = *TrickyString(/*allow_nul=*/false);
  if (!c.http_tls.listen.empty()) {
    if (c.http_tls.certificate_chain.empty()) c.http_tls.certificate_chain = "/chain.pem";
    if (c.http_tls.private_key.empty()) c.http_tls.private_key = "/key.pem";
  }
  c.http_tls.handshake_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxHttpTimeoutSeconds + 1));
  // [ws]: idle_timeout above ping_interval; the outbound queue holds one whole message.
  c.ws.enabled = *rc::gen::arbitrary<bool>();
  c.ws.announce_interval = absl::Seconds(*rc::gen::inRange<int64_t>(1, 100'000));
  c.ws.max_message_size = *rc::gen::inRange(static_cast<int>(ws::kMinMessageSize),
                                            static_cast<int>(ws::kMaxMessageSizeLimit) + 1);
  c.ws.max_outbound_size =
      *rc::gen::inRange(c.ws.max_message_size + static_cast<int>(ws::kMaxFrameHeaderSize),
                        static_cast<int>(ws::kMaxOutboundBytesLimit) + 1);
  const int64_t ping = *rc::gen::inRange<int64_t>(1, 100'000);
  c.ws.ping_interval = absl::Seconds(ping);
  c.ws.idle_timeout = absl::Seconds(ping + *rc::gen::inRange<int64_t>(1, 100'000));
  c.ws.max_offers = *rc::gen::inRange(1, static_cast<int>(ws::kMaxOffers) + 1);
  c.ws.max_scrape_hashes = *rc::gen::inRange(1, static_cast<int>(ws::kMaxScrapeInfoHashes) + 1);
  c.ws.max_torrents_per_connection =
      *rc::gen::inRange(1, static_cast<int>(ws::kMaxTorrentsPerConnectionLimit) + 1);
  c.ws.max_peers = *rc::gen::inRange(1, kMaxWsPeers + 1);
  c.ws.max_torrents = *rc::gen::inRange(1, kMaxWsTorrents + 1);
  c.ws.peer_inactivity_timeout = absl::Seconds(*rc::gen::inRange<int64_t>(1, 100'000));
  c.ws.relay_queue_size = *rc::gen::inRange(0, static_cast<int>(ws::kMaxRelayQueueBytes) + 1);
  c.privileges.user = *NameString();
  c.privileges.group = *NameString();
  c.privileges.seccomp = *rc::gen::arbitrary<bool>();
  c.metrics.enabled = *rc::gen::arbitrary<bool>();
  c.metrics.listen.clear();
  for (const SocketAddress& a : *rc::gen::container<std::vector<SocketAddress>>(Address())) {
    bool seen = false;
    for (const SocketAddress& b : c.metrics.listen) seen = seen || a == b;
    if (!seen && c.metrics.listen.size() < kMaxMetricsListenAddresses) c.metrics.listen.push_back(a);
  }
  if (c.metrics.enabled && c.metrics.listen.empty()) c.metrics.listen = MetricsConfig::DefaultListen();
  // A path: '/' and printable ASCII other than space, '?' and '#'.
  c.metrics.path = "/";
  for (char ch : *rc::gen::container<std::string>(rc::gen::inRange<char>('!', '~' + 1))) {
    if (ch != '?' && ch != '#' && c.metrics.path.size() < kMaxMetricsPathLength) c.metrics.path += ch;
  }
  c.metrics.max_connections = *rc::gen::inRange(1, kMaxMetricsConnections + 1);
  c.metrics.request_timeout =
      absl::Seconds(*rc::gen::inRange<int64_t>(1, kMaxMetricsRequestTimeoutSeconds + 1));
  c.metrics.stale_series = absl::Seconds(*rc::gen::inRange<int64_t>(60, kMaxIntervalSeconds + 1));
  c.metrics.peer_clients = *rc::gen::arbitrary<bool>();
  c.metrics.peer_client_max_series = *rc::gen::inRange(
      static_cast<int>(metrics::kMinPeerClientSeries), static_cast<int>(metrics::kMaxPeerClientSeries) + 1);
  c.snapshot.enabled = *rc::gen::arbitrary<bool>();
  c.snapshot.path = "/" + *NameString() + "x";
  c.snapshot.interval = absl::Seconds(*rc::gen::inRange<int64_t>(0, kMaxIntervalSeconds + 1));
  return c;
}

TEST_CASE("every valid config survives RenderConfig then ParseConfig") {
  Check("ParseConfig(RenderConfig(c)) == c", [] {
    const Config c = RandomValidConfig();
    const std::string text = RenderConfig(c);
    absl::StatusOr<Config> parsed = ParseConfig(text, "random.toml");
    RC_ASSERT(parsed.ok());
    RC_ASSERT(*parsed == c);
    RC_ASSERT(RenderConfig(*parsed) == text);
  });
}

TEST_CASE("damaged config files never crash the parser, and what parses round-trips") {
  Check("ParseConfig is total on damaged files", [] {
    std::string text = RenderConfig(RandomValidConfig());
    const int edits = *rc::gen::inRange(1, 8);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      const size_t at = *rc::gen::inRange<size_t>(0, text.size());
      const char byte = *rc::gen::arbitrary<char>();
      switch (*rc::gen::inRange(0, 4)) {
        case 0:
          text[at] = byte;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), byte);
          break;
        case 2:
          text.insert(at, Utf8(*rc::gen::inRange<uint32_t>(0x80, 0x110000)));
          break;
        default:
          text.erase(at, *rc::gen::inRange<size_t>(1, 40));
      }
    }
    absl::StatusOr<Config> parsed = ParseConfig(text, "damaged.toml");
    if (parsed.ok()) {
      absl::StatusOr<Config> again = ParseConfig(RenderConfig(*parsed), "again.toml");
      RC_ASSERT(again.ok());
      RC_ASSERT(*again == *parsed);
    } else {
      RC_ASSERT(parsed.status().code() == absl::StatusCode::kInvalidArgument);
      // One printable line per problem, each "damaged.toml[:LINE[:COLUMN]]: ...".
      const std::string message(parsed.status().message());
      size_t start = 0;
      while (start <= message.size()) {
        size_t end = message.find('\n', start);
        if (end == std::string::npos) end = message.size();
        const std::string line = message.substr(start, end - start);
        RC_ASSERT(line.rfind("damaged.toml", 0) == 0);
        for (char ch : line) RC_ASSERT(static_cast<unsigned char>(ch) >= 0x20);
        start = end + 1;
      }
    }
  });
}

TEST_CASE("an access list file in any layout gives back its set of hashes") {
  Check("ParseAccessList reads any formatting of a set", [] {
    const auto raw = *rc::gen::container<std::vector<std::array<uint8_t, 20>>>(
        rc::gen::arbitrary<std::array<uint8_t, 20>>());
    InfoHashSet expected;
    std::string text;
    for (const auto& bytes : raw) {
      const InfoHash hash(bytes);
      expected.insert(hash);
      std::array<char, 40> hex = hash.ToHex();
      std::string digits(hex.begin(), hex.end());
      if (*rc::gen::arbitrary<bool>()) {
        for (char& ch : digits) ch = static_cast<char>(toupper(ch));
      }
      text += *rc::gen::element<std::string>("", " ", "\t", "  \t");
      text += digits;
      text += *rc::gen::element<std::string>("", " ", "\t", " # note", "#x", "\r");
      text += "\n";
      if (*rc::gen::arbitrary<bool>()) text += *rc::gen::element<std::string>("\n", "# c\n", "  \n");
    }
    absl::StatusOr<InfoHashSet> parsed = ParseAccessList(text);
    RC_ASSERT(parsed.ok());
    RC_ASSERT(*parsed == expected);
  });
}

TEST_CASE("damaged access lists never crash the parser; errors name a line") {
  Check("ParseAccessList is total", [] {
    std::string text = *rc::gen::arbitrary<std::string>();
    absl::StatusOr<InfoHashSet> parsed = ParseAccessList(text);
    if (!parsed.ok()) {
      RC_ASSERT(std::string(parsed.status().message()).rfind("line ", 0) == 0);
    }
  });
}

}  // namespace
}  // namespace reef
