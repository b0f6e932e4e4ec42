#include "server/ws/ws_test_client.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>

#include "protocol/http/response_parser.h"
#include "protocol/ws/handshake.h"
#include "server/tcp/tcp_test_client.h"

namespace reef::ws::testing {

std::unique_ptr<WsTestClient> WsTestClient::ConnectRaw(const SocketAddress& server, bool tls,
                                                       int timeout_ms) {
  std::unique_ptr<WsTestClient> client(new WsTestClient());
  client->fd_ = socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client->fd_ < 0) return nullptr;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(client->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(client->fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(client->fd_, server.sockaddr_ptr(), server.sockaddr_len()) != 0) return nullptr;
  if (!tls) return client;
  client->ctx_ = SSL_CTX_new(TLS_client_method());
  if (client->ctx_ == nullptr) return nullptr;
  client->ssl_ = SSL_new(client->ctx_);
  SSL_set_fd(client->ssl_, client->fd_);
  SSL_set_tlsext_host_name(client->ssl_, "localhost");
  ERR_clear_error();
  if (SSL_connect(client->ssl_) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return client;
}

std::unique_ptr<WsTestClient> WsTestClient::Connect(const SocketAddress& server, bool tls,
                                                    std::string_view path, int timeout_ms) {
  auto client = ConnectRaw(server, tls, timeout_ms);
  if (client == nullptr) return nullptr;
  constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
  std::array<uint8_t, 1024> request;
  const WriteResult w = WriteUpgradeRequest(request, "localhost", path, kKey);
  if (!w.ok() ||
      !client->SendRaw(std::string_view(reinterpret_cast<const char*>(request.data()), w.length()))) {
    return nullptr;
  }
  // The 101's head, and nothing of what follows it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::array<http::Header, 32> headers;
    const auto head = http::ParseResponseHead(client->received_, headers);
    if (head.ok()) {
      const auto accept = head.value().FindHeader("sec-websocket-accept");
      const auto want = ComputeAccept(kKey);
      if (head.value().status != 101 || !accept || !want ||
          *accept != std::string_view(want->data(), want->size())) {
        return nullptr;
      }
      client->parsed_ = head.consumed();
      return client;
    }
    if (head.failed()) return nullptr;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !client->ReadSome(static_cast<int>(left.count()))) return nullptr;
  }
}

WsTestClient::~WsTestClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool WsTestClient::SendRaw(std::string_view bytes) {
  return tcp::testing::SendAll(fd_, ssl_, bytes);
}

bool WsTestClient::SendRaw(const std::vector<uint8_t>& bytes) {
  return SendRaw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool WsTestClient::SendText(std::string_view json) { return SendRaw(ClientTextFrame(json)); }

bool WsTestClient::ReadSome(int timeout_ms) {
  if (closed_) return false;
  return tcp::testing::ReadSome(fd_, ssl_, timeout_ms, received_, closed_);
}

// The whole frames received and not yet returned.
std::optional<std::vector<ReceivedFrame>> WsTestClient::TakeFrames() {
  const std::string_view rest = std::string_view(received_).substr(parsed_);
  // Only whole frames: find where the last whole one ends.
  size_t whole = 0;
  while (whole < rest.size()) {
    const auto bytes = std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(rest.data()) + whole, rest.size() - whole);
    const auto header = ParseFrameHeader(bytes, Role::kClient, FrameLimits{.max_payload = 1u << 30});
    if (header.failed()) return std::nullopt;
    if (header.incomplete() ||
        header.value().payload_length > bytes.size() - header.value().header_length) {
      break;
    }
    whole += header.value().header_length + static_cast<size_t>(header.value().payload_length);
  }
  auto frames = ParseServerFrames(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(rest.data()), whole));
  if (frames.has_value()) parsed_ += whole;
  return frames;
}

std::optional<std::vector<ReceivedFrame>> WsTestClient::Read(size_t count, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<ReceivedFrame> all;
  while (true) {
    auto frames = TakeFrames();
    if (!frames.has_value()) return std::nullopt;
    all.insert(all.end(), frames->begin(), frames->end());
    if (all.size() >= count || closed_) return all;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // Out of time: one last look at what has arrived already, then return.
    if (left.count() <= 0) {
      if (!ReadSome(0)) return all;
      continue;
    }
    ReadSome(static_cast<int>(left.count()));
  }
}

std::optional<std::vector<ReceivedFrame>> WsTestClient::ReadFor(int ms) {
  return Read(~size_t{0}, ms);
}

bool WsTestClient::WaitClosed(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    ReadSome(static_cast<int>(left.count()));
  }
  return true;
}

}  // namespace reef::ws::testing
