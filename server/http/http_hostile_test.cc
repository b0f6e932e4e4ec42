// Hostile traffic at the reef binary's HTTP and HTTPS listeners: 1,000 idle connections
// and 300 half-sent requests held open, clients that pipeline and never read, and at
// least kHostileRequests random and mutated requests (noise, mutations and truncations of
// valid ones, huge heads, too many headers, bad methods, pipelined bursts, random bytes at
// the TLS port). Meanwhile and afterwards a normal client must be answered correctly, the
// idle and half-sent connections must be closed by reef's timeouts, and reef must stop
// cleanly with exit 0. Run under ASan and UBSan by the sanitizer configs too.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/http/response_parser.h"
#include "server/http/reef_process_for_test.h"
#include "server/tcp/tcp_test_client.h"

namespace reef::http_server {
namespace {

using tcp::testing::TcpTestClient;
using testing::AnnounceRequest;
using testing::ReefForTest;

constexpr int kIdleConnections = 1000;
constexpr int kHalfSent = 300;
constexpr int kNeverReading = 20;
constexpr uint64_t kHostileRequests = 20'000;
constexpr auto kDeadline = std::chrono::seconds(240);

// Limits low enough that the test sees them act: reef closes idle and half-sent
// connections after 2 s, clients that stop reading after 2 s.
constexpr char kLimits[] =
    "request_head_timeout_seconds = 2\n"
    "keep_alive_timeout_seconds = 4\n"

    "write_timeout_seconds = 2\n"
    "max_connections = 4000\n";

constexpr char kHash[] = "0123456789abcdef0123456789abcdef01234567";

class HostileGenerator {
 public:
  explicit HostileGenerator(uint64_t seed) : rng_(seed) {}

  std::string Next() {
    switch (Below(10)) {
      case 0: return Noise(Below(3000));
      case 1: return Mutate(Valid());
      case 2: return Truncate(Valid());
      case 3: return "GET /" + std::string(Below(20000), 'a') + " HTTP/1.1\r\n\r\n";
      case 4: {
        std::string h = "GET /announce HTTP/1.1\r\n";
        for (uint64_t i = Below(100); i > 0; --i) h += "X-" + std::to_string(i) + ": v\r\n";
        return h + "\r\n";
      }
      case 5: return std::string(Pick({"POST", "PUT", "HEAD", "BREW", "get"})) + " /announce HTTP/1.1\r\n\r\n";
      case 6: {
        std::string burst;
        for (uint64_t i = Below(30); i > 0; --i) burst += Below(3) ? Valid() : Mutate(Valid());
        return burst;
      }
      case 7: return "GET /announce?" + Noise(Below(500)) + " HTTP/1.1\r\n\r\n";
      case 8: return "GET /scrape?info_hash=" + Noise(Below(100)) + " HTTP/1.0\r\n\r\n";
      default: return Valid();
    }
  }

 private:
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  const char* Pick(std::initializer_list<const char*> options) {
    return options.begin()[Below(options.size())];
  }
  std::string Noise(uint64_t size) {
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(rng_());
    return out;
  }
  std::string Valid() {
    std::string peer_id = "-RF0001-";
    for (int i = 0; i < 12; ++i) peer_id += static_cast<char>('a' + Below(26));
    std::string hash = kHash;
    hash[0] = "0123"[Below(4)];
    return AnnounceRequest(hash, peer_id, static_cast<uint16_t>(1 + Below(65535)), Below(2) == 0,
                           Below(2) ? "&compact=0" : "", Below(4) != 0);
  }
  std::string Mutate(std::string in) {
    if (in.empty()) return in;
    for (uint64_t i = 1 + Below(8); i > 0; --i) in[Below(in.size())] ^= static_cast<char>(1 + Below(255));
    return in;
  }
  std::string Truncate(std::string in) {
    in.resize(Below(in.size() + 1));
    return in;
  }

  std::mt19937_64 rng_;
};

// A normal client's announce, answered correctly.
void CheckNormalAnnounce(ReefForTest& reef, const SocketAddress& address, bool tls) {
  auto client = TcpTestClient::Connect(address, tls, tls ? reef.certificate().ca_pem : "", 10'000);
  REQUIRE_MESSAGE(client != nullptr, address.ToString());
  auto r = client->Exchange(AnnounceRequest(kHash, "-RF0001-normalclient", 51413, true), 10'000);
  REQUIRE_MESSAGE(r.has_value(), address.ToString());
  CHECK(r->status == 200);
  auto parsed = http::ParseAnnounceResponse(r->body);
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed.value().failure_reason.has_value());
  CHECK(parsed.value().complete >= 1);
}

std::unique_ptr<TcpTestClient> RawConnect(const SocketAddress& address) {
  return TcpTestClient::Connect(address, false, {}, 2000);
}

TEST_CASE("hostile traffic does not stop the HTTP workers, and a normal client is served") {
  testing::ReefOptions options;
  options.tls = true;
  options.extra_config = kLimits;
  options.tls_extra_config = "handshake_timeout_seconds = 2\n";
  ReefForTest reef(options);
  const SocketAddress* plain[] = {&reef.http(4), &reef.http(6)};

  // Idle connections and half-sent requests, held open.
  std::vector<std::unique_ptr<TcpTestClient>> idle;
  for (int i = 0; i < kIdleConnections; ++i) {
    auto c = RawConnect(i % 3 == 2 ? reef.https(4) : *plain[i % 2]);
    REQUIRE(c != nullptr);
    idle.push_back(std::move(c));
  }
  std::vector<std::unique_ptr<TcpTestClient>> half;
  for (int i = 0; i < kHalfSent; ++i) {
    auto c = RawConnect(*plain[i % 2]);
    REQUIRE(c != nullptr);
    c->Send("GET /announce?info_hash=" + std::string(static_cast<size_t>(i % 40), 'x'));
    half.push_back(std::move(c));
  }
  CheckNormalAnnounce(reef, reef.http(4), false);

  // Clients that pipeline and never read.
  std::vector<std::unique_ptr<TcpTestClient>> deaf;
  const std::string many = [] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += AnnounceRequest(kHash, "-RF0001-deafdeafdeaf", 9, false, "&compact=0");
    return s;
  }();
  for (int i = 0; i < kNeverReading; ++i) {
    auto c = RawConnect(*plain[i % 2]);
    REQUIRE(c != nullptr);
    const int small = 2048;
    setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    timeval short_wait{0, 100'000};
    setsockopt(c->fd(), SOL_SOCKET, SO_SNDTIMEO, &short_wait, sizeof(short_wait));
    for (int k = 0; k < 50 && c->Send(many); ++k) {
    }
    deaf.push_back(std::move(c));
  }
  CheckNormalAnnounce(reef, reef.http(6), false);

  // Random and mutated requests over short-lived connections, plain and TLS ports.
  HostileGenerator gen(20261205);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  uint64_t sent = 0;
  for (uint64_t connection = 0; sent < kHostileRequests; ++connection) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    const bool to_tls_port = connection % 10 == 9;
    auto c = RawConnect(to_tls_port ? reef.https(connection % 2 ? 4 : 6) : *plain[connection % 2]);
    REQUIRE(c != nullptr);
    std::string burst;
    for (int i = 0; i < 20; ++i, ++sent) burst += gen.Next();
    c->Send(burst);
    // Read whatever comes for a moment; the answers are not the point, reef is.
    c->Read(1, 20);
  }
  MESSAGE("sent ", sent, " hostile requests");

  // Served correctly, plain and TLS, both families.
  for (int family : {4, 6}) {
    CheckNormalAnnounce(reef, reef.http(family), false);
    CheckNormalAnnounce(reef, reef.https(family), true);
  }
  // reef's timeouts closed what it held open for nothing.
  for (auto& c : idle) CHECK(c->WaitClosed(30'000));
  for (auto& c : half) CHECK(c->WaitClosed(30'000));
  CHECK(reef.Stop() == 0);
  const std::string& log = reef.process().stderr_text();
  CHECK(log.find("head ") != std::string::npos);
}

}  // namespace
}  // namespace reef::http_server
