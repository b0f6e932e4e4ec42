// The reef binary serving HTTP(S) for a test: a config on loopback port 0 (UDP, HTTP and,
// when asked, HTTPS with a certificate made now), the bound addresses read from its log,
// and bounded waits. The destructor kills a reef still running (by its pid).
#ifndef REEF_SERVER_HTTP_REEF_PROCESS_FOR_TEST_H_
#define REEF_SERVER_HTTP_REEF_PROCESS_FOR_TEST_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/common/socket_address.h"
#include "server/common/subprocess_for_test.h"
#include "server/tcp/connection_test_util.h"
#include "server/tcp/tls_test_util.h"

namespace reef::http_server::testing {

struct ReefOptions {
  bool tls = false;
  std::string extra_config;      // appended to the [http] section
  std::string tls_extra_config;  // appended to the [http.tls] section
  std::string binary = "server/reef";
};

class ReefForTest {
 public:
  // Starts reef and waits until it runs; fails the test if it does not.
  explicit ReefForTest(const ReefOptions& options = {});
  ~ReefForTest();

  const SocketAddress& udp(int family) const { return family == 4 ? udp_[0] : udp_[1]; }
  const SocketAddress& http(int family) const { return family == 4 ? http_[0] : http_[1]; }
  const SocketAddress& https(int family) const { return family == 4 ? https_[0] : https_[1]; }
  const tcp::testing::TestCertificate& certificate() const { return certificate_; }
  const std::string& chain_path() const { return chain_path_; }
  const std::string& key_path() const { return key_path_; }

  reef::testing::Subprocess& process() { return *process_; }
  // Waits (bounded) until the log contains `needle`.
  bool WaitForLog(const std::string& needle, absl::Duration timeout = absl::Seconds(30));
  // SIGTERM, then the exit status (exit code, or -1 for anything but a normal exit).
  int Stop();

 private:
  std::vector<SocketAddress> ListeningOn(const std::string& what);

  tcp::testing::TestCertificate certificate_;
  std::string chain_path_;
  std::string key_path_;
  std::unique_ptr<reef::testing::Subprocess> process_;
  std::vector<SocketAddress> udp_;
  std::vector<SocketAddress> http_;
  std::vector<SocketAddress> https_;
  std::optional<int> exit_;
};

// "GET /announce?... HTTP/1.1" from the parts a test varies; `extra` is added to the
// query as it is ("&compact=0").
std::string AnnounceRequest(const std::string& info_hash_hex, const std::string& peer_id,
                            uint16_t port, bool seeder, const std::string& extra = "",
                            bool keep_alive = true);
std::string ScrapeRequest(const std::vector<std::string>& info_hashes_hex);

// An announce answer parsed into values it owns (the protocol library's views point into
// the body, which a test's temporaries would not keep alive).
struct AnnounceAnswer {
  struct Peer {
    std::optional<IpAddress> address;
    std::string ip_text;  // compact=0 only
    uint16_t port = 0;
    std::optional<PeerId> peer_id;
  };
  std::optional<std::string> failure_reason;
  std::optional<int64_t> complete, incomplete, interval, min_interval;
  size_t peers_bytes = 0;   // compact "peers"
  size_t peers6_bytes = 0;  // compact "peers6"
  std::vector<Peer> peers;  // every peer, compact or not
};
// Fails the test unless `r` is a 200 with an announce body that parses.
AnnounceAnswer ParseAnnounceAnswer(const tcp::testing::ParsedResponse& r);

}  // namespace reef::http_server::testing

#endif  // REEF_SERVER_HTTP_REEF_PROCESS_FOR_TEST_H_
