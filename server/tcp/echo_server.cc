// A TcpWorker with the echo handler on a fixed address, for measuring the TCP path alone
// by hand (wrk, perf), without the tracker behind it:
//   bazel build --config=opt //server/tcp:echo_server
//   bazel-bin/server/tcp/echo_server 127.0.0.1:8080 &
//   wrk -t1 -c16 -d5s -H 'Connection: close' http://127.0.0.1:8080/announce
// Runs until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "server/common/stop_signal.h"
#include "server/tcp/listener.h"
#include "server/tcp/tcp_worker.h"
#include "server/tcp/test_handler.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: echo_server ADDRESS:PORT\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto address = reef::SocketAddress::Parse(argv[1]);
  if (!address.ok()) {
    fprintf(stderr, "bad address\n");
    return 2;
  }
  auto fd = reef::tcp::OpenTcpListener(*address);
  if (!fd.ok()) {
    fprintf(stderr, "cannot listen\n");
    return 1;
  }
  reef::tcp::TcpWorker worker("http-0", {{*fd, false}}, reef::tcp::ConnectionLimits{},
                              std::make_unique<reef::tcp::testing::EchoHandler>(), nullptr);
  reef::StopSignal stop;
  std::thread thread([&] { (void)worker.Run(stop); });
  int received = 0;
  sigwait(&signals, &received);
  stop.Request();
  thread.join();
  return 0;
}
