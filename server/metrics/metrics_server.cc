#include "server/metrics/metrics_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "protocol/http/errors.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"
#include "server/common/clock.h"
#include "server/common/log.h"
#include "server/common/strings.h"

namespace reef::metrics {
namespace {

constexpr int kListenBacklog = 64;
constexpr int kMaxEvents = 32;
// The longest epoll_wait: deadlines and the expiry schedule are checked at least this often.
constexpr absl::Duration kTick = absl::Seconds(1);

absl::Status Errno(std::string_view what) {
  return absl::ErrnoToStatus(errno, ToAbsl(what));
}

void CloseFd(int fd) {
  if (fd >= 0) close(fd);
}

}  // namespace

struct MetricsServer::Connection {
  int fd = -1;
  absl::Duration deadline;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool responding = false;
};

namespace {

// A listening socket on `address`, non-blocking; its bound address in `bound`.
absl::StatusOr<int> Listen(const SocketAddress& address, SocketAddress* bound) {
  const int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("metrics: socket");
  const int one = 1;
  absl::Status status;
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      (address.family() == AF_INET6 &&
       setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)) {
    status = Errno("metrics: setsockopt");
  } else if (bind(fd, address.sockaddr_ptr(), address.sockaddr_len()) != 0) {
    status = errno == EADDRINUSE
                 ? absl::UnavailableError(StrCat("metrics: bind ", address.ToString(),
                                                 ": address already in use"))
                 : Errno(StrCat("metrics: bind ", address.ToString()));
  } else if (listen(fd, kListenBacklog) != 0) {
    status = Errno(StrCat("metrics: listen on ", address.ToString()));
  } else if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    status = Errno("metrics: getsockname");
  }
  if (!status.ok()) {
    CloseFd(fd);
    return status;
  }
  *bound = storage.ss_family == AF_INET
               ? SocketAddress::FromSockaddr(*reinterpret_cast<const sockaddr_in*>(&storage))
               : SocketAddress::FromSockaddr(*reinterpret_cast<const sockaddr_in6*>(&storage));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Bind(
    const MetricsServerOptions& options, Registry& registry) {
  if (options.listen.empty()) return absl::InvalidArgumentError("metrics: no listen address");
  if (options.path.empty() || options.path[0] != '/') {
    return absl::InvalidArgumentError(StrCat("metrics path must start with /, got \"", options.path, "\""));
  }
  if (options.max_connections == 0) {
    return absl::InvalidArgumentError("metrics max_connections must be at least 1");
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer(options, registry));
  for (const SocketAddress& address : options.listen) {
    SocketAddress bound = address;
    absl::StatusOr<int> fd = Listen(address, &bound);
    if (!fd.ok()) return fd.status();  // the destructor closes those already open
    server->listen_fds_.push_back(*fd);
    server->bound_.push_back(bound);
  }
  return server;
}

MetricsServer::MetricsServer(const MetricsServerOptions& options, Registry& registry)
    : Worker("metrics"), options_(options), registry_(registry) {}

MetricsServer::~MetricsServer() {
  for (int fd : listen_fds_) CloseFd(fd);
}

void MetricsServer::Respond(Connection& connection, int status, std::string_view content_type,
                            std::string body) {
  connection.out = StrCat("HTTP/1.1 ", status, " ", http::StatusReason(status),
                          "\r\nContent-Type: ", content_type,
                          "\r\nContent-Length: ", body.size(),
                          status == 405 ? "\r\nAllow: GET" : "",
                          "\r\nConnection: close\r\n\r\n");
  connection.out += body;
  connection.sent = 0;
  connection.responding = true;
}

bool MetricsServer::OnReadable(Connection& connection) {
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(connection.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      const size_t room = kMaxRequestBytes + 1 - connection.in.size();
      connection.in.append(buffer, std::min(room, static_cast<size_t>(n)));
      if (connection.in.size() > kMaxRequestBytes) break;
      continue;
    }
    if (n == 0) return false;  // closed before a whole request: nothing to answer
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return false;
  }
  std::array<http::Header, 32> headers;
  http::RequestLimits limits;
  limits.max_request_bytes = kMaxRequestBytes;
  auto parsed = http::ParseRequest(connection.in, headers, limits);
  if (parsed.incomplete()) {
    if (connection.in.size() <= kMaxRequestBytes) return true;  // wait for more
    Respond(connection, 431, "text/plain; charset=utf-8", "request head too large\n");
  } else if (!parsed.ok()) {
    Respond(connection, http::HttpStatusFor(parsed.error()), "text/plain; charset=utf-8",
            StrCat(http::ErrorReason(parsed.error()), "\n"));
  } else if (parsed.value().path == options_.path) {
    Respond(connection, 200, "text/plain; version=0.0.4; charset=utf-8", registry_.Render());
  } else if (const HttpPage* page = FindHttpPage(options_.pages, parsed.value().path)) {
    Respond(connection, 200, page->content_type, page->render());
  } else {
    Respond(connection, 404, "text/plain; charset=utf-8",
            StrCat("not found; metrics are at ", options_.path, "\n"));
  }
  return OnWritable(connection);
}

bool MetricsServer::OnWritable(Connection& connection) {
  while (connection.sent < connection.out.size()) {
    const ssize_t n = send(connection.fd, connection.out.data() + connection.sent,
                           connection.out.size() - connection.sent, MSG_NOSIGNAL);
    if (n > 0) {
      connection.sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return false;  // all sent: done
}

absl::Status MetricsServer::Run(const StopSignal& stop) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Errno("metrics: epoll_create1");
  // data.fd: the listening socket, the stop signal, or a connection's socket.
  auto watch = [&](int fd, uint32_t events, int op) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epoll_fd, op, fd, &event) == 0;
  };
  bool watching = watch(stop.fd(), EPOLLIN, EPOLL_CTL_ADD);
  for (int fd : listen_fds_) watching = watching && watch(fd, EPOLLIN, EPOLL_CTL_ADD);
  if (!watching) {
    absl::Status status = Errno("metrics: epoll_ctl");
    CloseFd(epoll_fd);
    return status;
  }
  for (const SocketAddress& address : bound_) {
    REEF_LOG(Info) << "metrics: serving http://" << address.ToString() << options_.path;
  }

  absl::flat_hash_map<int, Connection> connections;
  auto close_connection = [&](int fd) {
    connections.erase(fd);
    CloseFd(fd);  // also leaves the epoll set
  };
  const absl::Duration expire_every =
      std::max(registry_.options().stale_after / 4, absl::Seconds(1));
  absl::Duration next_expiry = MonotonicNow() + expire_every;
  absl::Status result;

  std::array<epoll_event, kMaxEvents> events;
  while (!stop.requested()) {
    const int n = epoll_wait(epoll_fd, events.data(), kMaxEvents,
                             static_cast<int>(absl::ToInt64Milliseconds(kTick)));
    if (n < 0) {
      if (errno == EINTR) continue;
      result = Errno("metrics: epoll_wait");
      break;
    }
    const absl::Duration now = MonotonicNow();
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == stop.fd()) continue;
      if (std::find(listen_fds_.begin(), listen_fds_.end(), fd) != listen_fds_.end()) {
        // Accept everything waiting; over the limit, close at once.
        while (true) {
          const int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;  // EAGAIN, or an error of that one connection
          if (connections.size() >= options_.max_connections ||
              !watch(client, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD)) {
            CloseFd(client);
            continue;
          }
          Connection& c = connections[client];
          c.fd = client;
          c.deadline = now + options_.request_timeout;
        }
        continue;
      }
      auto it = connections.find(fd);
      if (it == connections.end()) continue;
      Connection& c = it->second;
      const bool was_responding = c.responding;
      const bool keep = c.responding ? OnWritable(c) : OnReadable(c);
      if (!keep) {
        close_connection(fd);
      } else if (c.responding && !was_responding) {
        watch(fd, EPOLLOUT, EPOLL_CTL_MOD);  // the rest when the client reads
      }
    }
    // Deadlines: at most max_connections entries, checked once per wake-up.
    std::vector<int> expired;
    for (const auto& [fd, c] : connections) {
      if (now >= c.deadline) expired.push_back(fd);
    }
    for (int fd : expired) close_connection(fd);
    if (now >= next_expiry) {
      registry_.Expire();
      next_expiry = now + expire_every;
    }
  }
  for (auto& [fd, c] : connections) CloseFd(fd);
  CloseFd(epoll_fd);
  return result;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> BuildMetricsServer(
    const MetricsConfig& config, Registry& registry,
    std::vector<HttpPage> pages) {
  if (!config.enabled) {
    REEF_LOG(Info) << "metrics: off ([metrics] enabled = false)";
    return nullptr;
  }
  MetricsServerOptions options;
  options.listen = config.listen;
  options.path = config.path;
  options.max_connections = static_cast<size_t>(config.max_connections);
  options.request_timeout = config.request_timeout;
  options.pages = std::move(pages);
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Bind(options, registry);
  if (!server.ok() && absl::IsUnavailable(server.status()) &&
      config.listen == MetricsConfig::DefaultListen()) {
    REEF_LOG(Warn) << server.status().message()
                   << "; serving without metrics (another reef here? set [metrics] listen)";
    return nullptr;
  }
  return server;
}

}  // namespace reef::metrics
