#include "load/ws_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "load/drive_loop.h"
#include "protocol/common/rng.h"
#include "protocol/http/response_parser.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/handshake.h"
#include "protocol/ws/webtorrent.h"

namespace reef::load {
namespace {

using ws::OfferId;

constexpr size_t kReadChunk = 64 * 1024;
// A server frame larger than this is unparsable (reef's largest is a 64-hash scrape).
constexpr uint64_t kMaxServerFrame = 1 << 20;
constexpr size_t kMaxHandshakeBytes = 8192;
// Offers a connection remembers for matching answers, oldest forgotten first: hundreds
// of announces' worth, more than are ever in flight between two browsers.
constexpr size_t kRecentOffers = 1024;
constexpr size_t kMessageBuffer = 64 * 1024;

// The SDP of a browser's data-channel-only offer with one host candidate (~600 bytes):
// what a tracker forwards, sized as it is in real traffic.
constexpr std::string_view kSdpHead =
    R"({"type":"offer","sdp":"v=0\r\no=- 4611731400430051000 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0)"
    R"(\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 )"
    R"(UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2113937151 )"
    R"(9e3779b1-0000-4000-8000-000000000000.local 54321 typ host generation 0 network-cost 999)"
    R"(\r\na=ice-ufrag:9e37\r\na=ice-pwd:9e3779b19e3779b19e3779b1\r\na=fingerprint:sha-256 )"
    R"(6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CB:A0:7B:2C:6E:4A:0B:1F:63:55:E6:9E:32:1B:D4:37:F6)"
    R"(:72:5C:7D\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144)"
    R"(\r\n"})";
constexpr std::string_view kAnswerSdp =
    R"({"type":"answer","sdp":"v=0\r\no=- 4611731400430051001 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0)"
    R"(\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP )"
    R"(webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2113937151 )"
    R"(3c6ef362-0000-4000-8000-000000000000.local 54322 typ host generation 0 network-cost 999)"
    R"(\r\na=ice-ufrag:3c6e\r\na=ice-pwd:3c6ef3623c6ef3623c6ef362\r\na=fingerprint:sha-256 )"
    R"(6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CB:A0:7B:2C:6E:4A:0B:1F:63:55:E6:9E:32:1B:D4:37:F6)"
    R"(:72:5C:7D\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144)"
    R"(\r\n"})";

absl::Status Errno(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

FixedBytes<20> RandomId(Rng& rng) {
  std::array<uint8_t, 20> b;
  for (size_t i = 0; i < b.size(); i += 8) {
    const uint64_t x = rng();
    std::memcpy(b.data() + i, &x, std::min<size_t>(8, b.size() - i));
  }
  return FixedBytes<20>(b);
}

struct Outstanding {
  uint64_t sent_ns = 0;
  RequestType type = RequestType::kAnnounce;
  InfoHash info_hash;            // an announce's
  std::vector<InfoHash> hashes;  // a scrape's
};

enum class ConnState : uint8_t { kClosed, kConnecting, kHandshake, kOpen };

struct Conn {
  int fd = -1;
  uint64_t opened_ns = 0;  // when the connection was started (for the handshake timeout)
  ConnState state = ConnState::kClosed;
  bool writable_armed = false;
  std::array<char, ws::kWebSocketKeySize> key{};
  PeerId peer_id;
  std::vector<InfoHash> torrents;
  std::vector<bool> seeder;
  std::vector<bool> started;
  size_t next_torrent = 0;
  // Offers made and not yet answered: a set for matching, a ring for forgetting.
  absl::flat_hash_set<OfferId> open_offers;
  std::vector<OfferId> offer_ring;
  size_t next_offer_slot = 0;
  std::string out;
  size_t out_pos = 0;
  std::vector<uint8_t> in;
  std::vector<Outstanding> ring;  // in_flight entries
  size_t head = 0;
  size_t count = 0;
};

class WsThread {
 public:
  WsThread(const Workload& workload, int thread_index, const RunControl& control,
           ThreadStats* stats)
      : w_(workload),
        o_(workload.options()),
        c_(control),
        stats_(stats),
        rng_(Mix64(o_.seed * 0x10001 + static_cast<uint64_t>(thread_index))),
        limiter_(control.rate_per_thread, control.start_ns),
        host_(o_.target.ToString()) {}

  ~WsThread() {
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  absl::Status Open() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return Errno("epoll_create1");
    conns_.resize(static_cast<size_t>(o_.sockets_per_thread));
    for (Conn& c : conns_) c.ring.resize(static_cast<size_t>(o_.in_flight));
    read_buf_.resize(kReadChunk);
    message_.resize(kMessageBuffer);
    frame_.resize(kMessageBuffer + ws::kMaxFrameHeaderSize);
    return absl::OkStatus();
  }

  absl::Status Run() { return DriveLoop(*this, c_, limiter_); }

  template <typename C>
  friend absl::Status load::DriveLoop(C& client, const RunControl& control, RateLimiter& limiter);
  size_t busy() const { return busy_; }
  size_t capacity() const { return conns_.size() * static_cast<size_t>(o_.in_flight); }
  int epoll_fd() const { return epoll_fd_; }
  ClosedLoopBudget& closed_loop() { return fixed_window_; }
  void FillRound(uint64_t now, uint64_t* budget) {
    for (size_t k = 0; k < conns_.size() && *budget > 0; ++k) {
      Fill(conns_[(next_conn_ + k) % conns_.size()], now, budget);
    }
    next_conn_ = (next_conn_ + 1) % conns_.size();
  }
  void OnReady(const epoll_event& e) {
    Conn& c = conns_[e.data.u64];
    if (c.fd < 0) return;
    if (c.state == ConnState::kConnecting && (e.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Close(c, Failure::kIoError);
        return;
      }
      c.state = ConnState::kHandshake;
    }
    if (e.events & EPOLLOUT) Flush(c);
    if (c.fd >= 0 && (e.events & (EPOLLIN | EPOLLERR | EPOLLHUP))) Read(c);
  }

 private:
  // Opens a connection and queues its upgrade request; the peer and its torrents are new.
  bool Connect(Conn& c) {
    c.fd = socket(o_.target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c.state = ConnState::kHandshake;
    if (connect(c.fd, o_.target.sa(), o_.target.len) != 0) {
      if (errno != EINPROGRESS) {
        close(c.fd);
        c.fd = -1;
        c.state = ConnState::kClosed;
        return false;
      }
      c.state = ConnState::kConnecting;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    c.writable_armed = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);

    c.opened_ns = NowNs();
    c.peer_id = RandomId(rng_);
    c.open_offers.clear();
    c.offer_ring.clear();
    c.next_offer_slot = 0;
    c.torrents.clear();
    c.seeder.clear();
    for (int i = 0; i < o_.ws_torrents_per_connection; ++i) {
      PlannedAnnounce a;
      w_.PlanAnnounce(rng_, &a);
      if (std::find(c.torrents.begin(), c.torrents.end(), a.info_hash) != c.torrents.end()) continue;
      c.torrents.push_back(a.info_hash);
      c.seeder.push_back(a.left == 0);
    }
    c.started.assign(c.torrents.size(), false);
    c.next_torrent = 0;
    // A valid key: 16 random bytes in base64, as browsers send.
    static constexpr char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < 21; ++i) c.key[i] = kB64[rng_.Below(64)];
    c.key[21] = kB64[rng_.Below(4) * 16];  // the last 2 bits of 16 bytes are zero
    c.key[22] = '=';
    c.key[23] = '=';
    const std::string target = o_.ws_path;
    std::array<uint8_t, 1024> request;
    const WriteResult w = ws::WriteUpgradeRequest(request, host_, target,
                                                  std::string_view(c.key.data(), c.key.size()));
    c.out.assign(reinterpret_cast<const char*>(request.data()), w.ok() ? w.length() : 0);
    c.out_pos = 0;
    c.in.clear();
    return true;
  }

  void Close(Conn& c, Failure failure) {
    while (c.count > 0) {
      stats_->Failed(c.ring[c.head].type, failure);
      Pop(c);
    }
    if (c.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
    c.state = ConnState::kClosed;
    c.writable_armed = false;
    c.in.clear();
    c.out.clear();
    c.out_pos = 0;
  }

  void Pop(Conn& c) {
    c.head = (c.head + 1) % c.ring.size();
    --c.count;
    --busy_;
  }

  // Frames `json` (a masked client text frame) onto c.out.
  void Queue(Conn& c, ws::Opcode opcode, std::span<const uint8_t> payload) {
    const ws::MaskKey mask = {static_cast<uint8_t>(rng_()), static_cast<uint8_t>(rng_()),
                              static_cast<uint8_t>(rng_()), static_cast<uint8_t>(rng_())};
    const WriteResult w = ws::WriteMaskedFrame(frame_, opcode, payload, mask);
    if (w.ok()) c.out.append(reinterpret_cast<const char*>(frame_.data()), w.length());
  }
  template <typename Message>
  bool QueueMessage(Conn& c, const Message& m) {
    const WriteResult json = ws::WriteMessage(message_, m);
    if (!json.ok()) return false;
    Queue(c, ws::Opcode::kText, std::span<const uint8_t>(message_.data(), json.length()));
    return true;
  }

  void Fill(Conn& c, uint64_t now, uint64_t* budget) {
    if (c.fd < 0) {
      if (!Connect(c)) {
        const RequestType type = w_.PickType(rng_);
        stats_->Sent(type);
        stats_->Failed(type, Failure::kIoError);
        --*budget;
        return;
      }
      Flush(c);
      return;
    }
    if (c.state != ConnState::kOpen || c.torrents.empty()) return;
    while (c.count < c.ring.size() && *budget > 0) {
      Outstanding& r = c.ring[(c.head + c.count) % c.ring.size()];
      r.type = w_.PickType(rng_);
      r.sent_ns = now;
      bool queued;
      if (r.type == RequestType::kScrape) {
        PlannedScrape p;
        w_.PlanScrape(rng_, &p);
        ws::ScrapeRequest s;
        s.as_array = true;
        r.hashes.clear();
        for (int i = 0; i < p.count && s.Add(p.info_hashes[static_cast<size_t>(i)]); ++i) {
          r.hashes.push_back(p.info_hashes[static_cast<size_t>(i)]);
        }
        queued = QueueMessage(c, s);
      } else {
        r.type = RequestType::kAnnounce;
        const size_t t = c.next_torrent++ % c.torrents.size();
        ws::AnnounceRequest a;
        a.info_hash = c.torrents[t];
        a.peer_id = c.peer_id;
        a.event = c.started[t] ? ws::AnnounceEvent::kNone : ws::AnnounceEvent::kStarted;
        c.started[t] = true;
        a.left = c.seeder[t] ? 0 : 1000;
        a.uploaded = 0;
        a.downloaded = 0;
        a.numwant = static_cast<uint64_t>(o_.ws_offers);
        for (int i = 0; i < o_.ws_offers; ++i) {
          const OfferId id = RandomId(rng_);
          if (c.offer_ring.size() < kRecentOffers) {
            c.offer_ring.push_back(id);
          } else {
            OfferId& slot = c.offer_ring[c.next_offer_slot++ % kRecentOffers];
            c.open_offers.erase(slot);
            slot = id;
          }
          c.open_offers.insert(id);
          a.AddOffer({id, kSdpHead});
        }
        a.has_offers = true;
        r.info_hash = a.info_hash;
        queued = QueueMessage(c, a);
      }
      if (!queued) return;  // cannot happen with validated options
      ++c.count;
      ++busy_;
      stats_->Sent(r.type);
      --*budget;
    }
    Flush(c);
  }

  void Flush(Conn& c) {
    if (c.fd < 0 || c.state == ConnState::kConnecting) return;
    while (c.out_pos < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos,
                             MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      Close(c, Failure::kIoError);
      return;
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
    }
    const bool want = !c.out.empty();
    if (want != c.writable_armed) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      c.writable_armed = want;
    }
  }

  void Read(Conn& c) {
    bool eof = false;
    while (true) {
      const ssize_t n = recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
      if (n > 0) {
        c.in.insert(c.in.end(), read_buf_.begin(), read_buf_.begin() + n);
        if (c.in.size() > 4 * kMaxServerFrame) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;
      break;
    }
    Process(c);
    if (c.fd >= 0) Flush(c);  // answers to offers, pongs
    if (eof && c.fd >= 0) Close(c, Failure::kIoError);
  }

  void Process(Conn& c) {
    if (c.state == ConnState::kHandshake) {
      std::array<http::Header, 32> headers;
      const std::string_view text(reinterpret_cast<const char*>(c.in.data()), c.in.size());
      const auto head = http::ParseResponseHead(text, headers);
      if (head.incomplete()) {
        if (c.in.size() > kMaxHandshakeBytes) Close(c, Failure::kUnparsable);
        return;
      }
      const auto accept = head.ok() ? head.value().FindHeader("sec-websocket-accept")
                                    : std::nullopt;
      const auto want = ws::ComputeAccept(std::string_view(c.key.data(), c.key.size()));
      // No accept value to compare with (the digest failed) counts as a wrong one.
      if (!head.ok() || head.value().status != 101 || !accept || !want ||
          *accept != std::string_view(want->data(), want->size())) {
        Close(c, Failure::kErrorResponse);
        return;
      }
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(head.consumed()));
      c.state = ConnState::kOpen;
    }
    const uint64_t now = NowNs();
    size_t at = 0;
    while (c.fd >= 0 && at < c.in.size()) {
      auto frame = ws::ParseFrame(std::span<uint8_t>(c.in).subspan(at), ws::Role::kClient,
                                  ws::FrameLimits{.max_payload = kMaxServerFrame});
      if (frame.incomplete()) break;
      if (frame.failed() || !frame.value().header.fin) {
        Close(c, Failure::kUnparsable);
        return;
      }
      const ws::Frame& f = frame.value();
      at += f.header.header_length + f.payload.size();
      switch (f.header.opcode) {
        case ws::Opcode::kText:
          OnMessage(c, std::string_view(reinterpret_cast<const char*>(f.payload.data()),
                                        f.payload.size()),
                    now);
          break;
        case ws::Opcode::kPing:
          Queue(c, ws::Opcode::kPong, f.payload);
          break;
        case ws::Opcode::kPong:
          break;
        default:  // close, binary, a continuation
          Close(c, Failure::kIoError);
          return;
      }
    }
    if (c.fd >= 0) c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(at));
  }

  bool HasTorrent(const Conn& c, const InfoHash& h) const {
    return std::find(c.torrents.begin(), c.torrents.end(), h) != c.torrents.end();
  }

  void OnMessage(Conn& c, std::string_view json, uint64_t now) {
    const auto parsed = ws::ParseServerMessage(json);
    if (!parsed.ok()) {
      if (c.count > 0) {
        stats_->Failed(c.ring[c.head].type, Failure::kUnparsable);
        Pop(c);
      } else {
        stats_->Stray();
      }
      return;
    }
    const ws::ServerMessage& m = parsed.value();
    if (const auto* offer = std::get_if<ws::OfferMessage>(&m)) {
      if (!HasTorrent(c, offer->info_hash) || offer->peer_id == c.peer_id) {
        stats_->RelayImplausible();
        return;
      }
      stats_->OfferReceived();
      if (!o_.ws_answer) return;
      ws::AnnounceRequest answer;
      answer.info_hash = offer->info_hash;
      answer.peer_id = c.peer_id;
      answer.to_peer_id = offer->peer_id;
      answer.offer_id = offer->offer_id;
      answer.answer = kAnswerSdp;
      if (QueueMessage(c, answer)) stats_->AnswerSent();
      return;
    }
    if (const auto* answer = std::get_if<ws::AnswerMessage>(&m)) {
      // Each offer goes to one peer, so it is answered at most once.
      const bool ours = c.open_offers.erase(answer->offer_id) == 1;
      if (!ours || !HasTorrent(c, answer->info_hash) || answer->peer_id == c.peer_id) {
        stats_->RelayImplausible();
      } else {
        stats_->AnswerReceived();
      }
      return;
    }
    if (c.count == 0) {
      stats_->Stray();
      return;
    }
    const Outstanding& r = c.ring[c.head];
    Failure failure = Failure::kNumFailures;
    if (std::holds_alternative<ws::ErrorResponse>(m)) {
      failure = Failure::kErrorResponse;
    } else if (r.type == RequestType::kAnnounce) {
      const auto* a = std::get_if<ws::AnnounceResponse>(&m);
      if (a == nullptr) {
        failure = Failure::kWrongType;
      } else if (!(a->info_hash == r.info_hash) || a->interval == 0 ||
                 a->complete + a->incomplete < 1) {
        failure = Failure::kImplausible;
      }
    } else {
      const auto* s = std::get_if<ws::ScrapeResponse>(&m);
      if (s == nullptr) {
        failure = Failure::kWrongType;
      } else {
        std::vector<InfoHash> distinct = r.hashes;
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        if (s->files().size() > distinct.size()) failure = Failure::kImplausible;
        for (const ws::ScrapeFile& f : s->files()) {
          if (!std::binary_search(distinct.begin(), distinct.end(), f.info_hash)) {
            failure = Failure::kImplausible;
          }
        }
      }
    }
    if (failure == Failure::kNumFailures) {
      stats_->Ok(r.type, c_.InWindow(now), now - r.sent_ns, now - c_.start_ns);
    } else {
      stats_->Failed(r.type, failure);
    }
    Pop(c);
  }

  void Expire(uint64_t now, bool all) {
    for (Conn& c : conns_) {
      if (c.fd >= 0 && c.state != ConnState::kOpen && now - c.opened_ns >= c_.timeout_ns) {
        // No 101 within the timeout: counted as a failed announce, then a new connection.
        stats_->Sent(RequestType::kAnnounce);
        stats_->Failed(RequestType::kAnnounce, Failure::kTimeout);
        Close(c, Failure::kTimeout);
        continue;
      }
      if (c.count > 0 && (all || now - c.ring[c.head].sent_ns >= c_.timeout_ns)) {
        Close(c, Failure::kTimeout);
      }
    }
  }

  const Workload& w_;
  const LoadOptions& o_;
  const RunControl& c_;
  ThreadStats* stats_;
  Rng rng_;
  RateLimiter limiter_;
  ClosedLoopBudget fixed_window_{0, 0, 0};  // WebTorrent has no closed-loop mode: disabled
  std::string host_;
  int epoll_fd_ = -1;
  std::vector<Conn> conns_;
  size_t next_conn_ = 0;
  size_t busy_ = 0;
  std::vector<uint8_t> read_buf_;
  std::vector<uint8_t> message_;
  std::vector<uint8_t> frame_;
};

}  // namespace

absl::Status RunWsThread(const Workload& workload, int thread_index, const RunControl& control,
                         ThreadStats* stats) {
  WsThread t(workload, thread_index, control, stats);
  if (absl::Status s = t.Open(); !s.ok()) return s;
  return t.Run();
}

}  // namespace reef::load
