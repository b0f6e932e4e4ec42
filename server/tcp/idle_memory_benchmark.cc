// Memory per idle connection, measured by hand:
//
//   bazel run --config=opt //server/tcp:idle_memory_benchmark -- [--connections=N]
//
// A TcpWorker (the echo handler, default limits) serves plain and TLS listeners in this
// process. A child process opens N connections to one listener, sends one request on each
// and reads its answer (so each connection is an idle kept-alive one, past its TLS
// handshake), then holds them open. The parent reads its own heap in use (mallinfo2's
// uordblks: every live malloc block, OpenSSL's included) and resident set (VmRSS) before
// the child connects and once all N answers are in, and prints the difference per
// connection. Kernel socket memory is not in either figure; /proc/net/sockstat's
// "TCP ... mem" (pages) is printed beside it.
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
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
#include "server/tcp/listener.h"
#include "server/tcp/tcp_test_client.h"
#include "server/tcp/tcp_worker.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"

namespace reef::tcp {
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

std::string SockstatTcp() {
  std::ifstream in("/proc/net/sockstat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("TCP:", 0) == 0) return line;
  }
  return "?";
}

// In the child: N connections, one answered request each, then wait to be killed.
[[noreturn]] void Clients(const SocketAddress& server, bool tls, int count, int ready_fd) {
  std::vector<std::unique_ptr<testing::TcpTestClient>> clients;
  for (int i = 0; i < count; ++i) {
    auto c = testing::TcpTestClient::Connect(server, tls);
    if (c == nullptr || !c->Exchange("GET /announce?idle=1 HTTP/1.1\r\nHost: x\r\n\r\n")) {
      fprintf(stderr, "client %d failed\n", i);
      _exit(1);
    }
    clients.push_back(std::move(c));
  }
  const char ok = 1;
  if (write(ready_fd, &ok, 1) != 1) _exit(1);
  pause();
  _exit(0);
}

void Measure(const SocketAddress& server, bool tls, int count, TcpWorker& worker) {
  malloc_trim(0);
  const size_t heap_before = HeapInUse();
  const size_t rss_before = RssBytes();
  const int64_t open_before = worker.stats().open.load();
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) abort();
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    Clients(server, tls, count, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char ok = 0;
  const bool ready = read(pipe_fds[0], &ok, 1) == 1;
  close(pipe_fds[0]);
  // Let the worker settle: every connection answered and idle.
  for (int i = 0; i < 200 && worker.stats().open.load() < open_before + count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const size_t heap_after = HeapInUse();
  const size_t rss_after = RssBytes();
  const std::string sockstat = SockstatTcp();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (!ready) {
    fprintf(stderr, "the clients failed\n");
    exit(1);
  }
  printf("%-5s %6d idle connections: heap %8.0f bytes/connection, RSS %8.0f bytes/connection"
         "   (%s)\n",
         tls ? "TLS" : "plain", count,
         static_cast<double>(heap_after - heap_before) / count,
         static_cast<double>(rss_after - rss_before) / count, sockstat.c_str());
  // Wait for the worker to notice the closes before the next round.
  for (int i = 0; i < 500 && worker.stats().open.load() > open_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Main(int argc, char** argv) {
  int count = 5000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--connections=", 14) == 0) count = std::atoi(argv[i] + 14);
  }
  const testing::TestCertificate cert = testing::MakeSelfSigned();
  auto tls = std::make_unique<TlsContextStore>(
      MakeServerContext(cert.certificate_pem, cert.private_key_pem).value());
  std::vector<TcpListener> listeners;
  std::vector<SocketAddress> bound;
  for (bool is_tls : {false, true}) {
    const int fd = OpenTcpListener(SocketAddress::Parse("127.0.0.1:0").value()).value();
    bound.push_back(LocalAddress(fd).value());
    listeners.push_back({fd, is_tls});
  }
  ConnectionLimits limits;
  limits.max_connections = static_cast<size_t>(count) + 10;
  limits.head_timeout_ms = limits.keep_alive_timeout_ms = 600'000;
  TcpWorker worker("http-0", std::move(listeners), limits,
                   std::make_unique<testing::EchoHandler>(), tls.get());
  StopSignal stop;
  std::thread thread([&] { (void)worker.Run(stop); });
  Measure(bound[0], false, count, worker);
  Measure(bound[1], true, count, worker);
  Measure(bound[0], false, count, worker);  // again, with the pools warm
  stop.Request();
  thread.join();
  return 0;
}

}  // namespace
}  // namespace reef::tcp

int main(int argc, char** argv) { return reef::tcp::Main(argc, argv); }
