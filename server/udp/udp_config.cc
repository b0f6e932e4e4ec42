#include "server/udp/udp_config.h"

#include <errno.h>
#include <sched.h>

#include <algorithm>

#include "server/common/privileges.h"
#include "server/common/strings.h"
#include "server/swarm/swarm_config.h"

namespace reef {

std::string_view UdpBackendName(UdpBackend backend) {
  switch (backend) {
    case UdpBackend::kEpoll:
      return "epoll";
    case UdpBackend::kIoUring:
      return "io_uring";
  }
  return "unknown";
}

std::string_view UdpSteeringName(UdpSteering steering) {
  switch (steering) {
    case UdpSteering::kHash:
      return "hash";
    case UdpSteering::kCpu:
      return "cpu";
  }
  return "unknown";
}

absl::StatusOr<std::vector<int>> UdpWorkerCpus(const UdpConfig& udp) {
  if (!udp.cpu_pinning.empty() || udp.steering != UdpSteering::kCpu) return udp.cpu_pinning;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return absl::ErrnoToStatus(errno, "sched_getaffinity");
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < static_cast<size_t>(udp.socket_workers);
       ++cpu) {
    if (CPU_ISSET(static_cast<size_t>(cpu), &allowed)) cpus.push_back(cpu);
  }
  if (cpus.size() < static_cast<size_t>(udp.socket_workers)) {
    return absl::FailedPreconditionError(
        StrCat("steering = \"cpu\" puts one worker on each CPU, and this process may use ",
               CPU_COUNT(&allowed), " CPU(s), fewer than the ", udp.socket_workers,
               " socket workers"));
  }
  return cpus;
}

std::vector<SocketAddress> UdpConfig::DefaultListen() {
  // Both literals parse; the test "the defaults are the documented ones" guards that.
  return {*SocketAddress::Parse("0.0.0.0:6969"), *SocketAddress::Parse("[::]:6969")};
}

namespace {

std::optional<std::string> CheckSecret(const std::string& secret) {
  if (secret.empty()) return std::nullopt;
  if (secret.size() < kMinConnectionIdSecretLength) {
    return StrCat("must be empty (a random key) or at least ", kMinConnectionIdSecretLength,
                  " characters, got ", secret.size());
  }
  if (secret.size() > kMaxConnectionIdSecretLength) {
    return StrCat("must be at most ", kMaxConnectionIdSecretLength, " characters, got ",
                  secret.size());
  }
  return std::nullopt;
}

void CheckWorkers(const UdpConfig& udp, config::Problems& problems) {
  if (!udp.enabled) return;
  if (udp.listen.empty()) {
    problems.Add("listen", "is empty while udp.enabled is true (set enabled = false instead)");
  }
  if (!udp.cpu_pinning.empty() &&
      udp.cpu_pinning.size() != static_cast<size_t>(udp.socket_workers)) {
    problems.Add("cpu_pinning", StrCat("must be empty or list one CPU per socket worker (",
                                       udp.socket_workers, "), got ", udp.cpu_pinning.size()));
  }
  if (udp.steering == UdpSteering::kCpu) {
    std::vector<int> seen;
    for (int cpu : udp.cpu_pinning) {
      if (std::find(seen.begin(), seen.end(), cpu) != seen.end()) {
        problems.Add("cpu_pinning", StrCat("lists CPU ", cpu, " twice while udp.steering is "
                                           "\"cpu\", which needs one worker per CPU"));
        break;
      }
      seen.push_back(cpu);
    }
  }
}

// A [swarm] limit tied to the datagram size: what one BEP 15 message of `count` items
// takes, header + per_item * count bytes.
struct DatagramTie {
  std::string_view swarm_key;  // "max_scrape_hashes"
  int count;                   // its value
  int (*most_in)(int datagram_size);
  std::string_view message;  // "a scrape", "an announce reply"
  std::string_view items;    // "hashes", "IPv6 peers"
  size_t header;
  size_t per_item;
};

// A [swarm] limit UDP cannot honour would do nothing: a scrape of more hashes than a
// datagram holds never arrives, an announce reply of more peers is never sent. The limit
// itself is blamed when no datagram reef handles could hold it, the datagram size when a
// larger one could.
void CheckTie(const UdpConfig& udp, const DatagramTie& tie, config::Problems& problems) {
  const int most = tie.most_in(kMaxDatagramSize);
  if (tie.count > most) {
    problems.AddFor(
        SwarmSection().name(), tie.swarm_key,
        StrCat("must be at most ", most, " while udp.enabled is true: ", tie.message, " of more ",
               tie.items, " (", tie.header, " + ", tie.per_item, " bytes each) does not fit the ",
               kMaxDatagramSize, "-byte datagrams reef handles; got ", tie.count));
  } else if (tie.count > tie.most_in(udp.max_datagram_size)) {
    const size_t bytes = tie.header + tie.per_item * static_cast<size_t>(tie.count);
    problems.Add("max_datagram_size", StrCat("is too small for ", tie.message, " of swarm.",
                                             tie.swarm_key, " (", tie.count, " ", tie.items, ", ",
                                             bytes, " bytes), got ", udp.max_datagram_size));
  }
}

void CheckSwarmLimitsFit(const UdpConfig& udp, const SwarmConfig& swarm,
                         config::Problems& problems) {
  if (!udp.enabled) return;
  CheckTie(udp,
           {"max_scrape_hashes", swarm.max_scrape_hashes, &MaxScrapeHashesIn, "a scrape", "hashes",
            udp::kScrapeRequestHeaderSize, kInfoHashSize},
           problems);
  CheckTie(udp,
           {"max_response_peers", swarm.max_response_peers, &MaxResponsePeersIn,
            "an announce reply", "IPv6 peers", udp::kAnnounceResponseHeaderSize, udp::kPeerV6Size},
           problems);
}

void CheckCpusUsable(const UdpConfig& udp, config::Problems& problems) {
  if (!udp.enabled) return;
  for (int cpu : udp.cpu_pinning) {
    absl::Status usable = CheckCpuUsable(cpu);
    if (!usable.ok()) problems.Add("cpu_pinning", ToStd(usable.message()));
  }
  absl::StatusOr<std::vector<int>> cpus = UdpWorkerCpus(udp);
  if (!cpus.ok()) problems.Add("steering", ToStd(cpus.status().message()));
}

}  // namespace

const config::Section<UdpConfig>& UdpSection() {
  static const auto* section = [] {
    auto* s = new config::Section<UdpConfig>("udp", "The UDP tracker protocol (BEP 15).");
    s->Key("enabled", &UdpConfig::enabled, config::Bool(),
           "Serve UDP announces and scrapes. Most clients prefer UDP trackers: one round trip\n"
           "per announce once connected, and no TCP connection state on the server.");
    s->Key("listen", &UdpConfig::listen, config::SocketAddressList(kMaxListenAddresses),
           "Addresses to serve on, \"IPV4:PORT\" or \"[IPV6]:PORT\", at most 64. The default\n"
           "takes both families on 6969, the customary tracker port; each address gets its\n"
           "own sockets (IPv6 ones IPv6-only, so the two do not clash). Port 0 lets the\n"
           "kernel pick one.");
    s->Key("socket_workers", &UdpConfig::socket_workers, config::Int(1, kMaxSocketWorkers),
           "Threads that receive and answer datagrams, 1 to 256. Each has its own SO_REUSEPORT\n"
           "socket per address and the kernel spreads clients over them. One worker keeps a\n"
           "small machine responsive and is plenty for most trackers; beyond that, one worker\n"
           "per core set aside for reef.");
    s->Key("backend", &UdpConfig::backend,
           config::Enum<UdpBackend>({UdpBackend::kEpoll, UdpBackend::kIoUring}, &UdpBackendName),
           "How socket workers wait for datagrams: \"epoll\" (recvmmsg/sendmmsg batches, any\n"
           "Linux) or \"io_uring\" (multishot receives, replies handed over in one system call\n"
           "per round; Linux 6.0 or later). The two measure the same here (docs/benchmarks.md),\n"
           "so the default is epoll, which needs no io_uring in the kernel or the seccomp\n"
           "filter. If the kernel refuses io_uring, reef says so at start and exits rather than\n"
           "quietly falling back to epoll.");
    s->Key("receive_buffer_size", &UdpConfig::receive_buffer_size,
           config::Int(0, kMaxReceiveBufferSize),
           "SO_RCVBUF of each socket in bytes, up to 1 GiB; 0 keeps the kernel's default. That\n"
           "default (about 208 KiB) queues only ~190 small datagrams, so a burst overflows it\n"
           "and announces are lost; 4 MiB queues about 20 times more. The kernel caps it at\n"
           "net.core.rmem_max unless reef has CAP_NET_ADMIN.");
    s->Key("connection_id_secret", &UdpConfig::connection_id_secret, config::String(&CheckSecret),
           "Key of the connection ids (BEP 15 connect), which reef computes from the client's\n"
           "address and the time instead of storing them. Empty: a random key at each start,\n"
           "so clients reconnect after a restart (one extra round trip). Set the same secret,\n"
           "32 characters or more (openssl rand -hex 32), on instances that share an address so\n"
           "they accept each other's ids. Whoever knows it can forge ids: keep it private.");
    s->Key("error_on_bad_connection_id", &UdpConfig::error_on_bad_connection_id, config::Bool(),
           "What a request with a forged or expired connection id gets. false: nothing, so\n"
           "nobody can make reef send traffic to a spoofed address. true: a BEP 15 error\n"
           "reply, which helps debug clients but makes reef a small reflector.");
    s->Key("max_datagram_size", &UdpConfig::max_datagram_size,
           config::Int(kMinDatagramSize, kMaxDatagramSize,
                       "an error reply must fit, and reef's BEP 15 parser takes no "
                       "request longer than 1500 bytes"),
           "Largest datagram reef reads or sends, in bytes, 136 to 1500: longer requests are\n"
           "dropped, and replies are kept within it (so none is fragmented). 1500 is the most:\n"
           "the BEP 15 parser takes no longer request, since a full scrape of 74 hashes is\n"
           "1496 bytes and an announce 98 with room for BEP 41 options, and an Ethernet frame\n"
           "carries it whole. It must hold a scrape of swarm.max_scrape_hashes (16 + 20 per\n"
           "hash) and an announce reply of swarm.max_response_peers IPv6 peers (20 + 18 per\n"
           "peer); 136 holds the longest error reply.");
    s->Key("cpu_pinning", &UdpConfig::cpu_pinning,
           config::IntList(0, CPU_SETSIZE - 1, static_cast<size_t>(kMaxSocketWorkers)),
           "CPUs the socket workers run on: empty for none (the kernel schedules them), or one\n"
           "CPU number per worker (worker i on cpu_pinning[i]). Worth it on cores set aside\n"
           "for reef, with the rest of the machine kept off them.");
    s->Key("steering", &UdpConfig::steering,
           config::Enum<UdpSteering>({UdpSteering::kHash, UdpSteering::kCpu}, &UdpSteeringName),
           "Which worker gets a datagram. \"hash\": the kernel picks a worker's socket by a\n"
           "hash of the client's address and port, whatever CPU received the datagram.\n"
           "\"cpu\": each worker is pinned to a CPU (cpu_pinning, or the first CPUs reef may\n"
           "use), one per CPU, and gets the datagrams received on its CPU (a reuseport BPF\n"
           "program; SO_INCOMING_CPU), so a request is handled where the network card's\n"
           "queue delivered it, with no hand-over between CPUs. For one worker per receive\n"
           "queue (RSS) on cores set aside for reef. \"hash\" by default: on the 2-core\n"
           "loopback bench \"cpu\" was no faster (docs/benchmarks.md, \"Receiving on the\n"
           "right core\").");
    s->Check(&CheckWorkers);
    s->CheckWith(SwarmSection(), &CheckSwarmLimitsFit);
    s->CheckSystem(&CheckCpusUsable);
    return s;
  }();
  return *section;
}

}  // namespace reef
