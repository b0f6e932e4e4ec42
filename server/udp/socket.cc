#include "server/udp/socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>

#include "absl/strings/str_cat.h"

namespace reef::udp {

absl::StatusOr<OpenedSocket> OpenUdpSocket(const SocketAddress& address,
                                           const SocketOptions& options) {
  const std::string where = address.ToString();
  const bool v6 = address.family() == AF_INET6;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("socket for ", where));
  auto fail = [&](const char* what) {
    const int saved = errno;
    close(fd);
    return absl::ErrnoToStatus(saved, absl::StrCat(what, " on ", where));
  };
  const int one = 1;
  if (options.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail("SO_REUSEPORT");
  }
  if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return fail("IPV6_V6ONLY");
  }
  if (options.receive_buffer_bytes > 0) {
    const int wanted = static_cast<int>(std::min<size_t>(options.receive_buffer_bytes, INT_MAX / 2));
    // SO_RCVBUFFORCE passes net.core.rmem_max when we are privileged; otherwise the
    // kernel caps SO_RCVBUF there, which is still better than the default.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof(wanted)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof(wanted)) != 0) {
      return fail("SO_RCVBUF");
    }
  }
  if (options.incoming_cpu >= 0 && setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU,
                                              &options.incoming_cpu,
                                              sizeof(options.incoming_cpu)) != 0) {
    return fail("SO_INCOMING_CPU");
  }
  if (bind(fd, address.sockaddr_ptr(), address.sockaddr_len()) != 0) return fail("bind");
  OpenedSocket out;
  out.fd = fd;
  int granted = 0;
  socklen_t length = sizeof(granted);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) == 0 && granted > 0) {
    // Linux reports twice what it counts against the limit (bookkeeping overhead).
    out.receive_buffer_bytes = static_cast<size_t>(granted) / 2;
  }
  return out;
}

absl::StatusOr<SocketAddress> BoundAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  if (address.ss_family == AF_INET) {
    return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr_in&>(address));
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr_in6&>(address));
}

std::vector<sock_filter> CpuSteeringProgram(std::span<const int> cpus) {
  std::vector<sock_filter> program;
  program.reserve(2 * cpus.size() + 2);
  // A = the CPU this datagram is being received on.
  constexpr auto kCpuOffset = static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_CPU);
  program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kCpuOffset));
  for (size_t i = 0; i < cpus.size(); ++i) {
    // A == cpus[i]: the next instruction returns i; else skip it.
    program.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(cpus[i]), 0, 1));
    program.push_back(BPF_STMT(BPF_RET | BPF_K, static_cast<uint32_t>(i)));
  }
  // Out of range: the kernel falls back to its hash.
  program.push_back(BPF_STMT(BPF_RET | BPF_K, static_cast<uint32_t>(cpus.size())));
  return program;
}

absl::Status SteerByCpu(int fd, std::span<const int> cpus) {
  if (cpus.empty() || cpus.size() > kMaxSteeredSockets) {
    return absl::InvalidArgumentError(absl::StrCat("steering by CPU takes 1 to ",
                                                   kMaxSteeredSockets, " sockets, got ",
                                                   cpus.size()));
  }
  std::vector<sock_filter> program = CpuSteeringProgram(cpus);
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = program.data();
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog)) != 0) {
    return absl::ErrnoToStatus(errno, "SO_ATTACH_REUSEPORT_CBPF");
  }
  return absl::OkStatus();
}

}  // namespace reef::udp
