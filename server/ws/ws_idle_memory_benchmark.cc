// Memory per idle WebSocket connection and per WebTorrent peer, on live sockets, by hand:
//
//   bazel run --config=opt //server/ws:ws_idle_memory_benchmark -- [--connections=N]
//
// A TcpWorker with WebTorrent installed (InstallWebTorrent, as the reef binary builds it)
// serves a plain and a TLS listener in this process. A child process opens N WebSocket
// connections to one listener (upgrade, 101) and holds them open; then, in a second round,
// each connection also announces one torrent of N / 5 (so each is an idle connection
// holding one WebTorrent peer, in swarms of about five). The parent reads its heap in use
// (mallinfo2's uordblks: every live malloc block, OpenSSL's included) and resident set
// before the child connects and once all N are idle, and prints the difference per
// connection. Kernel socket memory is not in either figure.
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/common/stop_signal.h"
#include "server/tcp/file_limit.h"
#include "server/tcp/listener.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/ws_server.h"
#include "server/ws/ws_test_client.h"

namespace reef::ws {
namespace {

size_t HeapInUse() { return mallinfo2().uordblks; }

size_t RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

[[noreturn]] void Clients(const SocketAddress& server, bool tls, int count, bool announce,
                          int ready_fd) {
  std::vector<std::unique_ptr<testing::WsTestClient>> clients;
  const uint32_t torrents = static_cast<uint32_t>(std::max(1, count / 5));
  for (int i = 0; i < count; ++i) {
    auto c = testing::WsTestClient::Connect(server, tls);
    if (c == nullptr) {
      fprintf(stderr, "client %d failed\n", i);
      _exit(1);
    }
    if (announce) {
      const auto n = static_cast<uint32_t>(i);
      if (!c->SendText(testing::AnnounceJson(testing::Id20('T', n % torrents),
                                             testing::Id20('P', n), AnnounceEvent::kStarted,
                                             n % 2, 0, {})) ||
          !c->Read(1).has_value()) {
        fprintf(stderr, "announce %d failed\n", i);
        _exit(1);
      }
    }
    clients.push_back(std::move(c));
  }
  const char ok = 1;
  if (write(ready_fd, &ok, 1) != 1) _exit(1);
  pause();
  _exit(0);
}

void Measure(const SocketAddress& server, bool tls, bool announce, int count,
             tcp::TcpWorker& worker, const WebTorrentSwarm& swarm) {
  malloc_trim(0);
  const size_t heap_before = HeapInUse();
  const size_t rss_before = RssBytes();
  const int64_t open_before = worker.stats().open.load();
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) abort();
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    Clients(server, tls, count, announce, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char ok = 0;
  const bool ready = read(pipe_fds[0], &ok, 1) == 1;
  close(pipe_fds[0]);
  for (int i = 0; i < 200 && worker.stats().open.load() < open_before + count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const size_t heap_after = HeapInUse();
  const size_t rss_after = RssBytes();
  const WebTorrentStoreStats stats = swarm.Stats();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (!ready) {
    fprintf(stderr, "the clients failed\n");
    exit(1);
  }
  printf("%-5s %6d idle WebSocket connections%s: heap %7.0f bytes/connection, RSS %7.0f "
         "bytes/connection (swarm: %llu torrents, %llu peers)\n",
         tls ? "TLS" : "plain", count, announce ? " with one peer each" : "                   ",
         static_cast<double>(heap_after - heap_before) / count,
         static_cast<double>(rss_after - rss_before) / count,
         static_cast<unsigned long long>(stats.torrents),
         static_cast<unsigned long long>(stats.seeders + stats.leechers));
  for (int i = 0; i < 500 && worker.stats().open.load() > open_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Main(int argc, char** argv) {
  int count = 5000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--connections=", 14) == 0) count = std::atoi(argv[i] + 14);
  }
  tcp::RaiseFileLimit(static_cast<uint64_t>(2 * count + 100));
  const tcp::testing::TestCertificate cert = tcp::testing::MakeSelfSigned();
  auto tls = std::make_unique<tcp::TlsContextStore>(
      tcp::MakeServerContext(cert.certificate_pem, cert.private_key_pem).value());
  std::vector<tcp::TcpListener> listeners;
  std::vector<SocketAddress> bound;
  for (bool is_tls : {false, true}) {
    const int fd = tcp::OpenTcpListener(SocketAddress::Parse("127.0.0.1:0").value()).value();
    bound.push_back(tcp::LocalAddress(fd).value());
    listeners.push_back({fd, is_tls});
  }
  tcp::ConnectionLimits limits;
  limits.max_connections = static_cast<size_t>(count) + 10;
  tcp::TcpWorker worker("http-0", std::move(listeners), limits,
                        std::make_unique<tcp::testing::EchoHandler>(), tls.get());
  auto access = std::make_shared<AccessList>(AccessListMode::kOff);
  tcp::TcpWorker* workers[] = {&worker};
  WebTorrentServer ws = InstallWebTorrent(WsConfig{}, SwarmConfig{}, access, workers, 1).value();
  StopSignal stop;
  std::thread thread([&] { (void)worker.Run(stop); });
  Measure(bound[0], false, false, count, worker, *ws.swarm);
  Measure(bound[1], true, false, count, worker, *ws.swarm);
  Measure(bound[0], false, false, count, worker, *ws.swarm);  // again, with the pools warm
  Measure(bound[0], false, true, count, worker, *ws.swarm);
  Measure(bound[1], true, true, count, worker, *ws.swarm);
  stop.Request();
  thread.join();
  return 0;
}

}  // namespace
}  // namespace reef::ws

int main(int argc, char** argv) { return reef::ws::Main(argc, argv); }
