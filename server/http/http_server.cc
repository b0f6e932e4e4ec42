#include "server/http/http_server.h"

#include <sys/random.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/common/strings.h"
#include "server/http/http_tracker.h"
#include "server/http/response_size.h"
#include "server/tcp/file_limit.h"
#include "server/tcp/listener.h"

namespace reef::http_server {
namespace {

uint64_t RandomSeed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = static_cast<uint64_t>(getpid());
  return seed;
}

// One worker's request handler: its own tracker core over what every worker shares, and
// the HTTP adapter over that.
class WorkerHandler final : public tcp::HttpHandler {
 public:
  WorkerHandler(const tracker::Shared& shared, const HttpTrackerOptions& options)
      : shared_(shared), core_(shared_, RandomSeed()), http_(options, core_) {}

  size_t MaxResponseBytes() const override { return http_.MaxResponseBytes(); }
  tcp::HandlerResponse Respond(const http::Request& request, const tcp::RequestContext& context,
                               bool keep_alive, std::span<uint8_t> out) override {
    return http_.Respond(request, context, keep_alive, out);
  }
  const tracker::Tracker& core() const { return core_; }

 private:
  const tracker::Shared shared_;  // keeps the store and the access list alive
  tracker::Tracker core_;
  HttpTracker http_;
};

// A TcpWorker that logs what its tracker core counted when it stops.
class HttpWorker final : public Worker {
 public:
  HttpWorker(std::string name, std::unique_ptr<tcp::TcpWorker> tcp, const WorkerHandler* handler,
             std::shared_ptr<tcp::TlsContextStore> tls)
      : Worker(std::move(name)), tls_(std::move(tls)), tcp_(std::move(tcp)), handler_(handler) {}

  absl::Status Run(const StopSignal& stop) override {
    absl::Status status = tcp_->Run(stop);
    const tracker::CountersSnapshot c = handler_->core().counters().Snapshot();
    using tracker::Action;
    using tracker::Protocol;
    REEF_LOG(Info) << "http announces " << c.Served(Protocol::kHttp, Action::kAnnounce)
                   << ", scrapes " << c.Served(Protocol::kHttp, Action::kScrape)
                   << "; https announces " << c.Served(Protocol::kHttps, Action::kAnnounce)
                   << ", scrapes " << c.Served(Protocol::kHttps, Action::kScrape)
                   << "; refused " << c.Refused(Protocol::kHttp, Action::kAnnounce) +
                                          c.Refused(Protocol::kHttp, Action::kScrape) +
                                          c.Refused(Protocol::kHttps, Action::kAnnounce) +
                                          c.Refused(Protocol::kHttps, Action::kScrape);
    return status;
  }
  const tcp::TcpWorker& tcp() const { return *tcp_; }

 private:
  const std::shared_ptr<tcp::TlsContextStore> tls_;  // outlives tcp_, which reads it
  std::unique_ptr<tcp::TcpWorker> tcp_;
  const WorkerHandler* handler_;
};

void CloseAll(const std::vector<tcp::TcpListener>& listeners) {
  for (const tcp::TcpListener& l : listeners) close(l.fd);
}

// Opens one listener per address for one worker; the first worker resolves port 0 and
// the others share what it got.
absl::Status OpenListeners(std::vector<SocketAddress>& addresses, bool tls, bool first,
                           std::vector<tcp::TcpListener>* out, std::vector<SocketAddress>* bound) {
  for (SocketAddress& address : addresses) {
    absl::StatusOr<int> fd = tcp::OpenTcpListener(address);
    if (!fd.ok()) return fd.status();
    out->push_back({*fd, tls});
    absl::StatusOr<SocketAddress> local = tcp::LocalAddress(*fd);
    if (!local.ok()) return local.status();
    if (address.port() == 0) address = *local;
    if (first) {
      REEF_LOG(Info) << (tls ? "https" : "http") << ": listening on " << local->ToString();
      bound->push_back(*local);
    }
  }
  return absl::OkStatus();
}

// The body room pages get: all they may need when the output limit holds that beside
// the largest answer; else none (they are answered 503), so that a config that served
// before the pages came keeps serving.
size_t PageRoom(const tcp::ConnectionLimits& limits, const HttpPages* pages) {
  if (pages == nullptr || pages->max_body_bytes == 0) return 0;
  if (tcp::ValidateLimits(limits, kResponseHeadBytes + pages->max_body_bytes).ok()) {
    return pages->max_body_bytes;
  }
  REEF_LOG(Warn) << "http: max_output_size (" << limits.max_output_bytes
                 << " bytes) cannot hold the statistics page (up to " << pages->max_body_bytes
                 << " bytes, encrypted): the HTTP listeners answer it 503; raise "
                    "http.max_output_size to serve it there";
  return 0;
}

}  // namespace

uint64_t HttpDescriptorsNeeded(const HttpConfig& config, const HttpTlsConfig& tls) {
  const uint64_t listeners = config.listen.size() + tls.listen.size();
  return static_cast<uint64_t>(config.socket_workers) *
         (static_cast<uint64_t>(config.max_connections) + listeners + 4);
}

void ReloadCertificate(tcp::TlsContextStore& tls) {
  absl::Status reloaded = tls.Reload();
  if (reloaded.ok()) {
    REEF_LOG(Info) << "https: certificate reloaded from " << tls.files().certificate_chain
                   << " and " << tls.files().private_key << "; new handshakes use it";
  } else {
    REEF_LOG(Warn) << "https: the new certificate does not load, so reef keeps the certificate "
                      "it has: "
                   << reloaded.message();
  }
}

absl::StatusOr<HttpWorkers> BuildHttpWorkers(const HttpConfig& config,
                                             const HttpTlsConfig& tls,
                                             const tracker::Shared& core,
                                             const HttpPages* pages) {
  HttpWorkers out;
  const tcp::ConnectionLimits limits = HttpConnectionLimits(config, tls);
  const size_t max_response = HttpTracker::MaxResponseBytes(core.options);
  if (absl::Status valid = tcp::ValidateLimits(limits, max_response); !valid.ok()) {
    return absl::InvalidArgumentError(StrCat("http: ", valid.message()));
  }
  if (!tls.listen.empty()) {
    absl::StatusOr<std::unique_ptr<tcp::TlsContextStore>> store =
        tcp::TlsContextStore::Load({tls.certificate_chain, tls.private_key});
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          StrCat("http.tls: cannot load the certificate: ", store.status().message()));
    }
    out.tls = std::move(*store);
  }

  const tcp::FileLimit files = tcp::RaiseFileLimit(HttpDescriptorsNeeded(config, tls) + 256);
  if (!files.enough) REEF_LOG(Warn) << files.message;

  HttpTrackerOptions options;
  options.proxy = config.Proxy();
  options.pages = pages;
  options.max_page_bytes = PageRoom(limits, pages);
  std::vector<SocketAddress> plain = config.listen;
  std::vector<SocketAddress> secure = tls.listen;
  for (int w = 0; w < config.socket_workers; ++w) {
    const std::string name = StrCat("http-", w);
    std::vector<tcp::TcpListener> listeners;
    absl::Status opened = OpenListeners(plain, false, w == 0, &listeners, &out.bound);
    if (opened.ok()) opened = OpenListeners(secure, true, w == 0, &listeners, &out.tls_bound);
    if (!opened.ok()) {
      CloseAll(listeners);
      return opened;
    }
    auto handler = std::make_unique<WorkerHandler>(core, options);
    const WorkerHandler* handler_view = handler.get();
    const int cpu = config.cpu_pinning.empty() ? -1 : config.cpu_pinning[static_cast<size_t>(w)];
    auto tcp = std::make_unique<tcp::TcpWorker>(name, std::move(listeners), limits,
                                                std::move(handler), out.tls.get(), cpu);
    out.worker_stats.push_back(&tcp->stats());
    out.connection_stats.push_back(&tcp->connection_stats());
    out.tcp_workers.push_back(tcp.get());
    out.core_counters.push_back(&handler_view->core().counters());
    out.workers.push_back(std::make_unique<HttpWorker>(name, std::move(tcp), handler_view, out.tls));
  }
  REEF_LOG(Info) << "http: " << config.socket_workers << " socket worker(s), at most "
                 << config.max_connections << " connections each; RLIMIT_NOFILE " << files.soft;
  return out;
}

}  // namespace reef::http_server
