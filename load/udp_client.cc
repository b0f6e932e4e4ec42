#include "load/udp_client.h"

#include "load/drive_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/rng.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"

namespace reef::load {

bool PlausibleAnnounce(const udp::AnnounceResponse& r, int32_t num_want,
                       int max_plausible_peers, bool loopback) {
  if (r.interval <= 0 || r.leechers < 0 || r.seeders < 0) return false;
  const size_t peers = r.peers.size();
  if (peers > static_cast<size_t>(max_plausible_peers)) return false;
  if (num_want >= 0 && peers > static_cast<size_t>(num_want)) return false;
  if (peers > static_cast<size_t>(r.leechers) + static_cast<size_t>(r.seeders)) return false;
  if (loopback) {
    for (size_t i = 0; i < peers; ++i) {
      const udp::Peer p = r.peers[i];
      if (p.port == 0 || !IsLoopbackPeer(p.address())) return false;
    }
  }
  return true;
}

namespace {

constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
constexpr size_t kDatagramSize = 1500;  // the largest request (a 74-hash scrape) fits
constexpr size_t kReceiveSize = 65536;  // the largest response udp::ParseResponse accepts fits

struct Slot {
  uint64_t sent_ns = 0;
  uint32_t tid = 0;
  int32_t num_want = -1;
  RequestType type = RequestType::kConnect;
  uint8_t scrape_count = 0;
  bool busy = false;
};

struct Socket {
  int fd = -1;
  uint64_t connection_id = 0;
  uint64_t id_time_ns = 0;
  bool have_id = false;
  bool connect_pending = false;
  std::vector<Slot> slots;
  std::vector<uint16_t> free;  // indices of idle slots
};

class UdpThread : public LoadThread {
 public:
  UdpThread(const Workload& workload, int thread_index, const RunControl& control,
            ThreadStats* stats)
      : LoadThread(workload, thread_index, control, stats),
        family_(o_.target.is_v6() ? udp::IpFamily::kV6 : udp::IpFamily::kV4) {}

  ~UdpThread() {
    for (Socket& s : sockets_) {
      if (s.fd >= 0) close(s.fd);
    }
  }

  absl::Status Open() {
    if (absl::Status s = OpenEpoll(); !s.ok()) return s;
    sockets_.resize(static_cast<size_t>(o_.sockets_per_thread));
    for (size_t i = 0; i < sockets_.size(); ++i) {
      Socket& s = sockets_[i];
      s.fd = socket(o_.target.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0) return ErrnoError("socket");
      int size = kUdpReceiveBuffer;
      setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));  // best effort
      if (connect(s.fd, o_.target.sa(), o_.target.len) != 0) {
        return ErrnoError(absl::StrCat("connect ", o_.target.ToString()));
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd, &ev) != 0) return ErrnoError("epoll_ctl");
      const int slots = o_.SlotsPerSocket();
      s.slots.resize(static_cast<size_t>(slots));
      for (int k = slots - 1; k >= 0; --k) s.free.push_back(static_cast<uint16_t>(k));
    }
    out_bufs_.resize(kUdpBatch);
    in_bufs_.resize(kUdpBatch);
    return absl::OkStatus();
  }

  // DriveLoop's client interface, with LoadThread's.
  void FillRound(uint64_t now, uint64_t* budget) {
    FillRoundRobin(sockets_, budget, [&](Socket& s, uint64_t* b) { Fill(s, now, b); });
  }
  void OnReady(const epoll_event& event) { Receive(sockets_[event.data.u64]); }

  // Every outstanding request older than the timeout (or every one, if `all`) times out.
  void Expire(uint64_t now, bool all) {
    if (busy_ == 0) return;
    for (Socket& s : sockets_) {
      for (uint32_t i = 0; i < s.slots.size(); ++i) {
        Slot& slot = s.slots[i];
        if (slot.busy && (all || now - slot.sent_ns >= c_.timeout_ns)) {
          stats_->Failed(slot.type, Failure::kTimeout);
          Release(s, i);
        }
      }
    }
  }

 private:
  void Release(Socket& s, uint32_t index) {
    Slot& slot = s.slots[index];
    if (slot.type == RequestType::kConnect) s.connect_pending = false;
    slot.busy = false;
    s.free.push_back(static_cast<uint16_t>(index));
    --busy_;
  }

  // Puts as many requests on `s` as its free slots, the batch and `budget` allow.
  void Fill(Socket& s, uint64_t now, uint64_t* budget) {
    if (s.free.empty() || (!s.have_id && s.connect_pending)) return;
    const bool need_id = !s.have_id || now - s.id_time_ns >= kConnectionIdRefreshNs;
    std::array<mmsghdr, kUdpBatch> msgs;
    std::array<iovec, kUdpBatch> iovs;
    std::array<uint16_t, kUdpBatch> used;
    int n = 0;
    while (n < kUdpBatch && !s.free.empty() && *budget > 0) {
      RequestType type;
      if (need_id && !s.connect_pending) {
        type = RequestType::kConnect;
      } else if (!s.have_id) {
        break;  // wait for the connection id
      } else {
        type = w_.PickType(rng_);
      }
      const uint16_t index = s.free.back();
      const uint32_t tid = (rng_.Next32() & ~kSlotMask) | index;
      std::span<uint8_t> buf(out_bufs_[static_cast<size_t>(n)]);
      Slot& slot = s.slots[index];
      WriteResult written = WriteResult::Fail(WriteError::kInvalidValue);
      switch (type) {
        case RequestType::kConnect:
          written = udp::WriteConnectRequest({tid}, buf);
          s.connect_pending = true;
          break;
        case RequestType::kAnnounce: {
          PlannedAnnounce a;
          w_.PlanAnnounce(rng_, &a);
          udp::AnnounceRequest r;
          r.connection_id = s.connection_id;
          r.transaction_id = tid;
          r.info_hash = a.info_hash;
          r.peer_id = a.peer_id;
          r.downloaded = a.downloaded;
          r.left = a.left;
          r.uploaded = a.uploaded;
          r.event = static_cast<udp::AnnounceEvent>(a.event);
          r.key = a.key;
          r.num_want = a.num_want;
          r.port = a.port;
          slot.num_want = a.num_want;
          written = udp::WriteAnnounceRequest(r, buf);
          break;
        }
        case RequestType::kScrape: {
          PlannedScrape p;
          w_.PlanScrape(rng_, &p);
          slot.scrape_count = static_cast<uint8_t>(p.count);
          written = udp::WriteScrapeRequest(
              s.connection_id, tid,
              std::span<const InfoHash>(p.info_hashes.data(), static_cast<size_t>(p.count)), buf);
          break;
        }
        case RequestType::kNumTypes:
          break;
      }
      if (!written.ok()) break;  // cannot happen with valid options; never send garbage
      s.free.pop_back();
      ++busy_;
      slot.busy = true;
      slot.tid = tid;
      slot.type = type;
      slot.sent_ns = now;
      iovs[static_cast<size_t>(n)] = {buf.data(), written.length()};
      msgs[static_cast<size_t>(n)] = {};
      msgs[static_cast<size_t>(n)].msg_hdr.msg_iov = &iovs[static_cast<size_t>(n)];
      msgs[static_cast<size_t>(n)].msg_hdr.msg_iovlen = 1;
      used[static_cast<size_t>(n)] = index;
      ++n;
      --*budget;
    }
    int sent = 0;
    while (sent < n) {
      const int k = sendmmsg(s.fd, msgs.data() + sent, static_cast<unsigned>(n - sent), 0);
      if (k > 0) {
        for (int i = sent; i < sent + k; ++i) {
          stats_->Sent(s.slots[used[static_cast<size_t>(i)]].type);
        }
        sent += k;
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      const bool full = k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS);
      // Unsent: a full socket buffer takes them back untried; any other error (such as
      // ECONNREFUSED after an ICMP port unreachable) is the request's outcome.
      for (int i = sent; i < n; ++i) {
        const uint16_t index = used[static_cast<size_t>(i)];
        if (full) {
          *budget += 1;
        } else {
          stats_->Sent(s.slots[index].type);
          stats_->Failed(s.slots[index].type, Failure::kIoError);
        }
        Release(s, index);
      }
      break;
    }
  }

  void Receive(Socket& s) {
    std::array<mmsghdr, kUdpBatch> msgs;
    std::array<iovec, kUdpBatch> iovs;
    while (true) {
      for (size_t i = 0; i < kUdpBatch; ++i) {
        iovs[i] = {in_bufs_[i].data(), in_bufs_[i].size()};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(s.fd, msgs.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;  // EAGAIN, or an ICMP error the send side will see
      const uint64_t now = NowNs();
      for (int i = 0; i < n; ++i) {
        const size_t k = static_cast<size_t>(i);
        Handle(s, std::span<const uint8_t>(in_bufs_[k].data(), msgs[k].msg_len), now);
      }
      if (n < kUdpBatch) return;
    }
  }

  void Handle(Socket& s, std::span<const uint8_t> datagram, uint64_t now) {
    const udp::ResponseResult r = udp::ParseResponse(datagram, family_);
    if (!r.has_transaction_id()) {
      stats_->Stray();
      return;
    }
    const uint32_t tid = r.transaction_id();
    const uint32_t index = tid & kSlotMask;
    if (index >= s.slots.size() || !s.slots[index].busy || s.slots[index].tid != tid) {
      stats_->Stray();
      return;
    }
    Slot& slot = s.slots[index];
    const RequestType type = slot.type;
    const bool in_window = c_.InWindow(now);
    const uint64_t latency = now - slot.sent_ns;
    if (r.failed()) {
      stats_->Failed(type, Failure::kUnparsable);
    } else if (std::holds_alternative<udp::ErrorResponse>(r.value())) {
      stats_->Failed(type, Failure::kErrorResponse);
    } else if (const auto* c = std::get_if<udp::ConnectResponse>(&r.value())) {
      if (type == RequestType::kConnect) {
        s.connection_id = c->connection_id;
        s.id_time_ns = now;
        s.have_id = true;
        stats_->Ok(type, in_window, latency, now - c_.start_ns);
      } else {
        stats_->Failed(type, Failure::kWrongType);
      }
    } else if (const auto* a = std::get_if<udp::AnnounceResponse>(&r.value())) {
      if (type != RequestType::kAnnounce) {
        stats_->Failed(type, Failure::kWrongType);
      } else if (!PlausibleAnnounce(*a, slot.num_want, o_.max_plausible_peers, loopback_)) {
        stats_->Failed(type, Failure::kImplausible);
      } else {
        stats_->Ok(type, in_window, latency, now - c_.start_ns);
        stats_->PeersReceived(a->peers.size());
      }
    } else if (const auto* sc = std::get_if<udp::ScrapeResponse>(&r.value())) {
      bool plausible = sc->stats.size() == slot.scrape_count;
      for (const udp::TorrentStats& t : sc->stats) {
        plausible = plausible && t.seeders >= 0 && t.completed >= 0 && t.leechers >= 0;
      }
      if (type != RequestType::kScrape) {
        stats_->Failed(type, Failure::kWrongType);
      } else if (!plausible) {
        stats_->Failed(type, Failure::kImplausible);
      } else {
        stats_->Ok(type, in_window, latency, now - c_.start_ns);
      }
    }
    Release(s, index);
    closed_loop_.Answered(rng_, busy_, stats_);
  }

  const udp::IpFamily family_;
  std::vector<Socket> sockets_;
  std::vector<std::array<uint8_t, kDatagramSize>> out_bufs_;
  std::vector<std::array<uint8_t, kReceiveSize>> in_bufs_;
};

}  // namespace

absl::Status RunUdpThread(const Workload& workload, int thread_index, const RunControl& control,
                          ThreadStats* stats) {
  return RunLoadThread<UdpThread>(workload, thread_index, control, stats);
}

}  // namespace reef::load
