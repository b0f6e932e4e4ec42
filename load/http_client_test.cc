// The HTTP generator against a tiny in-test tracker that answers every Kth announce
// wrongly in one chosen way: the generator must report exactly that many failures, of
// exactly that kind. Keep-alive with pipelining, one request per connection, IPv6; and
// the answer checks on their own.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "load/client_test_util.h"
#include "load/generator.h"
#include "load/http_client.h"
#include "load/torrents.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"

namespace reef::load {
namespace {

enum class Spoil {
  kNone,
  kStatus500,       // -> error_response
  kFailureReason,   // -> error_response
  kGarbageBody,     // -> unparsable
  kTooManyPeers,    // -> implausible
  kWrongFamily,     // peers6 to an IPv4 client -> implausible
  kClose,           // close the connection instead of answering -> io_error
  kNoAnswer,        // stop answering on that connection -> timeout
};

// An HTTP tracker on loopback that spoils every kSpoilEvery-th announce (the last of each
// group), answers everything else correctly, and counts.
class SpoilingHttpTracker {
 public:
  SpoilingHttpTracker(const char* bind, Spoil spoil)
      : spoil_(spoil), counts_(spoil != Spoil::kNone) {
    const Endpoint e = *ParseEndpoint(bind, true);
    v6_ = e.is_v6();
    listen_fd_ = socket(e.family(), SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(listen_fd_ >= 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    REQUIRE(::bind(listen_fd_, e.sa(), e.len) == 0);
    REQUIRE(listen(listen_fd_, 128) == 0);
    local_ = BoundEndpoint(listen_fd_);
    server_.Start([this](const std::atomic<bool>& stop) { Serve(stop); });
  }
  ~SpoilingHttpTracker() {
    server_.Stop();
    for (Client& c : clients_) {
      if (c.fd >= 0) close(c.fd);
    }
    close(listen_fd_);
    CHECK(counts_.bad_requests() == 0);
  }

  const Endpoint& local() const { return local_; }
  const TrackerCounts& counts() const { return counts_; }

 private:
  struct Client {
    int fd = -1;
    std::string in;
    bool mute = false;  // kNoAnswer: never answers again
  };

  void Serve(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd;
        while ((fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          clients_.push_back({fd, {}, false});
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Client& c = clients_[i - 1];
        char buf[65536];
        bool closed = false;
        while (true) {
          const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
          if (n > 0) {
            c.in.append(buf, static_cast<size_t>(n));
          } else {
            closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            break;
          }
        }
        if (!closed) closed = !Answer(c);
        if (closed) {
          close(c.fd);
          c.fd = -1;
        }
      }
      std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
    }
  }

  // Answers every whole request in c.in; false to close the connection.
  bool Answer(Client& c) {
    while (!c.in.empty()) {
      std::array<http::Header, 32> headers;
      const auto req = http::ParseRequest(c.in, headers);
      if (req.incomplete()) return true;
      if (!req.ok()) {
        counts_.BadRequest();
        return false;
      }
      const http::Request& r = req.value();
      const bool keep_alive = r.keep_alive;
      std::array<uint8_t, 4096> out{};
      http::HttpResponseWriter w(out, 200, keep_alive);
      WriteResult body = WriteResult::Fail(WriteError::kInvalidValue);
      bool spoil = false;
      if (r.path == "/scrape") {
        counts_.Scrape();
        const auto q = http::ParseScrapeQuery(r.query);
        if (!q.ok()) {
          counts_.BadRequest();
          return false;
        }
        std::vector<InfoHash> hashes(q.value().info_hashes.begin(),
                                     q.value().info_hashes.end());
        hashes.resize(http::SortUniqueInfoHashes(hashes));
        http::ScrapeBodyWriter sw(w.body());
        for (const InfoHash& h : hashes) sw.AddFile(h, {1, 2, 3});
        body = sw.Finish();
      } else {
        const auto q = http::ParseAnnounceQuery(r.query);
        if (r.path != "/announce" || !q.ok() || q.value().compact != true ||
            !q.value().numwant) {
          counts_.BadRequest();
          return false;
        }
        spoil = counts_.Announce();
        if (spoil && spoil_ == Spoil::kClose) return false;
        if (spoil && spoil_ == Spoil::kNoAnswer) c.mute = true;
        if (c.mute) {
          c.in.clear();
          return true;
        }
        const size_t peers =
            spoil && spoil_ == Spoil::kTooManyPeers ? *q.value().numwant + 1 : 2;
        http::AnnounceBodyWriter aw(w.body(), {1800, std::nullopt, 1, static_cast<int64_t>(peers),
                                               {}, {}});
        const bool as_v6 = v6_ != (spoil && spoil_ == Spoil::kWrongFamily);
        const std::array<uint8_t, 4> ip4{127, 0, 0, 1};
        const std::array<uint8_t, 16> ip6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        if (as_v6) {
          aw.BeginPeers6(peers);
          for (size_t i = 0; i < peers; ++i) aw.AddPeer6(ip6, static_cast<uint16_t>(6881 + i));
        } else {
          aw.BeginPeers(peers);
          for (size_t i = 0; i < peers; ++i) aw.AddPeer(ip4, static_cast<uint16_t>(6881 + i));
        }
        body = aw.Finish();
        if (spoil && spoil_ == Spoil::kFailureReason) body = http::WriteFailureBody("no", w.body());
        if (spoil && spoil_ == Spoil::kGarbageBody) {
          std::memcpy(w.body().data(), "not bencode", 11);
          body = WriteResult::Ok(11);
        }
      }
      WriteResult all = w.Finish(body);
      if (!all.ok()) {
        counts_.BadRequest();
        return false;
      }
      if (spoil && spoil_ == Spoil::kStatus500) {
        std::memcpy(out.data(), "HTTP/1.1 500", 12);
      }
      c.in.erase(0, req.consumed());
      if (send(c.fd, out.data(), all.length(), MSG_NOSIGNAL) != static_cast<ssize_t>(all.length())) {
        return false;
      }
      if (!keep_alive) return false;
    }
    return true;
  }

  Spoil spoil_;
  TrackerCounts counts_;
  bool v6_ = false;
  int listen_fd_ = -1;
  Endpoint local_;
  std::vector<Client> clients_;  // the serving thread's
  ServingThread server_;
};

constexpr size_t kAnnounce = static_cast<size_t>(RequestType::kAnnounce);

LoadOptions Options(const Endpoint& target, bool keep_alive, int in_flight) {
  LoadOptions o = ClientTestOptions(Protocol::kHttp, target);
  o.keep_alive = keep_alive;
  o.in_flight = in_flight;
  return o;
}

void RunSpoiled(const char* bind, Spoil spoil, Failure expected, bool keep_alive, int in_flight) {
  SpoilingHttpTracker tracker(bind, spoil);
  // Not more than 3 x kSpoilEvery: a connection that gets no answer stays stuck, so with
  // 4 connections and one request each in flight, about 40 announces is all there is.
  auto outcome = RunUntilAnnounces(Options(tracker.local(), keep_alive, in_flight),
                                   tracker.counts(), 3 * kSpoilEvery);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  CheckSpoiledAnnounces(t, tracker.counts(), expected);
  CHECK(t.stray == 0);
}

TEST_CASE("a correct tracker: every request ok, keep-alive and not, scrapes too") {
  for (bool keep_alive : {true, false}) {
    INFO("keep_alive ", keep_alive);
    SpoilingHttpTracker tracker("127.0.0.1:0", Spoil::kNone);
    const TrackerCounts& counts = tracker.counts();
    LoadOptions o = Options(tracker.local(), keep_alive, keep_alive ? 4 : 1);
    o.scrape_share = 0.3;
    o.scrape_hashes = 4;
    auto outcome = RunUntilAnnounces(o, counts, 200);
    REQUIRE(outcome.ok());
    const Totals& t = (*outcome)->totals;
    CHECK(t.TotalFailed() == 0);
    CHECK(t.TotalSent() == t.TotalOk());
    CHECK(t.sent[kAnnounce] == counts.announces());
    CHECK(t.sent[static_cast<size_t>(RequestType::kScrape)] == counts.scrapes());
    CHECK(counts.scrapes() > 10);
  }
}

TEST_CASE("a known fraction of wrong answers is reported exactly, by kind") {
  SUBCASE("status 500") {
    RunSpoiled("127.0.0.1:0", Spoil::kStatus500, Failure::kErrorResponse, true, 4);
  }
  SUBCASE("failure reason") {
    RunSpoiled("127.0.0.1:0", Spoil::kFailureReason, Failure::kErrorResponse, true, 4);
  }
  SUBCASE("garbage body") {
    RunSpoiled("127.0.0.1:0", Spoil::kGarbageBody, Failure::kUnparsable, true, 4);
  }
  SUBCASE("too many peers") {
    RunSpoiled("127.0.0.1:0", Spoil::kTooManyPeers, Failure::kImplausible, true, 4);
  }
  SUBCASE("peers6 to an IPv4 client") {
    RunSpoiled("127.0.0.1:0", Spoil::kWrongFamily, Failure::kImplausible, false, 1);
  }
  SUBCASE("IPv4 peers to an IPv6 client") {
    RunSpoiled("[::1]:0", Spoil::kWrongFamily, Failure::kImplausible, true, 4);
  }
  SUBCASE("closed without an answer") {
    RunSpoiled("127.0.0.1:0", Spoil::kClose, Failure::kIoError, true, 1);
  }
  SUBCASE("no answer") {
    RunSpoiled("127.0.0.1:0", Spoil::kNoAnswer, Failure::kTimeout, true, 1);
  }
}

TEST_CASE("announce answer checks") {
  const auto body = [](const char* s) { return std::string_view(s); };
  // interval 1800, complete 1, incomplete 1, two IPv4 peers.
  const std::string two_peers =
      std::string("d8:completei1e10:incompletei1e8:intervali1800e5:peers12:") +
      std::string(12, 'x') + "e";
  CHECK(CheckHttpAnnounce(200, two_peers, false, 5, 1000, false).ok);
  CHECK(CheckHttpAnnounce(200, two_peers, false, -1, 1000, false).ok);
  CHECK(CheckHttpAnnounce(200, two_peers, false, 1, 1000, false).failure == Failure::kImplausible);
  CHECK(CheckHttpAnnounce(200, two_peers, false, 5, 1, false).failure == Failure::kImplausible);
  CHECK(CheckHttpAnnounce(200, two_peers, true, 5, 1000, false).failure == Failure::kImplausible);
  CHECK(CheckHttpAnnounce(404, two_peers, false, 5, 1000, false).failure == Failure::kErrorResponse);
  CHECK(CheckHttpAnnounce(200, body("d14:failure reason2:noe"), false, 5, 1000, false).failure ==
        Failure::kErrorResponse);
  CHECK(CheckHttpAnnounce(200, body("garbage"), false, 5, 1000, false).failure == Failure::kUnparsable);
  CHECK(CheckHttpAnnounce(200, body("d8:intervali0e5:peers0:e"), false, 5, 1000, false).failure ==
        Failure::kImplausible);
  // Three peers in a swarm of two.
  const std::string three = std::string("d8:completei1e10:incompletei1e8:intervali1800e5:peers18:") +
                            std::string(18, 'x') + "e";
  CHECK(CheckHttpAnnounce(200, three, false, 5, 1000, false).failure == Failure::kImplausible);
}

TEST_CASE("on loopback, every announced peer must be a loopback address with a port") {
  const auto announce = [](std::string peers) {
    return "d8:completei1e10:incompletei1e8:intervali1800e5:peers" +
           std::to_string(peers.size()) + ":" + peers + "e";
  };
  const std::string local = announce(std::string("\x7f\x00\x00\x01\x1a\xe1", 6));
  const std::string remote = announce(std::string("\x0a\x00\x00\x01\x1a\xe1", 6));
  const std::string port0 = announce(std::string("\x7f\x00\x00\x01\x00\x00", 6));
  CHECK(CheckHttpAnnounce(200, local, false, 5, 1000, true).ok);
  CHECK(CheckHttpAnnounce(200, remote, false, 5, 1000, true).failure == Failure::kImplausible);
  CHECK(CheckHttpAnnounce(200, remote, false, 5, 1000, false).ok);
  CHECK(CheckHttpAnnounce(200, port0, false, 5, 1000, true).failure == Failure::kImplausible);
}

TEST_CASE("scrape answer checks") {
  const InfoHash a = InfoHashOf(1);
  const InfoHash b = InfoHashOf(2);
  const InfoHash c = InfoHashOf(3);
  std::array<uint8_t, 512> buf{};
  const auto scrape_of = [&](std::vector<InfoHash> hashes) {
    hashes.resize(http::SortUniqueInfoHashes(hashes));
    http::ScrapeBodyWriter w(buf);
    for (const InfoHash& h : hashes) w.AddFile(h, {1, 2, 3});
    const WriteResult r = w.Finish();
    REQUIRE(r.ok());
    return std::string(reinterpret_cast<const char*>(buf.data()), r.length());
  };
  const std::vector<InfoHash> asked = {a, b, a};
  CHECK(CheckHttpScrape(200, scrape_of({a, b}), asked).ok);
  CHECK(CheckHttpScrape(200, scrape_of({a}), asked).ok);  // b left out: allowed
  CHECK(CheckHttpScrape(200, scrape_of({a, c}), asked).failure == Failure::kImplausible);
  CHECK(CheckHttpScrape(200, scrape_of({a, b, c}), asked).failure == Failure::kImplausible);
  CHECK(CheckHttpScrape(500, scrape_of({a}), asked).failure == Failure::kErrorResponse);
  CHECK(CheckHttpScrape(200, "d5:filese", asked).failure == Failure::kUnparsable);
}

}  // namespace
}  // namespace reef::load
