#include "server/http/reef_process_for_test.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <regex>
#include <sstream>

#include "protocol/common/fixed_bytes.h"
#include "protocol/http/query.h"
#include "protocol/http/response_parser.h"

namespace reef::http_server::testing {
namespace {

constexpr absl::Duration kStartLimit = absl::Seconds(60);
constexpr absl::Duration kExitLimit = absl::Seconds(60);

std::string Encode(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out(bytes.size() * 3);
  const WriteResult w = http::PercentEncode(bytes, out);
  return std::string(reinterpret_cast<const char*>(out.data()), w.ok() ? w.length() : 0);
}

}  // namespace

ReefForTest::ReefForTest(const ReefOptions& options) {
  static int instance = 0;
  const std::string tag = std::to_string(getpid()) + "_" + std::to_string(instance++);
  std::string config =
      "[udp]\nlisten = [\"127.0.0.1:0\", \"[::1]:0\"]\n\n"
      "[http]\nlisten = [\"127.0.0.1:0\", \"[::1]:0\"]\n" +
      options.extra_config + "\n";
  if (options.tls) {
    certificate_ = tcp::testing::MakeCaSigned("first");
    chain_path_ = tcp::testing::TempPath("chain_" + tag + ".pem");
    key_path_ = tcp::testing::TempPath("key_" + tag + ".pem");
    tcp::testing::WriteTextFile(chain_path_, certificate_.certificate_pem);
    tcp::testing::WriteTextFile(key_path_, certificate_.private_key_pem);
    config += "[http.tls]\nlisten = [\"127.0.0.1:0\", \"[::1]:0\"]\ncertificate_chain = \"" +
              chain_path_ + "\"\nprivate_key = \"" + key_path_ + "\"\n" + options.tls_extra_config;
  }
  const std::string config_path = tcp::testing::TempPath("reef_" + tag + ".toml");
  tcp::testing::WriteTextFile(config_path, config);
  absl::StatusOr<std::unique_ptr<reef::testing::Subprocess>> started =
      reef::testing::Subprocess::Start({options.binary, "--config", config_path});
  REQUIRE_MESSAGE(started.ok(), started.status());
  process_ = *std::move(started);
  REQUIRE_MESSAGE(process_->WaitForStderr("supervisor: running", kStartLimit),
                  process_->stderr_text());
  // Every test against the binary runs under its seccomp filter (the default).
  REQUIRE_MESSAGE(process_->stderr_text().find(" system calls allowed") != std::string::npos,
                  process_->stderr_text());
  udp_ = ListeningOn("udp");
  http_ = ListeningOn("http");
  REQUIRE(udp_.size() == 2);
  REQUIRE(http_.size() == 2);
  if (options.tls) {
    https_ = ListeningOn("https");
    REQUIRE(https_.size() == 2);
  }
}

ReefForTest::~ReefForTest() {
  if (!exit_.has_value()) process_->Signal(SIGKILL);
}

std::vector<SocketAddress> ReefForTest::ListeningOn(const std::string& what) {
  // "<what>: listening on 127.0.0.1:PORT" lines, in order.
  std::vector<SocketAddress> out;
  const std::regex line(what + ": listening on (\\S+)");
  const std::string log = process_->stderr_text();
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    absl::StatusOr<SocketAddress> a = SocketAddress::Parse((*it)[1].str());
    if (a.ok()) out.push_back(*a);
  }
  return out;
}

bool ReefForTest::WaitForLog(const std::string& needle, absl::Duration timeout) {
  return process_->WaitForStderr(needle, timeout);
}

int ReefForTest::Stop() {
  if (exit_.has_value()) return *exit_;
  process_->Signal(SIGTERM);
  std::optional<int> status = process_->Wait(kExitLimit);
  REQUIRE_MESSAGE(status.has_value(), "reef did not stop: ", process_->stderr_text());
  exit_ = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return *exit_;
}

std::string AnnounceRequest(const std::string& info_hash_hex, const std::string& peer_id,
                            uint16_t port, bool seeder, const std::string& extra,
                            bool keep_alive) {
  const InfoHash hash = InfoHash::FromHex(info_hash_hex).value();
  std::string target = "/announce?info_hash=" + Encode(hash.bytes()) +
                       "&peer_id=" + Encode(std::span(reinterpret_cast<const uint8_t*>(peer_id.data()), peer_id.size())) +
                       "&port=" + std::to_string(port) + "&uploaded=0&downloaded=0&left=" +
                       (seeder ? "0" : "1000") + extra;
  return "GET " + target + " HTTP/1.1\r\nHost: reef\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

std::string ScrapeRequest(const std::vector<std::string>& info_hashes_hex) {
  std::string target = "/scrape";
  char sep = '?';
  for (const std::string& hex : info_hashes_hex) {
    target += sep;
    target += "info_hash=" + Encode(InfoHash::FromHex(hex).value().bytes());
    sep = '&';
  }
  return "GET " + target + " HTTP/1.1\r\nHost: reef\r\n\r\n";
}

AnnounceAnswer ParseAnnounceAnswer(const tcp::testing::ParsedResponse& r) {
  REQUIRE(r.status == 200);
  auto parsed = http::ParseAnnounceResponse(r.body);
  REQUIRE_MESSAGE(parsed.ok(), r.body);
  const http::AnnounceResponseView& v = parsed.value();
  AnnounceAnswer out;
  if (v.failure_reason) out.failure_reason = std::string(*v.failure_reason);
  out.complete = v.complete;
  out.incomplete = v.incomplete;
  out.interval = v.interval;
  out.min_interval = v.min_interval;
  out.peers_bytes = v.peers.size();
  out.peers6_bytes = v.peers6.size();
  http::PeerCursor cursor(v);
  http::ParsedPeer p;
  while (cursor.Next(&p)) {
    out.peers.push_back({p.address, std::string(p.ip_text), p.port, p.peer_id});
  }
  return out;
}

}  // namespace reef::http_server::testing
