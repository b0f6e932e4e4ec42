// reef's configuration: every section, and the one place each is registered.
//
//   Config config;                                   // the defaults: reef runs with no file
//   absl::StatusOr<Config> loaded = LoadConfigFile("/etc/reef.toml");
//   std::string text = RenderConfig(config);         // what --print-config prints
//
// Each section lives beside the code it configures and owns its keys, their text, their
// defaults and their checks; the machinery that reads and writes them
// (server/common/config_section.h, which says how to add a section or a key) knows none
// of them by name. A new section is its own file plus a member and a line here.
//
// ParseConfig() refuses, with a message naming the key and the reason, an unknown section
// or key, a value of the wrong type and an impossible value (out of its range, or at odds
// with another key). CheckConfigAgainstSystem() then checks what depends on the machine:
// the access-list file, the user and group, the CPUs. The reef binary exits with status 2
// on either. RenderConfig() writes every key under its text, and
// ParseConfig(RenderConfig(c)) == c for every valid config c.
#ifndef REEF_SERVER_CONFIG_H_
#define REEF_SERVER_CONFIG_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/common/access_list_config.h"
#include "server/common/config_section.h"
#include "server/common/log_config.h"
#include "server/common/privileges_config.h"
#include "server/http/http_config.h"
#include "server/metrics/metrics_config.h"
#include "server/snapshot/snapshot_config.h"
#include "server/swarm/swarm_config.h"
#include "server/udp/udp_config.h"
#include "server/ws/ws_config.h"

namespace reef {

struct Config {
  LogConfig log;
  UdpConfig udp;
  HttpConfig http;
  HttpTlsConfig http_tls;
  WsConfig ws;
  SwarmConfig swarm;
  AccessListConfig access_list;
  PrivilegesConfig privileges;
  MetricsConfig metrics;
  SnapshotConfig snapshot;
  friend bool operator==(const Config&, const Config&) = default;
};

// The sections, in the order --print-config writes them.
inline const config::Schema<Config>& ConfigSchema() {
  static const auto* schema = new config::Schema<Config>(
      "reef configuration (TOML).\n"
      "\n"
      "Every key is optional: a key left out keeps the default. Durations are whole\n"
      "seconds. `reef --print-config` prints the defaults; with `--config FILE` it prints\n"
      "what reef would run with. An unknown section or key, or an impossible value, stops\n"
      "reef at start with a message naming the key (exit status 2).",
      {
          config::Bind(&Config::log, LogSection()),
          config::Bind(&Config::udp, UdpSection()),
          config::Bind(&Config::http, HttpSection()),
          config::Bind(&Config::http_tls, HttpTlsSection()),
          config::Bind(&Config::ws, WsSection()),
          config::Bind(&Config::swarm, SwarmSection()),
          config::Bind(&Config::access_list, AccessListSection()),
          config::Bind(&Config::privileges, PrivilegesSection()),
          config::Bind(&Config::metrics, MetricsSection()),
          config::Bind(&Config::snapshot, SnapshotSection()),
      });
  return *schema;
}

// Parses TOML text over the defaults: keys that are absent keep their default. `source`
// names the text in error messages ("/etc/reef.toml:12: udp.socket_workers: must be
// from 1 to 256, got 0"). Every problem found is reported, one per line, in one
// InvalidArgument status.
inline absl::StatusOr<Config> ParseConfig(std::string_view toml_text, std::string_view source) {
  return ConfigSchema().Parse(toml_text, source);
}

// Reads `path` and parses it. An unreadable file is an InvalidArgument error too.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The TOML for `config`, every key present and commented. RenderConfig(Config{}) is what
// --print-config prints.
inline std::string RenderConfig(const Config& config) { return ConfigSchema().Render(config); }

// What ParseConfig cannot know: the access-list file can be read (when mode is not off),
// the [privileges] user and group exist, the pinned CPUs are ones this process may use.
inline absl::Status CheckConfigAgainstSystem(const Config& config) {
  return ConfigSchema().CheckSystem(config);
}

}  // namespace reef

#endif  // REEF_SERVER_CONFIG_H_
