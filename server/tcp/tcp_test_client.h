// A blocking HTTP(S) client over one TCP connection, for tests that talk to a live worker
// or the reef binary. Every wait is bounded (a receive timeout on the socket).
#ifndef REEF_SERVER_TCP_TCP_TEST_CLIENT_H_
#define REEF_SERVER_TCP_TCP_TEST_CLIENT_H_

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/socket_address.h"
#include "server/tcp/connection_test_util.h"

namespace reef::tcp::testing {

// One blocking socket's I/O, plain (`ssl` null) or TLS, shared by the test clients here and
// in server/ws. Sends all of `bytes`; false if the connection failed.
bool SendAll(int fd, SSL* ssl, std::string_view bytes);
// Appends what arrives within `timeout_ms` to `received`: false on a timeout, or when the
// peer closed or the connection failed (then `closed` is set). A TLS record without data
// (a session ticket) is true with nothing appended.
bool ReadSome(int fd, SSL* ssl, int timeout_ms, std::string& received, bool& closed);

class TcpTestClient {
 public:
  // Connects (plain), or with TLS when `tls` (trusting `ca_pem`, or anything when empty).
  // nullptr when the connection or the handshake fails.
  static std::unique_ptr<TcpTestClient> Connect(const SocketAddress& server, bool tls = false,
                                                std::string_view ca_pem = {},
                                                int timeout_ms = 5000);
  ~TcpTestClient();
  TcpTestClient(const TcpTestClient&) = delete;
  TcpTestClient& operator=(const TcpTestClient&) = delete;

  int fd() const { return fd_; }
  bool Send(std::string_view bytes);
  // Reads until `count` whole responses arrived, the server closed, or the timeout;
  // nullopt if what arrived is not well-formed (see ParseResponses).
  std::optional<std::vector<ParsedResponse>> Read(size_t count, int timeout_ms = 5000);
  // Sends `request` and reads one response.
  std::optional<ParsedResponse> Exchange(std::string_view request, int timeout_ms = 5000);
  // True if the server closes the connection (EOF or reset) within the timeout; bytes
  // that arrive first are kept in received().
  bool WaitClosed(int timeout_ms);
  const std::string& received() const { return received_; }
  // The peer certificate's subject CN (TLS only).
  std::string PeerCommonName() const;

 private:
  TcpTestClient() = default;
  // One read; false on EOF, error or timeout.
  bool ReadSome(int timeout_ms);

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string received_;
  size_t parsed_ = 0;  // bytes of received_ already returned as responses
  bool closed_ = false;
};

}  // namespace reef::tcp::testing

#endif  // REEF_SERVER_TCP_TCP_TEST_CLIENT_H_
