// A blocking WebSocket client over one TCP connection (plain or TLS), for tests that talk
// to a live worker or the reef binary: the upgrade handshake, masked client frames, and
// the server's frames read back and checked. Every wait is bounded.
#ifndef REEF_SERVER_WS_WS_TEST_CLIENT_H_
#define REEF_SERVER_WS_WS_TEST_CLIENT_H_

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/socket_address.h"
#include "server/ws/webtorrent_test_util.h"

namespace reef::ws::testing {

class WsTestClient {
 public:
  // Connects (TLS when `tls`, trusting anything) and does the upgrade on `path`; nullptr
  // if the connection, the TLS handshake or the upgrade fails (not 101, wrong accept).
  static std::unique_ptr<WsTestClient> Connect(const SocketAddress& server, bool tls = false,
                                               std::string_view path = "/announce",
                                               int timeout_ms = 5000);
  // Connects without upgrading (to send raw bytes, or a handshake of one's own).
  static std::unique_ptr<WsTestClient> ConnectRaw(const SocketAddress& server, bool tls = false,
                                                  int timeout_ms = 5000);
  ~WsTestClient();
  WsTestClient(const WsTestClient&) = delete;
  WsTestClient& operator=(const WsTestClient&) = delete;

  bool SendRaw(std::string_view bytes);
  bool SendRaw(const std::vector<uint8_t>& bytes);
  bool SendText(std::string_view json);
  // Reads until `count` whole frames arrived (beyond those already returned), the server
  // closed, or the timeout. Fails (nullopt) if anything is not a valid server frame.
  std::optional<std::vector<ReceivedFrame>> Read(size_t count, int timeout_ms = 5000);
  // Everything that arrives within `ms` (for "nothing more comes").
  std::optional<std::vector<ReceivedFrame>> ReadFor(int ms);
  // True if the server closes the connection within the timeout (frames before are kept
  // in received()).
  bool WaitClosed(int timeout_ms);
  const std::string& received() const { return received_; }
  int fd() const { return fd_; }

 private:
  WsTestClient() = default;
  bool ReadSome(int timeout_ms);
  std::optional<std::vector<ReceivedFrame>> TakeFrames();

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string received_;
  size_t parsed_ = 0;
  bool closed_ = false;
};

}  // namespace reef::ws::testing

#endif  // REEF_SERVER_WS_WS_TEST_CLIENT_H_
