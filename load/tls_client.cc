#include "load/tls_client.h"

#include <openssl/err.h>

namespace reef::load {

absl::StatusOr<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(bool resume) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Partial writes, and a write buffer that may move between retries (our string grows).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return std::unique_ptr<TlsClientContext>(new TlsClientContext(ctx, resume));
}

TlsClientContext::~TlsClientContext() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  SSL_CTX_free(ctx_);
}

SSL_SESSION* TlsClientContext::TakeSessionRef() const {
  if (!resume_ || session_ == nullptr) return nullptr;
  SSL_SESSION_up_ref(session_);
  return session_;
}

void TlsClientContext::RememberSession(SSL_SESSION* session) {
  if (!resume_ || session == nullptr || !SSL_SESSION_is_resumable(session)) return;
  SSL_SESSION_up_ref(session);
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = session;
}

std::unique_ptr<TlsStream> TlsStream::Start(TlsClientContext& context, int fd) {
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_SESSION* session = context.TakeSessionRef()) {
    SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
  }
  SSL_set_connect_state(ssl);
  return std::unique_ptr<TlsStream>(new TlsStream(context, ssl));
}

TlsStream::~TlsStream() {
  // Closing without close_notify makes OpenSSL mark the session not resumable; a load
  // client drops connections at will, so it ends them "quietly", which keeps it.
  SSL_set_quiet_shutdown(ssl_, 1);
  SSL_shutdown(ssl_);
  ERR_clear_error();
  SSL_free(ssl_);
}

TlsStream::Io TlsStream::Classify(int result) {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return Io::kClosed;
    default:
      ERR_clear_error();
      return Io::kError;
  }
}

TlsStream::Io TlsStream::Handshake() {
  if (done_) return Io::kOk;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    context_.CountHandshake(SSL_session_reused(ssl_) == 1);
    return Io::kOk;
  }
  return Classify(r);
}

TlsStream::Io TlsStream::Write(const void* data, size_t size, size_t* written) {
  *written = 0;
  if (size == 0) return Io::kOk;
  ERR_clear_error();
  size_t n = 0;
  const int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1) {
    *written = n;
    return Io::kOk;
  }
  return Classify(r);
}

TlsStream::Io TlsStream::Read(void* data, size_t size, size_t* read) {
  *read = 0;
  ERR_clear_error();
  size_t n = 0;
  const int r = SSL_read_ex(ssl_, data, size, &n);
  if (r == 1) {
    *read = n;
    // A TLS 1.3 ticket arrives after the handshake: keep the newest for resumption.
    context_.RememberSession(SSL_get0_session(ssl_));
    return Io::kOk;
  }
  const Io io = Classify(r);
  if (io == Io::kWantRead) context_.RememberSession(SSL_get0_session(ssl_));
  return io;
}

}  // namespace reef::load
