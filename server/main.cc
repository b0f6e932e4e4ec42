// reef: the BitTorrent tracker binary.
//
// Start-up order, and why:
//   0. the out-of-memory handler (fatal.h): from the first allocation on, a failed one
//      ends reef with a line and exit 1;
//   1. block SIGTERM/SIGINT/SIGUSR1/SIGHUP before any thread exists (the supervisor reads them
//      from a signalfd; no async handlers anywhere);
//   2. flags, then the configuration (embedded defaults, or --config FILE over them), then
//      what depends on the machine (access-list file, user, CPUs): any problem is exit 2;
//   3. the access list, loaded once (a broken file at start is exit 2);
//   4. the protocol workers (BuildProtocolWorkers, the one place protocols plug in), which
//      bind their sockets now, while reef may still be root; then the snapshot of the
//      swarms is loaded into their store ([snapshot]), and the metrics listener is bound;
//   5. drop privileges, if configured;
//   6. the seccomp filter (seccomp.h): every thread, those running and those to come, may
//      make only the system calls serving needs;
//   7. the supervisor runs every worker until SIGTERM/SIGINT (exit 0) or a failure (exit 1;
//      3 if a worker would not stop); after a clean stop, with every worker joined, the
//      snapshot is written.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/access_list.h"
#include "server/common/fatal.h"
#include "server/common/http_page.h"
#include "server/common/clock.h"
#include "server/common/log.h"
#include "server/common/periodic.h"
#include "server/common/privileges.h"
#include "server/common/seccomp.h"
#include "server/common/supervisor.h"
#include "server/config.h"
#include "server/metrics/metrics_server.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/peer_census.h"
#include "server/metrics/registry.h"
#include "server/metrics/stats_source.h"
#include "server/metrics/store_metrics.h"
#include "server/metrics/webtorrent_metrics.h"
#include "server/metrics/worker_metrics.h"
#include "server/protocol_workers.h"
#include "server/snapshot/store_snapshot.h"

#ifdef REEF_TEST_HOOKS
#include "server/test_hooks.h"
#endif

namespace reef {
namespace {

constexpr char kUsage[] =
    "Usage: reef [--config FILE] [--print-config] [--check-config FILE] [--help]\n"
    "\n"
    "A BitTorrent tracker. With no flags it starts from its built-in defaults.\n"
    "\n"
    "  --config FILE        read the configuration (TOML) from FILE; keys left out keep\n"
    "                       their defaults\n"
    "  --print-config       print the configuration reef would run with (the defaults,\n"
    "                       or FILE over them), every key commented, and exit; --config\n"
    "                       reads it back\n"
    "  --check-config FILE  check FILE as a start would (syntax, values, the files it\n"
    "                       names, users, CPUs) without serving; exit 0 if reef would\n"
    "                       start with it, 2 (with the reasons) if not. For systemd's\n"
    "                       ExecStartPre and before a reload\n"
    "  --help               print this and exit\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop reef; SIGUSR1 or SIGHUP reloads the access list and\n"
    "the HTTPS certificate.\n"
    "Exit status: 0 stopped cleanly; 1 a worker failed, start-up failed, memory ran out\n"
    "or a system call the seccomp filter forbids was made; 2 bad flags or configuration;\n"
    "3 a worker did not stop in time after being asked.\n";

struct Flags {
  std::optional<std::string> config_path;
  std::optional<std::string> check_config_path;
  bool print_config = false;
  bool help = false;
};

// "--name VALUE" or "--name=VALUE" at argv[*i]: the value (advancing *i past it), or
// nullopt if `arg` is another flag. An empty or missing value is an error.
std::optional<std::string> FlagValue(std::string_view name, int argc, char** argv, int* i,
                                     std::string* error) {
  std::string_view arg = argv[*i];
  std::string value;
  if (arg == name) {
    if (*i + 1 >= argc) {
      *error = std::string(name) + " needs a FILE";
      return std::nullopt;
    }
    value = argv[++*i];
  } else if (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
             arg[name.size()] == '=') {
    value = std::string(arg.substr(name.size() + 1));
  } else {
    return std::nullopt;
  }
  if (value.empty()) *error = std::string(name) + " needs a FILE";
  return value;
}

// Parses argv; an error message names the bad argument.
std::optional<Flags> ParseFlags(int argc, char** argv, std::string* error) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--print-config") {
      flags.print_config = true;
    } else if (std::optional<std::string> config = FlagValue("--config", argc, argv, &i, error)) {
      if (!error->empty()) return std::nullopt;
      if (flags.config_path.has_value()) {
        *error = "--config given twice";
        return std::nullopt;
      }
      flags.config_path = std::move(config);
    } else if (std::optional<std::string> check =
                   FlagValue("--check-config", argc, argv, &i, error)) {
      if (!error->empty()) return std::nullopt;
      if (flags.check_config_path.has_value()) {
        *error = "--check-config given twice";
        return std::nullopt;
      }
      flags.check_config_path = std::move(check);
    } else if (!error->empty()) {
      return std::nullopt;
    } else {
      *error = std::string("unknown argument \"") + std::string(arg) + "\"";
      return std::nullopt;
    }
  }
  if (flags.check_config_path.has_value() &&
      (flags.config_path.has_value() || flags.print_config)) {
    *error = "--check-config takes its FILE alone, without --config or --print-config";
    return std::nullopt;
  }
  return flags;
}

void PrintConfigError(std::string_view what, absl::string_view message) {
  fprintf(stderr, "reef: %.*s:\n", static_cast<int>(what.size()), what.data());
  std::string text(message);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    fprintf(stderr, "  %s\n", text.substr(start, end - start).c_str());
    start = end + 1;
  }
}

// The access list file (nullptr in mode "off"), loaded into `access_list`; an error if
// the file does not load.
absl::StatusOr<std::shared_ptr<AccessListFile>> LoadAccessList(
    const Config& config, const std::shared_ptr<AccessList>& access_list) {
  if (config.access_list.mode == AccessListMode::kOff) return nullptr;
  auto file = std::make_shared<AccessListFile>(access_list, config.access_list.path);
  absl::StatusOr<bool> loaded = file->Reload(/*force=*/true);
  if (!loaded.ok()) return loaded.status();
  return file;
}

// --check-config FILE: everything a start checks before it binds a socket, and no more
// (binding would need the privileges, and the ports, of the running service).
int CheckConfig(const std::string& path) {
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) {
    PrintConfigError("invalid configuration", config.status().message());
    return kExitUsage;
  }
  if (absl::Status checked = CheckConfigAgainstSystem(*config); !checked.ok()) {
    PrintConfigError("invalid configuration", checked.message());
    return kExitUsage;
  }
  auto access_list = std::make_shared<AccessList>(config->access_list.mode);
  if (absl::StatusOr<std::shared_ptr<AccessListFile>> file = LoadAccessList(*config, access_list);
      !file.ok()) {
    PrintConfigError("invalid access list", file.status().message());
    return kExitUsage;
  }
  printf("reef: %s: configuration OK\n", path.c_str());
  return fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

// [snapshot]: the directory the snapshot is written in (opened now, before the seccomp
// filter), with the last run's swarms loaded into the store; nullopt when reef runs
// without one (logged: off, or the default directory is not usable). An error if the
// directory cannot be opened.
absl::StatusOr<std::optional<snapshot::SnapshotDirectory>> LoadSnapshot(
    const Config& config, const ServerObservables& observed) {
  std::string why_not;
  if (observed.store == nullptr) return std::nullopt;
  if (!SnapshotInUse(config.snapshot, config.privileges, &why_not)) {
    REEF_LOG(Info) << "snapshot: none (" << why_not << "); swarms are lost at a restart";
    return std::nullopt;
  }
  absl::StatusOr<snapshot::SnapshotDirectory> directory =
      snapshot::SnapshotDirectory::Open(config.snapshot.path);
  if (!directory.ok()) return directory.status();
  snapshot::Options options;
  options.path = config.snapshot.path;
  options.peer_timeout_s = observed.store->config().peer_inactivity_timeout_s;
  snapshot::LoadIntoStore(options, SystemClock(), *observed.store);
  return std::optional<snapshot::SnapshotDirectory>(*std::move(directory));
}

int Serve(const Config& config, std::string_view config_source, absl::Time start) {
  REEF_LOG(Info) << "reef starting (pid " << getpid() << ") with " << config_source;

  // Metrics: the registry every part adds its collector to.
  metrics::Registry registry({.stale_after = config.metrics.stale_series});
  metrics::AddProcessCollector(registry, start);

  // The access list: loaded now, so that a broken file stops reef before it serves.
  auto access_list = std::make_shared<AccessList>(config.access_list.mode);
  absl::StatusOr<std::shared_ptr<AccessListFile>> loaded_list =
      LoadAccessList(config, access_list);
  if (!loaded_list.ok()) {
    PrintConfigError("invalid access list", loaded_list.status().message());
    return kExitUsage;
  }
  std::shared_ptr<AccessListFile> access_list_file = *std::move(loaded_list);
  if (access_list_file != nullptr) {
    REEF_LOG(Info) << "access list: " << AccessListModeName(config.access_list.mode)
                   << " mode, " << access_list->size() << " hashes from "
                   << config.access_list.path << "; reloaded on SIGUSR1 or SIGHUP"
                   << (config.access_list.reload_interval > absl::ZeroDuration()
                           ? " and, if changed, every " +
                                 absl::FormatDuration(config.access_list.reload_interval)
                           : std::string());
  }

  // Protocol workers: the one place protocols plug in (server/protocol_workers.cc).
  ServerObservables observed;
  std::vector<std::function<void()>> reload_hooks;
  ServerContext context{config, access_list, &reload_hooks, &observed, nullptr};
  // The statistics page on the HTTP(S) listeners: they size their output for its bound
  // now; the page itself comes once they are bound (it lists their addresses).
  HttpPages http_pages{.max_body_bytes = metrics::MaxStatsBodyBytes(config), .pages = {}};
  if (config.metrics.stats_page) context.http_pages = &http_pages;
  std::unique_ptr<metrics::PeerClientCensus> census;
  if (config.metrics.enabled && config.metrics.peer_clients) {
    census = std::make_unique<metrics::PeerClientCensus>(
        static_cast<size_t>(config.swarm.shards),
        static_cast<size_t>(config.metrics.peer_client_max_series));
    context.after_cleaning = [census = census.get()](const swarm::TorrentStore& store,
                                                     size_t shard, int64_t now) {
      metrics::PeerClientCensus::Tally tally = census->NewTally();
      store.VisitShard(
          shard, now, [](const swarm::StoredTorrent&) {},
          [&tally](const swarm::StoredPeer& peer) { tally.Add(PeerId(peer.peer_id)); });
      census->Replace(shard, std::move(tally));
    };
    registry.AddCollector([census = census.get()](metrics::Exposition& out) {
      census->Collect(out);
    });
  }
  absl::StatusOr<std::vector<std::unique_ptr<Worker>>> protocol_workers =
      BuildProtocolWorkers(context);
  if (!protocol_workers.ok()) {
    REEF_LOG(Error) << "cannot start: " << protocol_workers.status();
    return kExitFailure;
  }

  // The swarms of the last run, before any worker serves ([snapshot]).
  std::optional<snapshot::SnapshotDirectory> snapshot_directory;
  if (absl::StatusOr<std::optional<snapshot::SnapshotDirectory>> opened =
          LoadSnapshot(config, observed);
      !opened.ok()) {
    REEF_LOG(Error) << "cannot start: " << opened.status();
    return kExitFailure;
  } else {
    snapshot_directory = *std::move(opened);
  }

  // The statistics page, for the HTTP(S) listeners and the metrics listener, which is
  // bound now.
  if (observed.store != nullptr) metrics::AddStoreCollector(registry, observed.store);
  metrics::AddWorkerCollector(registry, observed);
  metrics::AddWebTorrentCollector(registry, observed);
  std::vector<tracker::Protocol> served;
  if (!observed.udp_bound.empty()) served.push_back(tracker::Protocol::kUdp);
  if (!observed.http_bound.empty()) served.push_back(tracker::Protocol::kHttp);
  if (!observed.https_bound.empty()) served.push_back(tracker::Protocol::kHttps);
  metrics::StatsSource stats(observed, start, served,
                             metrics::AnnounceUrls(observed, config.metrics.public_host),
                             config.metrics.homepage,
                             metrics::StatsJsonLink(config.metrics.stats_path));
  if (config.metrics.stats_page) {
    http_pages.pages = metrics::StatsPages(stats, config.metrics.stats_path);
  }
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server =
      metrics::BuildMetricsServer(config.metrics, registry, http_pages.pages);
  if (!metrics_server.ok()) {
    REEF_LOG(Error) << "cannot start: " << metrics_server.status();
    return kExitFailure;
  }

  // Sockets are bound: now give up root, if asked to.
  if (absl::Status dropped = DropPrivileges(config.privileges.user, config.privileges.group);
      !dropped.ok()) {
    REEF_LOG(Error) << "cannot drop privileges: " << dropped;
    return kExitFailure;
  }
  if (!config.privileges.user.empty() || !config.privileges.group.empty()) {
    REEF_LOG(Info) << "running as uid " << getuid() << ", gid " << getgid();
  }

  SupervisorOptions options;
#ifdef REEF_TEST_HOOKS
  absl::StatusOr<SupervisorOptions> test_options =
      test_hooks::SupervisorOptionsFromEnvironment();
  if (!test_options.ok()) {
    REEF_LOG(Error) << test_options.status();
    return kExitUsage;
  }
  options = *test_options;
#endif
  Supervisor supervisor(options);
  if (access_list_file != nullptr) {
    std::unique_ptr<PeriodicWorker> reloader =
        MakeAccessListWorker(access_list_file, config.access_list.reload_interval);
    PeriodicWorker* trigger = reloader.get();  // owned by the supervisor, which outlives Run
    for (int signo : {SIGUSR1, SIGHUP}) {
      supervisor.OnSignal(signo, [trigger] { trigger->Trigger(); });
    }
    supervisor.Add(std::move(reloader));
  } else {
    for (int signo : {SIGUSR1, SIGHUP}) {
      supervisor.OnSignal(signo, [] {
        REEF_LOG(Info) << "access_list.mode is \"off\": nothing to reload";
      });
    }
  }
  // What protocols reload on the same signals (HTTPS certificates).
  for (std::function<void()>& hook : reload_hooks) {
    for (int signo : {SIGUSR1, SIGHUP}) supervisor.OnSignal(signo, hook);
  }
  for (std::unique_ptr<Worker>& worker : *protocol_workers) {
    supervisor.Add(std::move(worker));
  }
  // The page's rates, sampled wherever the page is served: the metrics listener may be off.
  const bool stats_served =
      config.metrics.stats_page && (config.http.enabled || *metrics_server != nullptr);
  if (*metrics_server != nullptr) supervisor.Add(*std::move(metrics_server));
  if (stats_served) supervisor.Add(metrics::MakeStatsSampler(stats));
  if (snapshot_directory.has_value() && config.snapshot.interval > absl::ZeroDuration()) {
    supervisor.Add(std::make_unique<PeriodicWorker>(
        "snapshot", config.snapshot.interval,
        [&snapshot_directory, store = observed.store](PeriodicWorker::Reason) {
          // A failed write is logged and the previous file kept; serving goes on.
          (void)snapshot::WriteFromStore(*snapshot_directory, *store, SystemClock());
          return absl::OkStatus();
        }));
  }
#ifdef REEF_TEST_HOOKS
  if (absl::Status added = test_hooks::AddWorkersFromEnvironment(supervisor); !added.ok()) {
    REEF_LOG(Error) << added;
    return kExitUsage;
  }
#endif

  // Everything that needs more than serving is done (sockets bound, privileges dropped,
  // io_uring rings made, the access list read): from here on, only the system calls on
  // the seccomp allow-list (seccomp.h).
  if (config.privileges.seccomp) {
    SeccompOptions seccomp;
    if (snapshot_directory.has_value()) seccomp.writable_directory = snapshot_directory->fd();
    if (absl::Status installed = InstallSeccompFilter(SeccompScope::kProcess, seccomp);
        !installed.ok()) {
      REEF_LOG(Error) << "cannot install the seccomp filter: " << installed;
      return kExitFailure;
    }
    REEF_LOG(Info) << "seccomp: " << SeccompAllowedCalls(seccomp).size()
                   << " system calls allowed; any other ends reef (exit 1, naming the call)";
  } else {
    REEF_LOG(Warn) << "seccomp: off ([privileges] seccomp = false)";
  }

  absl::Status status = supervisor.Run();
  if (!status.ok()) {
    REEF_LOG(Error) << "reef stopped: " << status;
    return kExitFailure;
  }
  // Every worker has stopped: nothing changes the store while it is written.
  if (snapshot_directory.has_value() &&
      !snapshot::WriteFromStore(*snapshot_directory, *observed.store, SystemClock()).ok()) {
    return kExitFailure;
  }
  REEF_LOG(Info) << "reef stopped";
  return kExitOk;
}

int Main(int argc, char** argv) {
  const absl::Time start = absl::Now();
  // An allocation that fails from here on logs and exits 1 (fatal.h).
  InstallOutOfMemoryHandler();
  // First, before any thread: see the file comment.
  BlockServerSignals();
  // A peer that closes its end must not kill the process (TCP protocols, later).
  signal(SIGPIPE, SIG_IGN);
  SetCurrentThreadName("main");

  std::string error;
  std::optional<Flags> flags = ParseFlags(argc, argv, &error);
  if (!flags.has_value()) {
    fprintf(stderr, "reef: %s\n\n%s", error.c_str(), kUsage);
    return kExitUsage;
  }
  if (flags->help) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (flags->check_config_path.has_value()) return CheckConfig(*flags->check_config_path);

  Config config;
  std::string source = "the built-in defaults";
  if (flags->config_path.has_value()) {
    absl::StatusOr<Config> loaded = LoadConfigFile(*flags->config_path);
    if (!loaded.ok()) {
      PrintConfigError("invalid configuration", loaded.status().message());
      return kExitUsage;
    }
    config = *std::move(loaded);
    source = "config " + *flags->config_path;
  }
  if (flags->print_config) {
    const std::string text = RenderConfig(config);
    fwrite(text.data(), 1, text.size(), stdout);
    return fflush(stdout) == 0 ? kExitOk : kExitFailure;
  }
  SetMinLogLevel(config.log.level);
  if (absl::Status checked = CheckConfigAgainstSystem(config); !checked.ok()) {
    PrintConfigError("invalid configuration", checked.message());
    return kExitUsage;
  }
  return Serve(config, source, start);
}

}  // namespace
}  // namespace reef

int main(int argc, char** argv) { return reef::Main(argc, argv); }
