// reef's configuration: what the TOML file says, with every default built in.
//
//   Config config;                                   // the defaults: reef runs with no file
//   absl::StatusOr<Config> loaded = LoadConfigFile("/etc/reef.toml");
//   std::string text = RenderConfig(config);         // what --print-config prints
//
// ParseConfig() refuses, with a message naming the key and the reason, an unknown section
// or key, a value of the wrong type and an impossible value (out of its range, or at odds
// with another key). CheckConfigAgainstSystem() then checks what depends on the machine:
// the access-list file, the user and group, the CPUs. The reef binary exits with status 2
// on either.
//
// RenderConfig() writes every key with a comment saying what it does and why its default
// is what it is, and ParseConfig(RenderConfig(c)) == c for every valid config c.
//
// To add a section (the future [http] and [ws]): a struct here, a member of Config, and
// its keys in the table in config.cc (marked "Future sections").
#ifndef REEF_SERVER_COMMON_CONFIG_H_
#define REEF_SERVER_COMMON_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/access_list.h"
#include "server/common/log.h"
#include "server/common/socket_address.h"

namespace reef {

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

enum class UdpBackend { kEpoll, kIoUring };
std::string_view UdpBackendName(UdpBackend backend);  // "epoll", "io_uring"

struct UdpConfig {
  bool enabled = true;
  // Checked: each parses, none repeats. Non-empty when enabled.
  std::vector<SocketAddress> listen = DefaultListen();
  int socket_workers = 1;
  UdpBackend backend = UdpBackend::kEpoll;
  int receive_buffer_size = 4 << 20;  // bytes; 0: the kernel's default
  // Empty: a random key at each start. Else at least kMinConnectionIdSecretLength bytes.
  std::string connection_id_secret;
  // false: silence for a forged or expired connection id; true: a BEP 15 error reply.
  bool error_on_bad_connection_id = false;
  int max_datagram_size = 1500;
  // Empty: no pinning. Else exactly socket_workers entries: worker i runs on
  // cpu_pinning[i].
  std::vector<int> cpu_pinning;

  static std::vector<SocketAddress> DefaultListen();
  friend bool operator==(const UdpConfig&, const UdpConfig&) = default;
};

struct SwarmConfig {
  absl::Duration announce_interval = absl::Seconds(1800);
  absl::Duration min_announce_interval = absl::Seconds(900);
  absl::Duration peer_inactivity_timeout = absl::Seconds(2700);
  int max_response_peers = 50;
  int max_scrape_hashes = 74;
  int shards = 64;
  absl::Duration cleaning_interval = absl::Seconds(60);
  friend bool operator==(const SwarmConfig&, const SwarmConfig&) = default;
};

struct AccessListConfig {
  AccessListMode mode = AccessListMode::kOff;
  std::string path;  // required unless mode is kOff
  absl::Duration reload_interval = absl::Seconds(60);  // zero: only on SIGUSR1
  friend bool operator==(const AccessListConfig&, const AccessListConfig&) = default;
};

struct PrivilegesConfig {
  std::string user;   // empty: do not switch user
  std::string group;  // empty: the user's primary group (or keep the group)
  friend bool operator==(const PrivilegesConfig&, const PrivilegesConfig&) = default;
};

struct Config {
  LogConfig log;
  UdpConfig udp;
  // Future sections: HttpConfig http; WsConfig ws; (see the file comment).
  SwarmConfig swarm;
  AccessListConfig access_list;
  PrivilegesConfig privileges;
  friend bool operator==(const Config&, const Config&) = default;
};

// Limits on values, named so that tests can probe just past them.
inline constexpr int kMaxSocketWorkers = 256;
inline constexpr int kMaxReceiveBufferSize = 1 << 30;
inline constexpr size_t kMinConnectionIdSecretLength = 32;
inline constexpr size_t kMaxConnectionIdSecretLength = 1024;
inline constexpr int kMinDatagramSize = 98;      // a BEP 15 announce request
inline constexpr int kMaxDatagramSize = 65507;   // the largest IPv4 UDP payload
inline constexpr int kMaxResponsePeers = 1000;
inline constexpr int kMaxScrapeHashes = 1000;
inline constexpr int kMaxShards = 4096;
inline constexpr int64_t kMaxIntervalSeconds = 7 * 24 * 3600;  // a week
// BEP 15 sizes that tie the [swarm] limits to udp.max_datagram_size.
inline constexpr int kUdpAnnounceResponseHeader = 20;
inline constexpr int kUdpIpv6PeerSize = 18;
inline constexpr int kUdpScrapeRequestHeader = 16;
inline constexpr int kInfoHashBytes = 20;

// Parses TOML text over the defaults: keys that are absent keep their default. `source`
// names the text in error messages ("/etc/reef.toml:12: udp.socket_workers: must be
// between 1 and 256, got 0"). Every problem found is reported, one per line, in one
// InvalidArgument status.
absl::StatusOr<Config> ParseConfig(std::string_view toml_text, std::string_view source);

// Reads `path` and parses it. An unreadable file is an InvalidArgument error too.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The TOML for `config`, every key present and commented. RenderConfig(Config{}) is what
// --print-config prints.
std::string RenderConfig(const Config& config);

// What ParseConfig cannot know: the access-list file can be read (when mode is not off),
// the [privileges] user and group exist, the pinned CPUs are ones this process may use.
absl::Status CheckConfigAgainstSystem(const Config& config);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_CONFIG_H_
