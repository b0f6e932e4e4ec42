#include "load/http_client.h"

#include "load/drive_loop.h"
#include "load/tls_client.h"

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
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/rng.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response_parser.h"

namespace reef::load {

HttpCheck CheckHttpAnnounce(int status, std::string_view body, bool v6, int32_t num_want,
                            int max_plausible_peers, bool loopback) {
  if (status != 200) return {false, Failure::kErrorResponse};
  const auto r = http::ParseAnnounceResponse(body);
  if (!r.ok()) return {false, Failure::kUnparsable};
  const http::AnnounceResponseView& v = r.value();
  if (v.failure_reason) return {false, Failure::kErrorResponse};
  if (!v.interval || *v.interval <= 0) return {false, Failure::kImplausible};
  if ((v.complete && *v.complete < 0) || (v.incomplete && *v.incomplete < 0)) {
    return {false, Failure::kImplausible};
  }
  if (v6 ? !v.peers.empty() : !v.peers6.empty()) return {false, Failure::kImplausible};
  const size_t count = v.peer_count();
  if (count > static_cast<size_t>(max_plausible_peers) ||
      (num_want >= 0 && count > static_cast<size_t>(num_want))) {
    return {false, Failure::kImplausible};
  }
  if (v.complete && v.incomplete &&
      count > static_cast<uint64_t>(*v.complete) + static_cast<uint64_t>(*v.incomplete)) {
    return {false, Failure::kImplausible};
  }
  if (loopback) {
    http::PeerCursor cursor(v);
    http::ParsedPeer peer;
    while (cursor.Next(&peer)) {
      if (peer.port == 0 || !peer.address || !IsLoopbackPeer(peer.address->view())) {
        return {false, Failure::kImplausible};
      }
    }
  }
  return {true, Failure::kNumFailures, count};
}

HttpCheck CheckHttpScrape(int status, std::string_view body,
                          std::span<const InfoHash> requested) {
  if (status != 200) return {false, Failure::kErrorResponse};
  const auto r = http::ParseScrapeResponse(body);
  if (!r.ok()) return {false, Failure::kUnparsable};
  if (r.value().failure_reason) return {false, Failure::kErrorResponse};
  std::array<InfoHash, kMaxScrapeHashes> wanted;
  const size_t n = std::min(requested.size(), wanted.size());
  std::copy_n(requested.begin(), n, wanted.begin());
  std::sort(wanted.begin(), wanted.begin() + static_cast<ptrdiff_t>(n));
  const size_t distinct = static_cast<size_t>(
      std::unique(wanted.begin(), wanted.begin() + static_cast<ptrdiff_t>(n)) - wanted.begin());
  // A tracker may leave out torrents it does not know (opentracker does), never add one.
  if (r.value().file_count > distinct) return {false, Failure::kImplausible};
  http::ScrapeFileCursor cursor(r.value());
  http::ScrapeFile file;
  size_t seen = 0;
  while (cursor.Next(&file)) {
    ++seen;
    if (!std::binary_search(wanted.begin(), wanted.begin() + static_cast<ptrdiff_t>(distinct),
                            file.info_hash) ||
        file.stats.complete < 0 || file.stats.incomplete < 0 || file.stats.downloaded < 0) {
      return {false, Failure::kImplausible};
    }
  }
  if (seen != r.value().file_count) return {false, Failure::kImplausible};
  return {true, Failure::kNumFailures};
}

namespace {

constexpr size_t kRequestBufferSize = 8192;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxHeaders = 32;

struct Outstanding {
  uint64_t sent_ns = 0;
  RequestType type = RequestType::kAnnounce;
  int32_t num_want = -1;
  std::vector<InfoHash> hashes;  // a scrape's
};

struct Conn {
  int fd = -1;
  bool connecting = false;
  std::unique_ptr<TlsStream> tls;  // HTTPS: the TLS stream over fd
  bool closing = false;  // the server said Connection: close; no new requests
  bool writable_armed = false;
  std::string out;
  size_t out_pos = 0;
  std::string in;
  std::vector<Outstanding> ring;  // in_flight entries
  size_t head = 0;
  size_t count = 0;
};

class HttpThread : public LoadThread {
 public:
  HttpThread(const Workload& workload, int thread_index, const RunControl& control,
             ThreadStats* stats)
      : LoadThread(workload, thread_index, control, stats), host_(o_.target.ToString()) {}

  ~HttpThread() {
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
  }

  absl::Status Open() {
    if (absl::Status s = OpenEpoll(); !s.ok()) return s;
    conns_.resize(static_cast<size_t>(o_.sockets_per_thread));
    for (Conn& c : conns_) {
      c.ring.resize(static_cast<size_t>(o_.in_flight));
      for (Outstanding& r : c.ring) r.hashes.reserve(static_cast<size_t>(o_.scrape_hashes));
    }
    read_buf_.resize(kReadChunk);
    if (o_.protocol == Protocol::kHttps) {
      absl::StatusOr<std::unique_ptr<TlsClientContext>> tls = TlsClientContext::Create(o_.tls_resume);
      if (!tls.ok()) return tls.status();
      tls_ = std::move(*tls);
    }
    return absl::OkStatus();
  }

  // DriveLoop's client interface, with LoadThread's.
  void FillRound(uint64_t now, uint64_t* budget) {
    FillRoundRobin(conns_, budget, [&](Conn& c, uint64_t* b) { Fill(c, now, b); });
  }
  void OnReady(const epoll_event& e) {
    Conn& c = conns_[e.data.u64];
    if (c.fd < 0) return;
    if (c.connecting && (e.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Close(c, Failure::kIoError);
        return;
      }
      c.connecting = false;
      if (tls_ != nullptr && !StartTls(c)) return;
    }
    if (c.tls != nullptr && !c.tls->handshake_done()) {
      if (!AdvanceHandshake(c)) return;
    }
    if (e.events & EPOLLOUT) Flush(c);
    if (c.fd >= 0 && (e.events & (EPOLLIN | EPOLLERR | EPOLLHUP))) Read(c);
  }

  // A connection whose oldest request is older than the timeout (or every connection
  // with a request, if `all`) closes, its requests timed out.
  void Expire(uint64_t now, bool all) {
    if (busy_ == 0) return;
    for (Conn& c : conns_) {
      if (c.count > 0 && (all || now - c.ring[c.head].sent_ns >= c_.timeout_ns)) {
        Close(c, Failure::kTimeout);
      }
    }
  }

 private:
  bool Connect(Conn& c) {
    c.fd = socket(o_.target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c.connecting = false;
    if (connect(c.fd, o_.target.sa(), o_.target.len) != 0) {
      if (errno != EINPROGRESS) {
        close(c.fd);
        c.fd = -1;
        return false;
      }
      c.connecting = true;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (c.connecting ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    c.writable_armed = c.connecting;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.closing = false;
    c.in.clear();
    c.out.clear();
    c.out_pos = 0;
    // Connected at once (it happens on loopback): the TLS handshake starts now.
    if (!c.connecting && tls_ != nullptr) StartTls(c);
    return c.fd >= 0;
  }

  // HTTPS: a TLS stream over the connected socket, and the first handshake step. False if
  // the connection closed.
  bool StartTls(Conn& c) {
    c.tls = TlsStream::Start(*tls_, c.fd);
    if (c.tls == nullptr) {
      Close(c, Failure::kIoError);
      return false;
    }
    return AdvanceHandshake(c);
  }

  // True once the handshake is done (requests then go out); false while it waits for the
  // socket, or if it failed (the connection closed).
  bool AdvanceHandshake(Conn& c) {
    switch (c.tls->Handshake()) {
      case TlsStream::Io::kOk:
        Flush(c);
        return c.fd >= 0;
      case TlsStream::Io::kWantRead:
        Arm(c, false);
        return false;
      case TlsStream::Io::kWantWrite:
        Arm(c, true);
        return false;
      case TlsStream::Io::kClosed:
      case TlsStream::Io::kError:
        break;
    }
    Close(c, Failure::kIoError);
    return false;
  }

  // Whether requests can be written: connected and, under TLS, past the handshake.
  static bool Ready(const Conn& c) {
    return c.fd >= 0 && !c.connecting && (c.tls == nullptr || c.tls->handshake_done());
  }

  void Arm(Conn& c, bool writable) {
    if (writable == c.writable_armed) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (writable ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.writable_armed = writable;
  }

  // Every outstanding request on `c` ends as `failure`; the connection closes.
  void Close(Conn& c, Failure failure) {
    while (c.count > 0) {
      stats_->Failed(c.ring[c.head].type, failure);
      Pop(c);
    }
    c.tls.reset();  // before its socket closes
    if (c.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
    c.connecting = false;
    c.closing = false;
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

  void Fill(Conn& c, uint64_t now, uint64_t* budget) {
    const size_t limit = o_.keep_alive ? c.ring.size() : 1;
    while (c.count < limit && *budget > 0 && !c.closing) {
      if (c.fd < 0 && !Connect(c)) {
        // Could not even start a connection: the request fails as an io_error.
        const RequestType type = w_.PickType(rng_);
        stats_->Sent(type);
        stats_->Failed(type, Failure::kIoError);
        --*budget;
        return;
      }
      Outstanding& r = c.ring[(c.head + c.count) % c.ring.size()];
      r.type = w_.PickType(rng_);
      r.sent_ns = now;
      http::RequestOptions ro;
      ro.host = host_;
      ro.user_agent = "reef_load";
      ro.keep_alive = o_.keep_alive;
      WriteResult written = WriteResult::Fail(WriteError::kInvalidValue);
      if (r.type == RequestType::kScrape) {
        PlannedScrape p;
        w_.PlanScrape(rng_, &p);
        r.hashes.assign(p.info_hashes.begin(), p.info_hashes.begin() + p.count);
        ro.path = o_.scrape_path;
        written = http::WriteScrapeRequest(r.hashes, ro, request_buf_);
      } else {
        PlannedAnnounce a;
        w_.PlanAnnounce(rng_, &a);
        http::AnnounceRequest q;
        q.info_hash = a.info_hash;
        q.peer_id = a.peer_id;
        q.port = a.port;
        q.uploaded = static_cast<uint64_t>(a.uploaded);
        q.downloaded = static_cast<uint64_t>(a.downloaded);
        q.left = static_cast<uint64_t>(a.left);
        switch (a.event) {
          case Event::kNone:
            q.event = http::Event::kNone;
            break;
          case Event::kStarted:
            q.event = http::Event::kStarted;
            break;
          case Event::kStopped:
            q.event = http::Event::kStopped;
            break;
          case Event::kCompleted:
            q.event = http::Event::kCompleted;
            break;
        }
        q.compact = true;
        if (a.num_want >= 0) q.numwant = static_cast<uint32_t>(a.num_want);
        std::array<char, 8> key{};
        constexpr char kHex[] = "0123456789abcdef";
        for (size_t i = 0; i < key.size(); ++i) key[i] = kHex[(a.key >> (28 - 4 * i)) & 0xf];
        q.key = std::string_view(key.data(), key.size());
        r.num_want = a.num_want;
        ro.path = o_.announce_path;
        written = http::WriteAnnounceRequest(q, ro, request_buf_);
      }
      if (!written.ok()) return;  // cannot happen with validated options
      c.out.append(reinterpret_cast<const char*>(request_buf_.data()), written.length());
      ++c.count;
      ++busy_;
      stats_->Sent(r.type);
      --*budget;
    }
    if (Ready(c)) Flush(c);
  }

  void Flush(Conn& c) {
    if (!Ready(c)) return;
    while (c.out_pos < c.out.size()) {
      if (c.tls != nullptr) {
        size_t written = 0;
        const TlsStream::Io io =
            c.tls->Write(c.out.data() + c.out_pos, c.out.size() - c.out_pos, &written);
        if (io == TlsStream::Io::kOk) {
          c.out_pos += written;
          continue;
        }
        if (io == TlsStream::Io::kWantRead || io == TlsStream::Io::kWantWrite) break;
        Close(c, Failure::kIoError);
        return;
      }
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
    Arm(c, !c.out.empty());
  }

  void Read(Conn& c) {
    bool eof = false;
    while (c.tls != nullptr) {
      if (!c.tls->handshake_done()) return;
      size_t n = 0;
      const TlsStream::Io io = c.tls->Read(read_buf_.data(), read_buf_.size(), &n);
      if (io == TlsStream::Io::kOk) {
        c.in.append(read_buf_.data(), n);
        if (c.in.size() > kMaxHttpResponseBytes * 2) break;
        continue;
      }
      if (io == TlsStream::Io::kWantRead || io == TlsStream::Io::kWantWrite) break;
      eof = true;  // close_notify, a reset, or broken records
      break;
    }
    while (c.tls == nullptr) {
      const ssize_t n = recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
      if (n > 0) {
        c.in.append(read_buf_.data(), static_cast<size_t>(n));
        if (c.in.size() > kMaxHttpResponseBytes * 2) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // 0, or an error such as ECONNRESET
      break;
    }
    Process(c, eof);
  }

  // Takes every whole answer off the front of c.in.
  void Process(Conn& c, bool eof) {
    const uint64_t now = NowNs();
    while (!c.in.empty() || (eof && c.count > 0)) {
      if (c.count == 0) {
        stats_->Stray();
        Close(c, Failure::kIoError);
        return;
      }
      std::array<http::Header, kMaxHeaders> headers;
      const auto head = http::ParseResponseHead(c.in, headers);
      if (head.incomplete()) {
        if (c.in.size() > kMaxHttpResponseBytes) {
          Answer(c, now, {false, Failure::kUnparsable});
          Close(c, Failure::kIoError);
          return;
        }
        if (eof) Close(c, c.in.empty() ? Failure::kIoError : Failure::kUnparsable);
        return;
      }
      if (head.failed()) {
        Answer(c, now, {false, Failure::kUnparsable});
        Close(c, Failure::kIoError);
        return;
      }
      const http::ResponseHead& h = head.value();
      const size_t body_start = head.consumed();
      size_t body_len = 0;
      if (h.content_length) {
        if (*h.content_length > kMaxHttpResponseBytes) {
          Answer(c, now, {false, Failure::kUnparsable});
          Close(c, Failure::kIoError);
          return;
        }
        body_len = static_cast<size_t>(*h.content_length);
        if (c.in.size() - body_start < body_len) {
          if (eof) Close(c, Failure::kUnparsable);
          return;
        }
      } else if (!h.keep_alive && eof) {
        body_len = c.in.size() - body_start;  // the body runs to the end
      } else if (!h.keep_alive) {
        return;  // wait for the end
      } else {
        // Keep-alive without a length (chunked, say): cannot be framed.
        Answer(c, now, {false, Failure::kUnparsable});
        Close(c, Failure::kIoError);
        return;
      }
      const std::string_view body = std::string_view(c.in).substr(body_start, body_len);
      const Outstanding& r = c.ring[c.head];
      const HttpCheck check =
          r.type == RequestType::kScrape
              ? CheckHttpScrape(h.status, body, r.hashes)
              : CheckHttpAnnounce(h.status, body, o_.target.is_v6(), r.num_want,
                                  o_.max_plausible_peers, loopback_);
      const bool server_closes = !h.keep_alive;
      c.in.erase(0, body_start + body_len);
      Answer(c, now, check);
      if (server_closes || !o_.keep_alive) {
        // Nothing more will come on this connection: requests pipelined behind this one
        // (if any) are lost.
        if (!c.in.empty()) stats_->Stray();
        Close(c, Failure::kIoError);
        return;
      }
    }
    if (eof) Close(c, Failure::kIoError);
  }

  void Answer(Conn& c, uint64_t now, HttpCheck check) {
    const Outstanding& r = c.ring[c.head];
    if (check.ok) {
      stats_->Ok(r.type, c_.InWindow(now), now - r.sent_ns, now - c_.start_ns);
      stats_->PeersReceived(check.peers);
    } else {
      stats_->Failed(r.type, check.failure);
    }
    Pop(c);
  }

  std::string host_;
  std::unique_ptr<TlsClientContext> tls_;  // HTTPS only
  std::vector<Conn> conns_;
  std::array<uint8_t, kRequestBufferSize> request_buf_{};
  std::vector<char> read_buf_;
};

}  // namespace

absl::Status RunHttpThread(const Workload& workload, int thread_index,
                           const RunControl& control, ThreadStats* stats) {
  return RunLoadThread<HttpThread>(workload, thread_index, control, stats);
}

}  // namespace reef::load
