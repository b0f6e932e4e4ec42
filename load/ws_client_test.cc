// The WebTorrent generator against a tiny in-test WebSocket tracker (built on protocol/ws
// alone) that relays offers and answers between its connections and answers every Kth
// announce wrongly in one chosen way: the generator must report exactly that many
// failures, of exactly that kind, and count every relayed offer and answer.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "load/generator.h"
#include "load/ws_client.h"
#include "protocol/http/request.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/handshake.h"
#include "protocol/ws/webtorrent.h"

namespace reef::load {
namespace {

enum class Spoil {
  kNone,
  kFailureReason,  // -> error_response
  kWrongInfoHash,  // -> implausible
  kScrapeInstead,  // a scrape response to an announce -> wrong_type
  kGarbage,        // not JSON -> unparsable
  kClose,          // a close frame instead -> io_error
  kNoAnswer,       // that connection never answers again -> timeout
};

class SpoilingWsTracker {
 public:
  SpoilingWsTracker(Spoil spoil, uint64_t every) : spoil_(spoil), every_(every) {
    const Endpoint e = *ParseEndpoint("127.0.0.1:0", true);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(listen_fd_ >= 0);
    REQUIRE(::bind(listen_fd_, e.sa(), e.len) == 0);
    REQUIRE(listen(listen_fd_, 128) == 0);
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &len);
    local_ = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SpoilingWsTracker() {
    stop_.store(true);
    thread_.join();
    for (Client& c : clients_) {
      if (c.fd >= 0) close(c.fd);
    }
    close(listen_fd_);
    CHECK(bad_messages_ == 0);
  }

  const Endpoint& local() const { return local_; }
  uint64_t announces() const { return announces_.load(); }
  uint64_t spoiled() const { return spoiled_.load(); }
  uint64_t offers_relayed() const { return offers_relayed_.load(); }
  uint64_t answers_relayed() const { return answers_relayed_.load(); }

 private:
  struct Client {
    int fd = -1;
    bool upgraded = false;
    bool mute = false;
    std::vector<uint8_t> in;
    std::vector<InfoHash> torrents;  // announced on this connection
  };

  void Send(Client& c, ws::Opcode op, std::string_view payload) {
    std::vector<uint8_t> frame(payload.size() + ws::kMaxFrameHeaderSize);
    const auto w = ws::WriteFrame(
        frame, op,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
    REQUIRE(w.ok());
    // Loopback with small messages: a blocking-enough send loop.
    size_t at = 0;
    while (at < w.length()) {
      const ssize_t n = send(c.fd, frame.data() + at, w.length() - at, MSG_NOSIGNAL);
      if (n > 0) {
        at += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{c.fd, POLLOUT, 0};
        poll(&p, 1, 100);
      } else {
        return;
      }
    }
  }
  template <typename Message>
  void SendMessage(Client& c, const Message& m) {
    std::array<uint8_t, 16384> json;
    const auto w = ws::WriteMessage(json, m);
    REQUIRE(w.ok());
    Send(c, ws::Opcode::kText, std::string_view(reinterpret_cast<const char*>(json.data()), w.length()));
  }

  void Serve() {
    while (!stop_.load()) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd;
        while ((fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          clients_.push_back({fd, false, false, {}, {}});
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0 || clients_[i - 1].fd < 0) continue;
        Client& c = clients_[i - 1];
        uint8_t buf[65536];
        bool closed = false;
        while (true) {
          const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
          if (n > 0) {
            c.in.insert(c.in.end(), buf, buf + n);
          } else {
            closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            break;
          }
        }
        if (!closed) closed = !Handle(i - 1);
        if (closed) {
          close(clients_[i - 1].fd);
          clients_[i - 1].fd = -1;
        }
      }
      std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
      // Peer ids of closed connections point nowhere now.
      std::erase_if(peers_, [this](const auto& kv) {
        return std::none_of(clients_.begin(), clients_.end(),
                            [&](const Client& c) { return c.fd == kv.second; });
      });
    }
  }

  Client* ByFd(int fd) {
    for (Client& c : clients_) {
      if (c.fd == fd) return &c;
    }
    return nullptr;
  }

  // Handles every whole frame of client `index`; false to close it.
  bool Handle(size_t index) {
    Client& c = clients_[index];
    if (!c.upgraded) {
      std::array<http::Header, 32> headers;
      const std::string_view text(reinterpret_cast<const char*>(c.in.data()), c.in.size());
      const auto up = ws::ParseUpgradeRequest(text, headers);
      if (up.incomplete()) return true;
      if (!up.ok()) {
        ++bad_messages_;
        return false;
      }
      std::array<uint8_t, 512> response;
      const auto w = ws::WriteHandshakeResponse(response, up.value().key);
      REQUIRE(w.ok());
      send(c.fd, response.data(), w.length(), MSG_NOSIGNAL);
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(up.consumed()));
      c.upgraded = true;
    }
    size_t at = 0;
    while (at < c.in.size()) {
      auto frame = ws::ParseFrame(std::span<uint8_t>(c.in).subspan(at), ws::Role::kServer);
      if (frame.incomplete()) break;
      if (!frame.ok()) {
        ++bad_messages_;
        return false;
      }
      at += frame.value().header.header_length + frame.value().payload.size();
      if (frame.value().header.opcode != ws::Opcode::kText) continue;
      const std::string text(frame.value().payload.begin(), frame.value().payload.end());
      if (!OnMessage(clients_[index], text)) return false;
    }
    Client* self = &clients_[index];
    self->in.erase(self->in.begin(), self->in.begin() + static_cast<ptrdiff_t>(at));
    return true;
  }

  bool OnMessage(Client& c, const std::string& text) {
    const auto parsed = ws::ParseClientMessage(text);
    if (!parsed.ok()) {
      ++bad_messages_;
      return false;
    }
    if (const auto* s = std::get_if<ws::ScrapeRequest>(&parsed.value())) {
      ws::ScrapeResponse r;
      for (const InfoHash& h : s->info_hashes()) {
        bool dup = false;
        for (const auto& f : r.files()) dup |= f.info_hash == h;
        if (!dup) r.Add({h, 1, 2, 3});
      }
      if (!c.mute) SendMessage(c, r);
      return true;
    }
    const auto& a = std::get<ws::AnnounceRequest>(parsed.value());
    const PeerId& me = a.peer_id;
    std::string key(reinterpret_cast<const char*>(me.data()), 20);
    peers_[key] = c.fd;
    if (!a.answer.empty()) {
      const std::string to(reinterpret_cast<const char*>(a.to_peer_id->data()), 20);
      const auto it = peers_.find(to);
      if (it == peers_.end()) return true;
      Client* target = ByFd(it->second);
      if (target == nullptr) return true;
      answers_relayed_.fetch_add(1);
      SendMessage(*target, ws::AnswerMessage{a.info_hash, me, *a.offer_id, a.answer});
      return true;
    }
    if (std::find(c.torrents.begin(), c.torrents.end(), a.info_hash) == c.torrents.end()) {
      c.torrents.push_back(a.info_hash);
    }
    const uint64_t k = announces_.fetch_add(1) + 1;
    const bool spoil = spoil_ != Spoil::kNone && k % every_ == 0;
    if (spoil) spoiled_.fetch_add(1);
    if (spoil && spoil_ == Spoil::kNoAnswer) c.mute = true;
    if (!c.mute) {
      if (spoil && spoil_ == Spoil::kClose) {
        std::array<uint8_t, 2> code = {0x03, 0xe8};
        Send(c, ws::Opcode::kClose, std::string_view(reinterpret_cast<char*>(code.data()), 2));
        return false;
      }
      if (spoil && spoil_ == Spoil::kGarbage) {
        Send(c, ws::Opcode::kText, "not json");
      } else if (spoil && spoil_ == Spoil::kFailureReason) {
        ws::ErrorResponse e;
        e.action = ws::Action::kAnnounce;
        e.SetFailureReason("no");
        SendMessage(c, e);
      } else if (spoil && spoil_ == Spoil::kScrapeInstead) {
        ws::ScrapeResponse r;
        r.Add({a.info_hash, 1, 1, 0});
        SendMessage(c, r);
      } else {
        ws::AnnounceResponse r;
        r.info_hash = a.info_hash;
        if (spoil && spoil_ == Spoil::kWrongInfoHash) r.info_hash = PeerId{};
        r.complete = 1;
        r.incomplete = 1;
        r.interval = 120;
        SendMessage(c, r);
      }
    }
    // Each offer to another connection that announced the torrent, round robin.
    size_t i = 0;
    for (const ws::Offer& offer : a.offers()) {
      std::vector<int> others;
      for (const Client& o : clients_) {
        if (o.fd != c.fd && std::find(o.torrents.begin(), o.torrents.end(), a.info_hash) !=
                                o.torrents.end()) {
          others.push_back(o.fd);
        }
      }
      if (others.empty()) break;
      Client* target = ByFd(others[(next_other_ + i++) % others.size()]);
      offers_relayed_.fetch_add(1);
      SendMessage(*target, ws::OfferMessage{a.info_hash, me, offer.offer_id, offer.offer});
    }
    ++next_other_;
    return true;
  }

  Spoil spoil_;
  uint64_t every_;
  int listen_fd_ = -1;
  Endpoint local_;
  std::vector<Client> clients_;
  std::map<std::string, int> peers_;  // peer id -> fd
  size_t next_other_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> announces_{0};
  std::atomic<uint64_t> spoiled_{0};
  std::atomic<uint64_t> offers_relayed_{0};
  std::atomic<uint64_t> answers_relayed_{0};
  int bad_messages_ = 0;  // the server thread's; read after join
  std::thread thread_;
};

constexpr uint64_t kEvery = 10;
constexpr size_t kAnnounce = static_cast<size_t>(RequestType::kAnnounce);

LoadOptions Options(const Endpoint& target) {
  LoadOptions o;
  o.protocol = Protocol::kWs;
  o.target = target;
  o.duration_ms = 600;
  o.timeout_ms = 300;
  o.sockets_per_thread = 4;
  o.in_flight = 2;
  o.torrents = 20;
  o.progress = false;
  o.ws_offers = 3;
  return o;
}

// A default run against `tracker`; `spoil` names the case in failure messages.
Totals RunAgainst(const SpoilingWsTracker& tracker, int spoil) {
  CAPTURE(spoil);
  auto outcome = RunLoad(Options(tracker.local()), nullptr);
  REQUIRE(outcome.ok());
  return (*outcome)->totals;
}

TEST_CASE("a correct tracker: every request ok, every relayed offer answered and matched") {
  SpoilingWsTracker tracker(Spoil::kNone, kEvery);
  LoadOptions o = Options(tracker.local());
  o.scrape_share = 0.2;
  o.scrape_hashes = 3;
  auto outcome = RunLoad(o, nullptr);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  CHECK(t.TotalFailed() == 0);
  CHECK(t.TotalSent() == t.TotalOk());
  CHECK(t.sent[kAnnounce] == tracker.announces());
  CHECK(t.sent[static_cast<size_t>(RequestType::kScrape)] > 5);
  CHECK(t.stray == 0);
  CHECK(tracker.offers_relayed() > 10);
  CHECK(t.offers_received == tracker.offers_relayed());
  CHECK(t.answers_sent == t.offers_received);
  // Answers to the last offers may still be on their way when the run ends.
  CHECK(t.answers_received <= tracker.answers_relayed());
  CHECK(t.answers_received + 3 * 4 >= tracker.answers_relayed());
  CHECK(t.relay_implausible == 0);
}

TEST_CASE("a known fraction of wrong answers is reported exactly, by kind") {
  const std::pair<Spoil, Failure> cases[] = {
      {Spoil::kFailureReason, Failure::kErrorResponse},
      {Spoil::kWrongInfoHash, Failure::kImplausible},
      {Spoil::kScrapeInstead, Failure::kWrongType},
      {Spoil::kGarbage, Failure::kUnparsable},
  };
  for (const auto& spoil_case : cases) {
    const Failure failure = spoil_case.second;
    SpoilingWsTracker tracker(spoil_case.first, kEvery);
    const Totals t = RunAgainst(tracker, static_cast<int>(spoil_case.first));
    CHECK(tracker.spoiled() >= 2);
    CHECK(t.sent[kAnnounce] == tracker.announces());
    CHECK(t.FailedOf(RequestType::kAnnounce) == tracker.spoiled());
    CHECK(t.failed[kAnnounce][static_cast<size_t>(failure)] == tracker.spoiled());
    CHECK(t.ok[kAnnounce] == tracker.announces() - tracker.spoiled());
  }
}

TEST_CASE("a closed connection and a silent one fail what they had outstanding") {
  for (const auto& spoil_case : {std::pair{Spoil::kClose, Failure::kIoError},
                                 std::pair{Spoil::kNoAnswer, Failure::kTimeout}}) {
    const Failure failure = spoil_case.second;
    SpoilingWsTracker tracker(spoil_case.first, kEvery);
    const Totals t = RunAgainst(tracker, static_cast<int>(spoil_case.first));
    CHECK(tracker.spoiled() >= 1);
    CHECK(t.failed[kAnnounce][static_cast<size_t>(failure)] >= 1);
    CHECK(t.TotalSent() == t.TotalOk() + t.TotalFailed());
  }
}

}  // namespace
}  // namespace reef::load
