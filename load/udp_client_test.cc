// The UDP generator against a tiny in-test tracker that answers every Kth announce
// wrongly in one chosen way: the generator must report exactly that many failures, of
// exactly that kind, and count every other announce as ok. Also: the loopback rule, the
// rate limit, and the plausibility check on its own.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <variant>

#include "load/client_test_util.h"
#include "load/generator.h"
#include "load/udp_client.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"

namespace reef::load {
namespace {

enum class Spoil {
  kNone,
  kWrongTransactionId,  // -> stray + timeout
  kUnparsable,          // announce response cut to 12 bytes -> unparsable
  kNoAnswer,            // -> timeout
  kErrorResponse,       // BEP 15 error -> error_response
  kTooManyPeers,        // more peers than num_want -> implausible
  kWrongType,           // a connect response to an announce -> wrong_type
  kWrongFamily,         // 18-byte peers to an IPv4 client: not whole 6-byte entries... or
                        // whole by chance, then implausible; either way a failure
};

// A BEP 15 tracker on loopback that spoils every kSpoilEvery-th announce (the last of each
// group), answers everything else correctly, and counts.
class SpoilingTracker {
 public:
  SpoilingTracker(const char* bind, Spoil spoil)
      : spoil_(spoil), counts_(spoil != Spoil::kNone) {
    const Endpoint e = *ParseEndpoint(bind, true);
    family_ = e.is_v6() ? udp::IpFamily::kV6 : udp::IpFamily::kV4;
    fd_ = socket(e.family(), SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{0, 50'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    REQUIRE(::bind(fd_, e.sa(), e.len) == 0);
    local_ = BoundEndpoint(fd_);
    server_.Start([this](const std::atomic<bool>& stop) { Serve(stop); });
  }
  ~SpoilingTracker() {
    server_.Stop();
    close(fd_);
    CHECK(counts_.bad_requests() == 0);
  }

  const Endpoint& local() const { return local_; }
  const TrackerCounts& counts() const { return counts_; }

 private:
  void Serve(const std::atomic<bool>& stop) {
    std::array<uint8_t, 2048> in{};
    std::array<uint8_t, 2048> out{};
    while (!stop.load()) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = recvfrom(fd_, in.data(), in.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) continue;
      const udp::RequestResult r =
          udp::ParseRequest(std::span<const uint8_t>(in.data(), static_cast<size_t>(n)));
      if (!r.ok()) {  // the generator only sends well-formed requests
        counts_.BadRequest();
        continue;
      }
      WriteResult w = WriteResult::Fail(WriteError::kInvalidValue);
      if (const auto* c = std::get_if<udp::ConnectRequest>(&r.value())) {
        counts_.Connect();
        w = udp::WriteConnectResponse({c->transaction_id, 0x1234}, out);
      } else if (const auto* s = std::get_if<udp::ScrapeRequest>(&r.value())) {
        counts_.Scrape();
        udp::ScrapeResponseWriter sw(out, s->transaction_id);
        for (size_t i = 0; i < s->info_hashes.size(); ++i) sw.Add({1, 2, 3});
        w = sw.Finish();
      } else {
        const auto& a = std::get<udp::AnnounceRequest>(r.value());
        if (a.connection_id != 0x1234) counts_.BadRequest();
        const bool spoil = counts_.Announce();
        const int peers = spoil && spoil_ == Spoil::kTooManyPeers ? a.num_want + 1 : 2;
        udp::AnnounceResponseWriter aw(
            out, spoil && spoil_ == Spoil::kWrongFamily ? udp::IpFamily::kV6 : family_,
            {spoil && spoil_ == Spoil::kWrongTransactionId ? ~a.transaction_id
                                                           : a.transaction_id,
             1800, peers, 0});
        const std::array<uint8_t, 4> ip4{127, 0, 0, 1};
        const std::array<uint8_t, 16> ip6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        for (int i = 0; i < peers; ++i) {
          if ((spoil && spoil_ == Spoil::kWrongFamily) || family_ == udp::IpFamily::kV6) {
            aw.AddPeerV6(ip6, static_cast<uint16_t>(6881 + i));
          } else {
            aw.AddPeerV4(ip4, static_cast<uint16_t>(6881 + i));
          }
        }
        w = aw.Finish();
        if (spoil) {
          switch (spoil_) {
            case Spoil::kUnparsable:
              w = WriteResult::Ok(12);
              break;
            case Spoil::kNoAnswer:
              continue;
            case Spoil::kErrorResponse:
              w = udp::WriteErrorResponse({a.transaction_id, "go away"}, out);
              break;
            case Spoil::kWrongType:
              w = udp::WriteConnectResponse({a.transaction_id, 0x1234}, out);
              break;
            default:
              break;
          }
        }
      }
      if (!w.ok()) counts_.BadRequest();
      sendto(fd_, out.data(), w.length(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  Spoil spoil_;
  TrackerCounts counts_;
  udp::IpFamily family_ = udp::IpFamily::kV4;
  int fd_ = -1;
  Endpoint local_;
  ServingThread server_;
};

constexpr size_t kAnnounce = static_cast<size_t>(RequestType::kAnnounce);

LoadOptions Options(const Endpoint& target) {
  LoadOptions o = ClientTestOptions(Protocol::kUdp, target);
  o.in_flight = 8;
  return o;
}

void RunSpoiled(const char* bind, Spoil spoil, Failure expected) {
  SpoilingTracker tracker(bind, spoil);
  auto outcome = RunUntilAnnounces(Options(tracker.local()), tracker.counts(), 3 * kSpoilEvery);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  const TrackerCounts& counts = tracker.counts();
  CheckSpoiledAnnounces(t, counts, expected);
  CHECK(t.FailedOf(RequestType::kConnect) == 0);
  CHECK(t.ok[static_cast<size_t>(RequestType::kConnect)] == counts.connects());
  CHECK(t.stray == (spoil == Spoil::kWrongTransactionId ? counts.spoiled() : 0));
  CHECK(t.latency[kAnnounce].count() <= t.ok[kAnnounce]);
  CHECK(t.latency[kAnnounce].count() > 0);
}

TEST_CASE("a correct tracker: every announce ok, none failed") {
  SpoilingTracker tracker("127.0.0.1:0", Spoil::kNone);
  const TrackerCounts& counts = tracker.counts();
  LoadOptions o = Options(tracker.local());
  o.scrape_share = 0.25;
  o.scrape_hashes = 5;
  o.connect_share = 0.05;
  // Enough requests for the mix checks below to hold but with odds below 1e-6.
  auto outcome = RunUntilAnnounces(o, counts, 200);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  CHECK(t.TotalFailed() == 0);
  CHECK(t.stray == 0);
  CHECK(t.TotalSent() == t.TotalOk());
  CHECK(t.sent[kAnnounce] == counts.announces());
  CHECK(t.sent[static_cast<size_t>(RequestType::kScrape)] == counts.scrapes());
  CHECK(t.sent[static_cast<size_t>(RequestType::kConnect)] == counts.connects());
  // The mix: connects beyond the first per socket come from the 5 % share.
  CHECK(counts.connects() > 4);
  CHECK(counts.scrapes() > counts.announces() / 5);
  CHECK(counts.scrapes() < counts.announces() / 2);
  // This tracker names 2 peers in every announce answer.
  CHECK(t.peers_received == 2 * t.ok[kAnnounce]);
}

TEST_CASE("a known fraction of wrong answers is reported exactly, by kind") {
  SUBCASE("wrong transaction id") {
    RunSpoiled("127.0.0.1:0", Spoil::kWrongTransactionId, Failure::kTimeout);
  }
  SUBCASE("unparsable") { RunSpoiled("127.0.0.1:0", Spoil::kUnparsable, Failure::kUnparsable); }
  SUBCASE("no answer") { RunSpoiled("127.0.0.1:0", Spoil::kNoAnswer, Failure::kTimeout); }
  SUBCASE("error response") {
    RunSpoiled("127.0.0.1:0", Spoil::kErrorResponse, Failure::kErrorResponse);
  }
  SUBCASE("too many peers") {
    RunSpoiled("127.0.0.1:0", Spoil::kTooManyPeers, Failure::kImplausible);
  }
  SUBCASE("wrong type") { RunSpoiled("127.0.0.1:0", Spoil::kWrongType, Failure::kWrongType); }
  SUBCASE("IPv6, no answer") { RunSpoiled("[::1]:0", Spoil::kNoAnswer, Failure::kTimeout); }
  SUBCASE("IPv6 peers to an IPv4 client") {
    // 2 peers of 18 bytes = 36 bytes = 6 whole IPv4 entries: it parses, but 6 peers are
    // more than the 2 seeders + leechers the answer claims.
    RunSpoiled("127.0.0.1:0", Spoil::kWrongFamily, Failure::kImplausible);
  }
}

TEST_CASE("the rate limit is never exceeded") {
  SpoilingTracker tracker("127.0.0.1:0", Spoil::kNone);
  LoadOptions o = Options(tracker.local());
  // A rate well below what this tracker answers (about 1000/s under load here, far more
  // when the machine is idle), so the limit is what holds the client back.
  o.rate = 200;
  auto outcome = RunUntilAnnounces(o, tracker.counts(), 100);
  REQUIRE(outcome.ok());
  REQUIRE(tracker.counts().announces() >= 100);  // it did run
  const uint64_t sent = (*outcome)->totals.TotalSent();
  // At most rate x the time since the start, plus the first request each thread may send
  // at once. Unlimited, the client sent its 100 announces in about a fifth of the time.
  const double allowed = o.rate * (*outcome)->wall_seconds + o.threads;
  INFO("sent ", sent, " in ", (*outcome)->wall_seconds, " s");
  CHECK(static_cast<double>(sent) <= allowed);
}

TEST_CASE("non-loopback targets are refused before any packet is sent") {
  LoadOptions o = Options(*ParseEndpoint("192.0.2.1:6969"));
  auto outcome = RunLoad(o, nullptr);
  CHECK(outcome.status().code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("a silent target: every request times out, the run still ends") {
  // Bind a socket and never read it.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const Endpoint any = *ParseEndpoint("127.0.0.1:0", true);
  REQUIRE(bind(fd, any.sa(), any.len) == 0);
  LoadOptions o = Options(BoundEndpoint(fd));
  // Long enough for the load threads to start: under TSan on two busy cores that alone
  // took 1.1-1.3 s here, and a 700 ms window then closed before a request went out.
  o.duration_ms = 2000;
  auto outcome = RunLoad(o, nullptr);
  close(fd);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  CHECK(t.TotalOk() == 0);
  CHECK(t.TotalSent() > 0);
  CHECK(t.FailedOf(Failure::kTimeout) == t.TotalSent());  // only connects, all timed out
  CHECK(t.sent[kAnnounce] == 0);  // no connection id, so no announce was ever sent
}

TEST_CASE("closed loop, silent target: a timed-out request is not replaced") {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const Endpoint any = *ParseEndpoint("127.0.0.1:0", true);
  REQUIRE(bind(fd, any.sa(), any.len) == 0);
  LoadOptions o = Options(BoundEndpoint(fd));
  o.duration_ms = 2000;  // long enough for the threads to start under TSan (see above)
  o.timeout_ms = 100;
  o.in_flight = 1;  // the first window: one request per socket, its connect
  auto fixed = RunLoad(o, nullptr);
  o.follow_up_probability = 0.5;
  auto closed = RunLoad(o, nullptr);
  close(fd);
  REQUIRE(fixed.ok());
  REQUIRE(closed.ok());
  const uint64_t sockets = static_cast<uint64_t>(o.threads * o.sockets_per_thread);
  // The fixed window sends a new connect each time one times out (every 100 ms); the
  // closed loop sends each socket's first connect and then waits for answers that never
  // come.
  CHECK((*fixed)->totals.TotalSent() > 2 * sockets);
  CHECK((*closed)->totals.TotalSent() == sockets);
  CHECK((*closed)->totals.FailedOf(Failure::kTimeout) == sockets);
  CHECK((*closed)->totals.follow_ups + (*closed)->totals.follow_ups_capped == 0);
}

TEST_CASE("closed loop, probability 1: the window grows to its limit, then holds") {
  SpoilingTracker tracker("127.0.0.1:0", Spoil::kNone);
  LoadOptions o = Options(tracker.local());
  o.threads = 1;  // one budget: with two, a late thread might not fill its window in time
  o.in_flight = 2;
  o.max_in_flight = 16;
  o.follow_up_probability = 1;
  auto outcome = RunUntilAnnounces(o, tracker.counts(), 2000);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  CHECK(t.TotalFailed() == 0);
  CHECK(t.TotalSent() == t.TotalOk());
  // Every answer brought a follow-up: granted while the window had room, dropped after.
  CHECK(t.follow_ups + t.follow_ups_capped == t.TotalOk());
  // With nothing lost, the window grew from sockets x in_flight to sockets x
  // max_in_flight, one follow-up at a time, and stayed there.
  CHECK(t.follow_ups ==
        static_cast<uint64_t>(o.sockets_per_thread * (o.max_in_flight - o.in_flight)));
  CHECK(t.follow_ups_capped > 0);
}

TEST_CASE("closed loop, probability 0.2: about a fifth of the answers bring a follow-up") {
  SpoilingTracker tracker("127.0.0.1:0", Spoil::kNoAnswer);  // every 10th announce is lost
  LoadOptions o = Options(tracker.local());
  o.in_flight = 8;
  o.timeout_ms = 1000;
  o.follow_up_probability = 0.2;
  auto outcome = RunUntilAnnounces(o, tracker.counts(), 3000);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  const uint64_t answered = t.TotalOk();
  INFO("answered ", answered, " follow-ups ", t.follow_ups, " capped ", t.follow_ups_capped);
  // The window grows until the tracker's socket buffer overflows and the losses (the
  // spoiled tenth, and those drops) balance the follow-ups: a few hundred requests, held
  // for at most the 1 s timeout, well below a thread's 2 x 1024 slots.
  CHECK(t.follow_ups_capped == 0);
  // Binomial(>= 2700, 0.2): +-25 % of the mean is over 6 standard deviations.
  CHECK(static_cast<double>(t.follow_ups) > 0.15 * static_cast<double>(answered));
  CHECK(static_cast<double>(t.follow_ups) < 0.25 * static_cast<double>(answered));
  // Every failure is a lost request: the spoiled ones, and any the full buffer dropped.
  CHECK(t.TotalFailed() == t.FailedOf(Failure::kTimeout));
  CHECK(t.FailedOf(Failure::kTimeout) >= tracker.counts().spoiled());
}

TEST_CASE("plausibility of an announce answer") {
  std::array<uint8_t, 20 + 6 * 5> bytes{};
  udp::AnnounceResponse r;
  r.interval = 1800;
  r.leechers = 3;
  r.seeders = 2;
  r.peers = *udp::PeerList::FromBytes(udp::IpFamily::kV4,
                                      std::span<const uint8_t>(bytes).subspan(20));
  CHECK(PlausibleAnnounce(r, 5, 1000, false));
  CHECK(PlausibleAnnounce(r, -1, 1000, false));
  CHECK(!PlausibleAnnounce(r, 4, 1000, false));   // more than asked
  CHECK(!PlausibleAnnounce(r, -1, 4, false));     // more than any tracker sends
  r.seeders = 1;
  CHECK(!PlausibleAnnounce(r, 5, 1000, false));   // more peers than the swarm has
  r.seeders = 2;
  r.interval = 0;
  CHECK(!PlausibleAnnounce(r, 5, 1000, false));
  r.interval = 1800;
  r.leechers = -1;
  CHECK(!PlausibleAnnounce(r, 5, 1000, false));
}

TEST_CASE("on loopback, every peer must be a loopback address with a port") {
  std::array<uint8_t, 20 + 6 * 2> v4{};
  const std::array<uint8_t, 12> good = {127, 0, 0, 1, 0x1a, 0xe1, 127, 9, 8, 7, 0x1a, 0xe2};
  std::copy(good.begin(), good.end(), v4.begin() + 20);
  udp::AnnounceResponse r;
  r.interval = 1800;
  r.leechers = 2;
  r.peers = *udp::PeerList::FromBytes(udp::IpFamily::kV4, std::span<const uint8_t>(v4).subspan(20));
  CHECK(PlausibleAnnounce(r, 5, 1000, true));
  v4[20 + 6] = 10;  // 10.9.8.7
  CHECK(!PlausibleAnnounce(r, 5, 1000, true));
  CHECK(PlausibleAnnounce(r, 5, 1000, false));
  v4[20 + 6] = 127;
  v4[20 + 4] = 0;
  v4[20 + 5] = 0;  // port 0
  CHECK(!PlausibleAnnounce(r, 5, 1000, true));

  std::array<uint8_t, 18> v6{};
  v6[15] = 1;  // ::1
  v6[17] = 80;
  udp::AnnounceResponse r6;
  r6.interval = 1800;
  r6.seeders = 1;
  r6.peers = *udp::PeerList::FromBytes(udp::IpFamily::kV6, v6);
  CHECK(PlausibleAnnounce(r6, 5, 1000, true));
  // The same 18 bytes read as three IPv4 entries (a v6 list sent to a v4 client).
  r6.seeders = 3;
  r6.peers = *udp::PeerList::FromBytes(udp::IpFamily::kV4, v6);
  CHECK(!PlausibleAnnounce(r6, 5, 1000, true));
  v6[0] = 0x20;  // 2000::1
  r6.seeders = 1;
  r6.peers = *udp::PeerList::FromBytes(udp::IpFamily::kV6, v6);
  CHECK(!PlausibleAnnounce(r6, 5, 1000, true));
}

}  // namespace
}  // namespace reef::load
