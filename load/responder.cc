#include "load/responder.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "load/run.h"
#include "protocol/common/byte_reader.h"
#include "protocol/common/byte_writer.h"
#include "protocol/udp/messages.h"

namespace reef::load {

namespace {

// The BEP 15 wire constants come from protocol/udp; the bytes are read by hand, without
// its parser, so the ceiling does as little as a responder can.
constexpr uint32_t kActionConnect = static_cast<uint32_t>(udp::Action::kConnect);
constexpr uint32_t kActionAnnounce = static_cast<uint32_t>(udp::Action::kAnnounce);
constexpr uint32_t kActionScrape = static_cast<uint32_t>(udp::Action::kScrape);
constexpr size_t kNumWantOffset = 92;  // in an announce request
constexpr size_t kReplyBufferSize = 1500;
constexpr int kReceiveBufferBytes = 4 << 20;

}  // namespace

size_t NullReply(std::span<const uint8_t> request, bool v6, int peers, std::span<uint8_t> out) {
  ByteReader in(request);
  uint64_t connection_id = 0;
  uint32_t action = 0;
  uint32_t transaction_id = 0;
  if (!in.ReadU64Be(&connection_id) || !in.ReadU32Be(&action) || !in.ReadU32Be(&transaction_id)) {
    return 0;
  }
  ByteWriter w(out);
  switch (action) {
    case kActionConnect:
      if (connection_id != udp::kProtocolId) return 0;
      w.WriteU32Be(kActionConnect);
      w.WriteU32Be(transaction_id);
      w.WriteU64Be(kNullConnectionId);
      break;
    case kActionAnnounce: {
      if (request.size() < udp::kAnnounceRequestSize) return 0;
      ByteReader num_want_reader(request.subspan(kNumWantOffset, 4));
      int32_t num_want = -1;
      if (!num_want_reader.ReadI32Be(&num_want)) return 0;
      int count = peers;
      if (num_want >= 0 && num_want < count) count = num_want;
      w.WriteU32Be(kActionAnnounce);
      w.WriteU32Be(transaction_id);
      w.WriteI32Be(kNullInterval);
      w.WriteI32Be(count);  // leechers: as many as the peers we name
      w.WriteI32Be(0);      // seeders
      for (int i = 0; i < count; ++i) {
        if (v6) {
          static constexpr uint8_t kV6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
          w.WriteBytes(kV6);
        } else {
          static constexpr uint8_t kV4[4] = {127, 0, 0, 1};
          w.WriteBytes(kV4);
        }
        w.WriteU16Be(static_cast<uint16_t>(6881 + i));
      }
      break;
    }
    case kActionScrape: {
      const size_t hashes_bytes = request.size() - udp::kScrapeRequestHeaderSize;
      const size_t n = hashes_bytes / kInfoHashSize;
      if (hashes_bytes % kInfoHashSize != 0 || n == 0 || n > udp::kMaxScrapeHashes) return 0;
      w.WriteU32Be(kActionScrape);
      w.WriteU32Be(transaction_id);
      for (size_t i = 0; i < n; ++i) {
        w.WriteI32Be(0);
        w.WriteI32Be(0);
        w.WriteI32Be(0);
      }
      break;
    }
    default:
      return 0;
  }
  return w.ok() ? w.written() : 0;
}

absl::StatusOr<std::unique_ptr<NullResponder>> NullResponder::Bind(const Endpoint& bind,
                                                                   int peers) {
  if (peers < 0 || peers > kMaxNullPeers) {
    return absl::InvalidArgumentError(absl::StrCat("peers must be in 0..", kMaxNullPeers));
  }
  const int fd = socket(bind.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  int rcvbuf = kReceiveBufferBytes;
  // Best effort: the kernel caps it at rmem_max.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
  timeval tv{0, kPollMs * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      ::bind(fd, bind.sa(), bind.len) != 0) {
    absl::Status s = ErrnoError(absl::StrCat("bind ", bind.ToString()));
    close(fd);
    return s;
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    absl::Status s = ErrnoError("getsockname");
    close(fd);
    return s;
  }
  return std::unique_ptr<NullResponder>(new NullResponder(
      fd, Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len), peers));
}

NullResponder::~NullResponder() { close(fd_); }

absl::Status NullResponder::Serve(const std::atomic<bool>& stop, uint64_t deadline_ns) {
  struct Slot {
    std::array<uint8_t, 2048> in;
    std::array<uint8_t, kReplyBufferSize> out;
    sockaddr_storage from;
    iovec in_iov;
    iovec out_iov;
  };
  auto slots = std::make_unique<std::array<Slot, kBatch>>();
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<mmsghdr, kBatch> out_msgs{};
  const bool v6 = local_.is_v6();
  while (!stop.load(std::memory_order_relaxed) && NowNs() < deadline_ns) {
    for (int i = 0; i < kBatch; ++i) {
      Slot& s = (*slots)[static_cast<size_t>(i)];
      s.in_iov = {s.in.data(), s.in.size()};
      in_msgs[static_cast<size_t>(i)].msg_hdr = {};
      in_msgs[static_cast<size_t>(i)].msg_hdr.msg_name = &s.from;
      in_msgs[static_cast<size_t>(i)].msg_hdr.msg_namelen = sizeof(s.from);
      in_msgs[static_cast<size_t>(i)].msg_hdr.msg_iov = &s.in_iov;
      in_msgs[static_cast<size_t>(i)].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd_, in_msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return ErrnoError("recvmmsg");
    }
    unsigned replies = 0;
    for (int i = 0; i < n; ++i) {
      Slot& s = (*slots)[static_cast<size_t>(i)];
      const mmsghdr& m = in_msgs[static_cast<size_t>(i)];
      const size_t len = NullReply(std::span<const uint8_t>(s.in.data(), m.msg_len), v6, peers_,
                                   s.out);
      if (len == 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      s.out_iov = {s.out.data(), len};
      mmsghdr& o = out_msgs[replies++];
      o.msg_hdr = {};
      o.msg_hdr.msg_name = &s.from;
      o.msg_hdr.msg_namelen = m.msg_hdr.msg_namelen;
      o.msg_hdr.msg_iov = &s.out_iov;
      o.msg_hdr.msg_iovlen = 1;
    }
    unsigned sent = 0;
    while (sent < replies) {
      const int k = sendmmsg(fd_, out_msgs.data() + sent, replies - sent, 0);
      if (k < 0) {
        if (errno == EINTR) continue;
        // A full send buffer or an unreachable peer: the rest of the batch is lost, as a
        // real tracker's would be. Count it and go on.
        dropped_.fetch_add(replies - sent, std::memory_order_relaxed);
        break;
      }
      sent += static_cast<unsigned>(k);
    }
    answered_.fetch_add(sent, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

}  // namespace reef::load
