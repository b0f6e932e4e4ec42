// The reef binary over HTTP and HTTPS on loopback, IPv4 and IPv6: announce and scrape,
// compact and dictionary answers, failure reasons, keep-alive and pipelining, the one
// swarm UDP and HTTP share, the reverse-proxy header, certificate reload, and the
// statistics page on the tracker's listeners.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/http/response_parser.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/http/client_address.h"
#include "server/http/http_tracker.h"
#include "server/http/reef_process_for_test.h"
#include "server/tcp/tcp_test_client.h"

namespace reef::http_server {
namespace {

using tcp::testing::ParsedResponse;
using tcp::testing::TcpTestClient;
using testing::AnnounceRequest;
using testing::ReefForTest;
using testing::ScrapeRequest;

testing::ReefOptions TlsOptions() {
  testing::ReefOptions options;
  options.tls = true;
  return options;
}

constexpr char kHashA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kHashB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

std::unique_ptr<TcpTestClient> Connect(ReefForTest& reef, const SocketAddress& address,
                                       bool tls = false) {
  auto client = TcpTestClient::Connect(address, tls, tls ? reef.certificate().ca_pem : "");
  REQUIRE_MESSAGE(client != nullptr, "cannot connect to ", address.ToString());
  return client;
}

ParsedResponse Ask(TcpTestClient& client, const std::string& request) {
  std::optional<ParsedResponse> r = client.Exchange(request);
  REQUIRE_MESSAGE(r.has_value(), "no well-formed answer to ", request);
  return *r;
}

testing::AnnounceAnswer Announce(const ParsedResponse& r) {
  return testing::ParseAnnounceAnswer(r);
}

TEST_CASE("announce and scrape over HTTP and HTTPS, IPv4 and IPv6") {
  ReefForTest reef(TlsOptions());
  int n = 0;
  for (bool tls : {false, true}) {
    for (int family : {4, 6}) {
      CAPTURE(tls);
      CAPTURE(family);
      const std::string hash = std::string(39, 'c') + std::to_string(n++);
      auto client = Connect(reef, tls ? reef.https(family) : reef.http(family), tls);
      const auto seeder = Announce(Ask(*client, AnnounceRequest(hash, "-RF0001-seeder000001", 7001, true)));
      CHECK(seeder.complete == 1);
      CHECK(seeder.interval > 0);
      CHECK(seeder.min_interval.has_value());
      CHECK(seeder.peers.empty());  // never itself
      const auto leecher = Announce(Ask(*client, AnnounceRequest(hash, "-RF0001-leecher00001", 7002, false)));
      CHECK(leecher.complete == 1);
      CHECK(leecher.incomplete == 1);
      // Compact by default; an IPv6 client gets peers6 and an empty peers.
      if (family == 4) {
        CHECK(leecher.peers_bytes == 6);
        CHECK(leecher.peers6_bytes == 0);
      } else {
        CHECK(leecher.peers_bytes == 0);
        CHECK(leecher.peers6_bytes == 18);
      }
      const auto& peers = leecher.peers;
      REQUIRE(peers.size() == 1);
      CHECK(peers[0].port == 7001);
      const ParsedResponse scrape = Ask(*client, ScrapeRequest({hash, kHashB, hash}));
      auto files = http::ParseScrapeResponse(scrape.body);
      REQUIRE(files.ok());
      CHECK(files.value().file_count == 2);  // the repeated hash once
      http::ScrapeFileCursor cursor(files.value());
      http::ScrapeFile file;
      bool found = false;
      while (cursor.Next(&file)) {
        if (file.info_hash == InfoHash::FromHex(hash).value()) {
          found = true;
          CHECK(file.stats.complete == 1);
          CHECK(file.stats.incomplete == 1);
        }
      }
      CHECK(found);
    }
  }
  CHECK(reef.Stop() == 0);
}

TEST_CASE("compact=0 lists dictionaries with peer ids, unless no_peer_id") {
  ReefForTest reef;
  auto client = Connect(reef, reef.http(4));
  Ask(*client, AnnounceRequest(kHashA, "-RF0001-dictseeder01", 7100, true));
  const auto with_ids = Announce(Ask(*client, AnnounceRequest(kHashA, "-RF0001-dictleech001", 7101, false, "&compact=0")));
  auto peers = with_ids.peers;
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].ip_text == "127.0.0.1");
  CHECK(peers[0].port == 7100);
  REQUIRE(peers[0].peer_id.has_value());
  CHECK(*peers[0].peer_id == PeerId::FromString("-RF0001-dictseeder01").value());
  const auto without = Announce(Ask(*client, AnnounceRequest(kHashA, "-RF0001-dictleech002", 7102, false, "&compact=0&no_peer_id=1")));
  peers = without.peers;
  REQUIRE(peers.size() == 2);
  for (const auto& p : peers) CHECK_FALSE(p.peer_id.has_value());
  CHECK(reef.Stop() == 0);
}

TEST_CASE("every refusal is a bencoded failure reason; an unknown path is a 404") {
  ReefForTest reef;
  auto client = Connect(reef, reef.http(4));
  struct Case {
    std::string request;
    int status;
    std::string reason;
  };
  const Case cases[] = {
      {"GET /announce?info_hash=short&peer_id=-RF0001-000000000000&port=1 HTTP/1.1\r\n\r\n", 200,
       "info_hash must be 20 bytes"},
      {"GET /announce?peer_id=-RF0001-000000000000&port=1 HTTP/1.1\r\n\r\n", 200,
       "info_hash is missing"},
      {AnnounceRequest(kHashA, "-RF0001-portzero0000", 0, true), 200, "port must be 1-65535"},
      {"GET /scrape HTTP/1.1\r\n\r\n", 200, "full scrapes are not supported"},
      {"GET /favicon.ico HTTP/1.1\r\n\r\n", 404, std::string(kReasonUnknownPath)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    const ParsedResponse r = Ask(*client, c.request);
    CHECK(r.status == c.status);
    CHECK(r.failure_reason == c.reason);
    CHECK(r.keep_alive);  // a refused request does not cost the connection
  }
  // A malformed head does: its 4xx, then the close.
  auto other = Connect(reef, reef.http(6));
  const ParsedResponse bad = Ask(*other, "POST /announce HTTP/1.1\r\n\r\n");
  CHECK(bad.status == 405);
  CHECK_FALSE(bad.keep_alive);
  CHECK(other->WaitClosed(10'000));
  CHECK(reef.Stop() == 0);
}

TEST_CASE("the ip parameter is ignored: peers are recorded where they come from") {
  ReefForTest reef;
  auto client = Connect(reef, reef.http(4));
  Ask(*client, AnnounceRequest(kHashB, "-RF0001-claimsother1", 7200, true, "&ip=203.0.113.1&ipv4=203.0.113.2"));
  const auto r = Announce(Ask(*client, AnnounceRequest(kHashB, "-RF0001-looksatpeer1", 7201, false)));
  const auto& peers = r.peers;
  REQUIRE(peers.size() == 1);
  REQUIRE(peers[0].address.has_value());
  CHECK(*peers[0].address == http::IpAddress::V4({127, 0, 0, 1}));
  CHECK(reef.Stop() == 0);
}

TEST_CASE("keep-alive, pipelining, HTTP/1.0 and Connection: close") {
  ReefForTest reef;
  auto client = Connect(reef, reef.http(6));
  for (int i = 0; i < 3; ++i) {
    CHECK(Ask(*client, ScrapeRequest({kHashA})).status == 200);
  }
  std::string pipelined;
  for (int i = 0; i < 20; ++i) pipelined += ScrapeRequest({i % 2 ? kHashA : kHashB});
  REQUIRE(client->Send(pipelined));
  auto answers = client->Read(20);
  REQUIRE(answers.has_value());
  CHECK(answers->size() == 20);
  auto closing = Connect(reef, reef.http(4));
  const ParsedResponse last = Ask(*closing, "GET /scrape?info_hash=aaaaaaaaaaaaaaaaaaaa HTTP/1.0\r\n\r\n");
  CHECK(last.status == 200);
  CHECK_FALSE(last.keep_alive);
  CHECK(closing->WaitClosed(10'000));
  CHECK(reef.Stop() == 0);
}

// ---- The statistics page on the tracker's listeners -------------------------------------

// Responses whose bodies are not bencode (the page, its JSON), read until the server closes
// (the last request says Connection: close), each checked whole against its Content-Length.
struct PageAnswer {
  int status = 0;
  bool keep_alive = false;
  std::string content_type;
  std::string body;
};

std::vector<PageAnswer> ExchangeUntilClosed(TcpTestClient& client, const std::string& requests) {
  REQUIRE(client.Send(requests));
  REQUIRE(client.WaitClosed(10'000));
  std::vector<PageAnswer> answers;
  std::string_view rest = client.received();
  std::vector<http::Header> headers(32);
  while (!rest.empty()) {
    auto head = http::ParseResponseHead(rest, headers);
    REQUIRE_MESSAGE(head.ok(), rest);
    REQUIRE(head.value().content_length.has_value());
    const size_t length = static_cast<size_t>(*head.value().content_length);
    REQUIRE_MESSAGE(rest.size() - head.consumed() >= length, "a cut-short answer: ", rest);
    answers.push_back({head.value().status, head.value().keep_alive,
                       std::string(head.value().FindHeader("content-type").value_or("")),
                       std::string(rest.substr(head.consumed(), length))});
    rest.remove_prefix(head.consumed() + length);
  }
  return answers;
}

std::string Get(const std::string& path, bool keep_alive = true) {
  return "GET " + path + " HTTP/1.1\r\nHost: reef\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

TEST_CASE("GET /stats and /stats.json on HTTP and HTTPS, pipelined, with the metrics listener off") {
  testing::ReefOptions options = TlsOptions();
  // No metrics listener: the page's rates are sampled all the same.
  options.extra_config = "\n[metrics]\nenabled = false\n";
  ReefForTest reef(options);
  CHECK(reef.process().stderr_text().find("metrics: off") != std::string::npos);
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    auto client = Connect(reef, tls ? reef.https(4) : reef.http(4), tls);
    // An announce, then the pages pipelined behind it and around a scrape on one kept-alive
    // connection: answered in order, so the JSON counts the announce.
    const std::vector<PageAnswer> answers = ExchangeUntilClosed(
        *client, AnnounceRequest(tls ? kHashB : kHashA, "-RF0001-statsseeder1", 7300, true) +
                     Get("/stats.json") + ScrapeRequest({kHashA}) + Get("/stats", false));
    REQUIRE(answers.size() == 4);
    CHECK(answers[0].status == 200);
    CHECK(answers[0].body.find("8:completei1e") != std::string::npos);
    const PageAnswer& json = answers[1];
    CHECK(json.status == 200);
    CHECK(json.keep_alive);
    CHECK(json.content_type == "application/json");
    // The announce just made shows, on its own protocol (over HTTP, the first round's
    // announce and scrape).
    CHECK_MESSAGE(json.body.find(tls ? "\"requests\":{\"udp\":0,\"http\":2,\"https\":1,"
                                     : "\"requests\":{\"udp\":0,\"http\":1,\"https\":0,") !=
                      std::string::npos,
                  json.body);
    CHECK_MESSAGE(json.body.find(tls ? "\"torrents\":2" : "\"torrents\":1") != std::string::npos,
                  json.body);
    CHECK(answers[2].status == 200);  // the scrape, bencoded as ever
    CHECK(answers[2].body.rfind("d5:files", 0) == 0);
    const PageAnswer& html = answers[3];
    CHECK(html.status == 200);
    CHECK_FALSE(html.keep_alive);
    CHECK(html.content_type == "text/html; charset=utf-8");
    CHECK(html.body.size() > 2000);
    CHECK(html.body.find("Content-Security-Policy") != std::string::npos);
    CHECK(html.body.find("data-stat=\"torrents\">" + std::string(tls ? "2" : "1") + "<") !=
          std::string::npos);
    CHECK(html.body.rfind("</html>\n") == html.body.size() - 8);  // whole
  }
  // With two samples (one at start, the next 5 s later) the rates are known: numbers, not
  // a made-up 0 before that.
  const std::string unknown = "\"requests_per_second_by_protocol\":{\"udp\":null";
  std::string body;
  for (int attempt = 0; attempt < 30; ++attempt) {
    auto client = Connect(reef, reef.http(6));
    body = ExchangeUntilClosed(*client, Get("/stats.json", false)).at(0).body;
    if (body.find(unknown) == std::string::npos) break;
    usleep(500'000);
  }
  CHECK_MESSAGE(body.find("\"requests_per_second_by_protocol\":{\"udp\":0") != std::string::npos,
                body);
  CHECK(reef.Stop() == 0);
}

TEST_CASE("a page larger than http.max_output_size holds is a 503 there, and reef serves on") {
  testing::ReefOptions options;
  // The homepage, escaped twice over, makes the page about 20 KB; the output holds 16 KiB.
  options.extra_config = "max_output_size = 16384\n[metrics]\nlisten = [\"127.0.0.1:0\"]\n"
                         "homepage = \"https://example.org/" + std::string(2000, '&') + "\"\n";
  ReefForTest reef(options);
  CHECK(reef.process().stderr_text().find("cannot hold the statistics page") != std::string::npos);
  auto client = Connect(reef, reef.http(4));
  const ParsedResponse page = Ask(*client, Get("/stats"));
  CHECK(page.status == 503);
  CHECK(page.keep_alive);
  CHECK(page.failure_reason == kReasonPageTooLarge);
  CHECK(Announce(Ask(*client, AnnounceRequest(kHashA, "-RF0001-afterthe503x", 7400, true)))
            .complete == 1);
  CHECK(reef.Stop() == 0);
}

TEST_CASE("with stats_page = false the page's paths are 404 on the tracker's listeners") {
  testing::ReefOptions options;
  options.extra_config = "\n[metrics]\nstats_page = false\nlisten = [\"127.0.0.1:0\"]\n";
  ReefForTest reef(options);
  auto client = Connect(reef, reef.http(4));
  for (const char* path : {"/stats", "/stats.json"}) {
    const ParsedResponse r = Ask(*client, Get(path));
    CHECK(r.status == 404);
    CHECK(r.failure_reason == kReasonUnknownPath);
  }
  CHECK(reef.Stop() == 0);
}

// ---- One swarm for UDP and HTTP ---------------------------------------------------------

class UdpClient {
 public:
  explicit UdpClient(const SocketAddress& server) : v6_(server.family() == AF_INET6) {
    fd_ = socket(server.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    REQUIRE(connect(fd_, server.sockaddr_ptr(), server.sockaddr_len()) == 0);
  }
  ~UdpClient() { close(fd_); }

  std::optional<udp::Response> Exchange(const udp::Request& request) {
    std::vector<uint8_t> out(2048);
    const WriteResult w = udp::WriteRequest(request, out);
    REQUIRE(w.ok());
    REQUIRE(send(fd_, out.data(), w.length(), 0) == static_cast<ssize_t>(w.length()));
    reply_.resize(65536);
    const ssize_t n = recv(fd_, reply_.data(), reply_.size(), 0);
    if (n <= 0) return std::nullopt;
    reply_.resize(static_cast<size_t>(n));
    auto parsed = udp::ParseResponse(reply_, v6_ ? udp::IpFamily::kV6 : udp::IpFamily::kV4);
    if (!parsed.ok()) return std::nullopt;
    return parsed.value();
  }

  udp::AnnounceResponse Announce(const std::string& hash_hex, const std::string& peer_id,
                                 uint16_t port, bool seeder) {
    auto connected = Exchange(udp::ConnectRequest{.transaction_id = 1});
    REQUIRE(connected.has_value());
    udp::AnnounceRequest a;
    a.connection_id = std::get<udp::ConnectResponse>(*connected).connection_id;
    a.transaction_id = 2;
    a.info_hash = InfoHash::FromHex(hash_hex).value();
    a.peer_id = PeerId::FromString(peer_id).value();
    a.left = seeder ? 0 : 1000;
    a.event = udp::AnnounceEvent::kStarted;
    a.num_want = -1;
    a.port = port;
    auto r = Exchange(a);
    REQUIRE(r.has_value());
    REQUIRE(std::holds_alternative<udp::AnnounceResponse>(*r));
    return std::get<udp::AnnounceResponse>(*r);
  }

 private:
  int fd_ = -1;
  bool v6_;
  std::vector<uint8_t> reply_;
};

TEST_CASE("one swarm: a UDP leecher is handed an HTTP seeder, and the other way round") {
  ReefForTest reef(TlsOptions());
  for (int family : {4, 6}) {
    CAPTURE(family);
    const std::string hash = std::string(39, 'd') + std::to_string(family);
    // An HTTP(S) seeder, then a UDP leecher of the same family.
    auto http_client = Connect(reef, family == 4 ? reef.http(4) : reef.https(6), family == 6);
    Ask(*http_client, AnnounceRequest(hash, "-RF0001-httpseeder01", 7301, true));
    UdpClient udp_client(reef.udp(family));
    const udp::AnnounceResponse got = udp_client.Announce(hash, "-RF0001-udpleecher01", 7302, false);
    CHECK(got.seeders == 1);
    CHECK(got.leechers == 1);
    REQUIRE(got.peers.size() == 1);
    CHECK(got.peers[0].port == 7301);
    // The HTTP side sees the UDP leecher, and the scrape counts both.
    const auto seen = Announce(Ask(*http_client, AnnounceRequest(hash, "-RF0001-httpleech001", 7303, false)));
    CHECK(seen.complete == 1);
    CHECK(seen.incomplete == 2);
    bool has_udp_peer = false;
    for (const auto& p : seen.peers) has_udp_peer |= p.port == 7302;
    CHECK(has_udp_peer);
  }
  CHECK(reef.Stop() == 0);
}

// ---- Reverse proxy ------------------------------------------------------------------------

TEST_CASE("client_ip_header is honoured from trusted proxies only") {
  testing::ReefOptions options;
  options.extra_config = "client_ip_header = \"X-Forwarded-For\"\ntrusted_proxies = [\"127.0.0.1\"]\n";
  ReefForTest reef(options);
  auto proxied = Connect(reef, reef.http(4));  // 127.0.0.1: trusted
  std::string request = AnnounceRequest(kHashA, "-RF0001-behindproxy1", 7400, true);
  request.insert(request.size() - 2, "X-Forwarded-For: 198.51.100.7\r\n");
  Ask(*proxied, request);
  auto direct = Connect(reef, reef.http(6));  // ::1: not trusted, header ignored
  std::string spoof = AnnounceRequest(kHashA, "-RF0001-spoofer00001", 7401, false);
  spoof.insert(spoof.size() - 2, "X-Forwarded-For: 203.0.113.66\r\n");
  const auto r = Announce(Ask(*direct, spoof));
  CHECK(r.complete == 1);
  CHECK(r.incomplete == 1);
  // An IPv6 client gets IPv6 peers only; ask over IPv4 for the proxied seeder's address.
  const auto v4 = Announce(Ask(*proxied, [&] {
    std::string look = AnnounceRequest(kHashA, "-RF0001-lookerv4abcd", 7402, false);
    look.insert(look.size() - 2, "X-Forwarded-For: 198.51.100.8\r\n");
    return look;
  }()));
  bool saw_proxied = false;
  for (const auto& p : v4.peers) {
    saw_proxied |= p.address == http::IpAddress::V4({198, 51, 100, 7}) && p.port == 7400;
  }
  CHECK(saw_proxied);
  // A trusted proxy that forgets the header gets a failure reason.
  const ParsedResponse forgot = Ask(*proxied, AnnounceRequest(kHashA, "-RF0001-noheader0001", 7403, true));
  CHECK(forgot.failure_reason == kProxyHeaderMissing);
  CHECK(reef.Stop() == 0);
}

// ---- TLS certificate reload ---------------------------------------------------------------

TEST_CASE("SIGUSR1 and SIGHUP reload the certificate; a bad one keeps the old") {
  ReefForTest reef(TlsOptions());
  auto before = Connect(reef, reef.https(4), true);
  CHECK(before->PeerCommonName() == "first");
  CHECK(Ask(*before, ScrapeRequest({kHashA})).status == 200);

  const tcp::testing::TestCertificate second = tcp::testing::MakeCaSigned("second");
  tcp::testing::WriteTextFile(reef.chain_path(), second.certificate_pem);
  tcp::testing::WriteTextFile(reef.key_path(), second.private_key_pem);
  REQUIRE(reef.process().Signal(SIGUSR1));
  REQUIRE(reef.WaitForLog("https: certificate reloaded"));
  auto after = TcpTestClient::Connect(reef.https(6), true, second.ca_pem);
  REQUIRE(after != nullptr);
  CHECK(after->PeerCommonName() == "second");
  // The connection made before the reload is still served.
  CHECK(Ask(*before, ScrapeRequest({kHashA})).status == 200);

  // A key that does not match the new chain: refused, the second certificate stays.
  const tcp::testing::TestCertificate third = tcp::testing::MakeCaSigned("third");
  tcp::testing::WriteTextFile(reef.chain_path(), third.certificate_pem);
  REQUIRE(reef.process().Signal(SIGHUP));
  REQUIRE(reef.WaitForLog("keeps the certificate it has"));
  auto still = TcpTestClient::Connect(reef.https(4), true, second.ca_pem);
  REQUIRE(still != nullptr);
  CHECK(still->PeerCommonName() == "second");
  CHECK(reef.Stop() == 0);
}

TEST_CASE("a certificate that does not load at start stops reef with exit 2") {
  const std::string chain = tcp::testing::TempPath("bad_start_chain.pem");
  const std::string config = tcp::testing::TempPath("bad_start.toml");
  tcp::testing::WriteTextFile(chain, "not a certificate\n");
  tcp::testing::WriteTextFile(
      config, "[udp]\nenabled = false\n[http]\nlisten = [\"127.0.0.1:0\"]\n[http.tls]\n"
              "listen = [\"127.0.0.1:0\"]\ncertificate_chain = \"" + chain +
                  "\"\nprivate_key = \"" + chain + "\"\n");
  auto child = reef::testing::Subprocess::Start({"server/reef", "--config", config});
  REQUIRE(child.ok());
  std::optional<int> status = (*child)->Wait(absl::Seconds(60));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 2);
  CHECK((*child)->stderr_text().find("http.tls") != std::string::npos);
}

}  // namespace
}  // namespace reef::http_server
