// steering = "cpu": each datagram goes to the worker pinned to the CPU that received it.
//
// Over loopback the receive path (softirq) runs on the sending thread's CPU, so a client
// thread pinned to CPU k stands for a network card's queue delivering on CPU k.
#include <dirent.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "server/udp/socket.h"
#include "server/udp/udp_config.h"
#include "server/udp/udp_server_test_util.h"
#include "testing/skip.h"

namespace reef::udp {
namespace {

// The CPUs this process may use, in order.
std::vector<int> UsableCpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(static_cast<size_t>(cpu), &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

reef::testing::SkipUnless NeedsTwoCpus() {
  const size_t n = UsableCpus().size();
  return reef::testing::SkipUnless(
      n >= 2, "needs at least 2 CPUs to steer between, this process may use " +
                  std::to_string(n));
}

constexpr int kClients = 64;  // each its own socket, so its own source port (flow)

// From a thread pinned to `cpu`: kClients BEP 15 connects to `server`, each from a new
// socket. Returns how many were answered, or with `await_reply` false, sent.
int ConnectsFromCpu(int cpu, const SocketAddress& server, bool await_reply = true) {
  int answered = -1;
  std::thread client([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<size_t>(cpu), &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) return;
    answered = 0;
    for (int i = 0; i < kClients; ++i) {
      const int fd = socket(server.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      timeval timeout{.tv_sec = 10, .tv_usec = 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      // BEP 15 connect: protocol id 0x41727101980, action 0, transaction id i.
      uint8_t request[16] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0,
                             0,    0,    0,    static_cast<uint8_t>(i)};
      uint8_t reply[64];
      if (connect(fd, server.sockaddr_ptr(), server.sockaddr_len()) == 0 &&
          send(fd, request, sizeof(request), 0) == sizeof(request)) {
        if (!await_reply) {
          ++answered;
          close(fd);
          continue;
        }
        ssize_t n;
        do {
          n = recv(fd, reply, sizeof(reply), 0);
        } while (n < 0 && errno == EINTR);
        if (n == 16 && std::memcmp(reply, "\0\0\0\0", 4) == 0 &&
            std::memcmp(reply + 4, request + 12, 4) == 0) {
          ++answered;
        }
      }
      close(fd);
    }
  });
  client.join();
  return answered;
}

// The CPUs thread `name` ("udp-1") may run on, as /proc lists them ("0", "0-1"), or ""
// if no thread has that name.
std::string ThreadCpus(const std::string& name) {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return "";
  std::string cpus;
  while (dirent* entry = readdir(tasks)) {
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    std::ifstream comm(dir + "/comm");
    std::string comm_name;
    if (!std::getline(comm, comm_name) || comm_name != name) continue;
    std::ifstream status(dir + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("Cpus_allowed_list:")) cpus = line.substr(line.find_first_not_of(
                                                        " \t", sizeof("Cpus_allowed_list:") - 1));
    }
  }
  closedir(tasks);
  return cpus;
}

TEST_CASE("steering = cpu: a datagram received on CPU k is handled by worker k" *
          NeedsTwoCpus()) {
  const std::vector<int> cpus = UsableCpus();
  for (UdpBackend backend : {UdpBackend::kEpoll, UdpBackend::kIoUring}) {
    const std::string backend_name(UdpBackendName(backend));
    CAPTURE(backend_name);
    Config config = testing::TestServer::LoopbackConfig(backend, 2);
    config.udp.steering = UdpSteering::kCpu;  // workers on the first two CPUs we may use
    testing::TestServer server(config);
    const std::vector<const LoopStats*>& stats = server.loop_stats();
    REQUIRE(stats.size() == 2);
    for (const SocketAddress& address : {server.v4(), server.v6()}) {
      const std::string where = address.ToString();
      CAPTURE(where);
      for (size_t k = 0; k < 2; ++k) {
        CAPTURE(k);
        const uint64_t before[2] = {stats[0]->received.load(), stats[1]->received.load()};
        CHECK(ConnectsFromCpu(cpus[k], address) == kClients);
        CHECK(stats[k]->received.load() - before[k] == kClients);
        CHECK(stats[1 - k]->received.load() == before[1 - k]);
        // And worker k runs on CPU k only.
        CHECK(ThreadCpus("udp-" + std::to_string(k)) == std::to_string(cpus[k]));
      }
    }
    CHECK(server.Stop().ok());
  }
}

// Datagrams waiting on `fd` (non-blocking), read and counted.
int Drain(int fd) {
  int count = 0;
  char buf[64];
  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) ++count;
  return count;
}

// The BPF program alone, without SO_INCOMING_CPU (which kernels from 6.1 also honour):
// the group's socket i gets what CPU cpus[i] receives, here in the reverse order of the
// CPUs, so socket 0 serves the second CPU.
TEST_CASE("SteerByCpu: a reuseport group's socket i gets what CPU cpus[i] receives" *
          NeedsTwoCpus()) {
  const std::vector<int> usable = UsableCpus();
  const int cpus[] = {usable[1], usable[0]};
  auto first = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), {});
  REQUIRE(first.ok());
  auto bound = BoundAddress(first->fd);
  REQUIRE(bound.ok());
  auto second = OpenUdpSocket(*bound, {});
  REQUIRE(second.ok());
  const int sockets[] = {first->fd, second->fd};
  absl::Status steered = SteerByCpu(second->fd, cpus);  // any member attaches for the group
  REQUIRE_MESSAGE(steered.ok(), steered.ToString());
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(ConnectsFromCpu(cpus[i], *bound, /*await_reply=*/false) == kClients);
    CHECK(Drain(sockets[i]) == kClients);
    CHECK(Drain(sockets[1 - i]) == 0);
  }
  close(first->fd);
  close(second->fd);
}

TEST_CASE("the steering program: the CPU, one test and return per socket, then 'by hash'") {
  const int cpus[] = {3, 5};
  const std::vector<sock_filter> program = CpuSteeringProgram(cpus);
  REQUIRE(program.size() == 6);
  CHECK(program[0].code == (BPF_LD | BPF_W | BPF_ABS));
  CHECK(program[0].k == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_CPU));
  for (size_t i = 0; i < 2; ++i) {
    CHECK(program[1 + 2 * i].code == (BPF_JMP | BPF_JEQ | BPF_K));
    CHECK(program[1 + 2 * i].k == static_cast<uint32_t>(cpus[i]));
    CHECK(program[1 + 2 * i].jt == 0);
    CHECK(program[1 + 2 * i].jf == 1);
    CHECK(program[2 + 2 * i].code == (BPF_RET | BPF_K));
    CHECK(program[2 + 2 * i].k == i);
  }
  CHECK(program[5].code == (BPF_RET | BPF_K));
  CHECK(program[5].k == 2);  // no such socket: the kernel picks by hash
}

TEST_CASE("SteerByCpu takes 1 to kMaxSteeredSockets sockets, not 0 or one more") {
  auto opened = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), {});
  REQUIRE(opened.ok());
  std::vector<int> cpus(kMaxSteeredSockets + 1);
  for (size_t i = 0; i < cpus.size(); ++i) cpus[i] = static_cast<int>(i);
  CHECK(SteerByCpu(opened->fd, std::span<const int>(cpus).first(kMaxSteeredSockets)).ok());
  CHECK(SteerByCpu(opened->fd, std::span<const int>(cpus).first(1)).ok());
  CHECK(SteerByCpu(opened->fd, cpus).message() ==
        "steering by CPU takes 1 to 1024 sockets, got 1025");
  CHECK(SteerByCpu(opened->fd, {}).message() == "steering by CPU takes 1 to 1024 sockets, got 0");
  close(opened->fd);
}

TEST_CASE("SO_INCOMING_CPU is set as asked, and left alone by default") {
  auto plain = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), {});
  REQUIRE(plain.ok());
  auto marked = OpenUdpSocket(*SocketAddress::Parse("127.0.0.1:0"), {.incoming_cpu = 0});
  REQUIRE(marked.ok());
  int cpu = 7;
  socklen_t length = sizeof(cpu);
  REQUIRE(getsockopt(marked->fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &length) == 0);
  CHECK(cpu == 0);
  REQUIRE(getsockopt(plain->fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &length) == 0);
  CHECK(cpu == -1);
  close(plain->fd);
  close(marked->fd);
}

// The contrast that shows the test above can fail: by hash, the 64 flows from one CPU are
// spread over both workers (all on one has odds of 2 in 2^64).
TEST_CASE("steering = hash: datagrams from one CPU reach both workers" * NeedsTwoCpus()) {
  const std::vector<int> cpus = UsableCpus();
  Config config = testing::TestServer::LoopbackConfig(UdpBackend::kEpoll, 2);
  testing::TestServer server(config);
  const std::vector<const LoopStats*>& stats = server.loop_stats();
  REQUIRE(stats.size() == 2);
  CHECK(ConnectsFromCpu(cpus[0], server.v4()) == kClients);
  CHECK(stats[0]->received.load() > 0);
  CHECK(stats[1]->received.load() > 0);
  CHECK(stats[0]->received.load() + stats[1]->received.load() == kClients);
  CHECK(server.Stop().ok());
}

}  // namespace
}  // namespace reef::udp
