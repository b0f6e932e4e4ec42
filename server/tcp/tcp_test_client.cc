#include "server/tcp/tcp_test_client.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace reef::tcp::testing {

std::unique_ptr<TcpTestClient> TcpTestClient::Connect(const SocketAddress& server, bool tls,
                                                      std::string_view ca_pem, int timeout_ms) {
  std::unique_ptr<TcpTestClient> client(new TcpTestClient());
  client->fd_ = socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client->fd_ < 0) return nullptr;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(client->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(client->fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(client->fd_, server.sockaddr_ptr(), server.sockaddr_len()) != 0) return nullptr;
  if (!tls) return client;
  client->ctx_ = SSL_CTX_new(TLS_client_method());
  if (client->ctx_ == nullptr) return nullptr;
  if (!ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (ca == nullptr) return nullptr;
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client->ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(client->ctx_, SSL_VERIFY_PEER, nullptr);
  }
  client->ssl_ = SSL_new(client->ctx_);
  SSL_set_fd(client->ssl_, client->fd_);
  SSL_set_tlsext_host_name(client->ssl_, "localhost");
  if (!ca_pem.empty()) SSL_set1_host(client->ssl_, "localhost");
  ERR_clear_error();
  if (SSL_connect(client->ssl_) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return client;
}

bool SendAll(int fd, SSL* ssl, std::string_view bytes) {
  if (ssl != nullptr) {
    ERR_clear_error();
    const bool ok = SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) ==
                    static_cast<int>(bytes.size());
    ERR_clear_error();
    return ok;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool ReadSome(int fd, SSL* ssl, int timeout_ms, std::string& received, bool& closed) {
  if (ssl == nullptr || SSL_pending(ssl) == 0) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return false;
  }
  char buffer[16384];
  if (ssl != nullptr) {
    ERR_clear_error();
    const int n = SSL_read(ssl, buffer, sizeof(buffer));
    if (n <= 0) {
      const int e = SSL_get_error(ssl, n);
      ERR_clear_error();
      if (e == SSL_ERROR_WANT_READ) return true;  // a record without data (a ticket)
      closed = true;
      return false;
    }
    received.append(buffer, static_cast<size_t>(n));
    return true;
  }
  const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    closed = true;
    return false;
  }
  received.append(buffer, static_cast<size_t>(n));
  return true;
}

TcpTestClient::~TcpTestClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool TcpTestClient::Send(std::string_view bytes) { return testing::SendAll(fd_, ssl_, bytes); }

bool TcpTestClient::ReadSome(int timeout_ms) {
  if (closed_) return false;
  return testing::ReadSome(fd_, ssl_, timeout_ms, received_, closed_);
}

std::optional<std::vector<ParsedResponse>> TcpTestClient::Read(size_t count, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::string rest;
    auto parsed = ParseResponses(std::string_view(received_).substr(parsed_), &rest);
    if (!parsed.has_value()) return std::nullopt;
    if (parsed->size() >= count || closed_) {
      parsed_ = received_.size() - rest.size();
      return parsed;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return parsed;
    ReadSome(static_cast<int>(left.count()));
  }
}

std::optional<ParsedResponse> TcpTestClient::Exchange(std::string_view request, int timeout_ms) {
  if (!Send(request)) return std::nullopt;
  auto r = Read(1, timeout_ms);
  if (!r.has_value() || r->empty()) return std::nullopt;
  return r->front();
}

bool TcpTestClient::WaitClosed(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    ReadSome(static_cast<int>(left.count()));
  }
  return true;
}

std::string TcpTestClient::PeerCommonName() const {
  if (ssl_ == nullptr) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return name;
}

}  // namespace reef::tcp::testing
