// A WebTorrent-only server for measuring the WebSocket path before it is wired into the
// reef binary (scratch): one TcpWorker on 127.0.0.1:PORT with InstallWebTorrent.
//   ws_bench_server PORT
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "server/common/stop_signal.h"
#include "server/tcp/file_limit.h"
#include "server/tcp/listener.h"
#include "server/tcp/test_handler.h"
#include "server/ws/ws_server.h"

namespace {
reef::StopSignal* g_stop = nullptr;
void OnSignal(int) { g_stop->Request(); }
}  // namespace

int main(int argc, char** argv) {
  using namespace reef;
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  tcp::RaiseFileLimit(20000);
  const int fd = tcp::OpenTcpListener(
      SocketAddress::Parse("127.0.0.1:" + std::to_string(port)).value()).value();
  std::printf("listening %s\n", tcp::LocalAddress(fd).value().ToString().c_str());
  std::fflush(stdout);
  tcp::ConnectionLimits limits;
  limits.max_connections = 20000;
  std::vector<tcp::TcpListener> listeners = {{fd, false}};
  tcp::TcpWorker worker("http-0", std::move(listeners), limits,
                        std::make_unique<tcp::testing::EchoHandler>(), nullptr);
  auto access = std::make_shared<AccessList>(AccessListMode::kOff);
  tcp::TcpWorker* workers[] = {&worker};
  auto ws = ws::InstallWebTorrent(WsConfig{}, SwarmConfig{}, access, workers, 1).value();
  StopSignal stop;
  g_stop = &stop;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  const absl::Status s = worker.Run(stop);
  const auto& t = ws.hosts[0]->tracker_stats();
  std::fprintf(stderr, "announces %llu answers %llu offers relayed %llu answers relayed %llu errors %llu\n",
               (unsigned long long)t.announces.load(), (unsigned long long)t.answers.load(),
               (unsigned long long)t.offers_relayed.load(),
               (unsigned long long)t.answers_relayed.load(), (unsigned long long)t.errors_sent.load());
  return s.ok() ? 0 : 1;
}
