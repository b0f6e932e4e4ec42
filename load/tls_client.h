// TLS for the load generator's HTTP connections: a client context (no certificate
// checks: the load generator measures, it does not trust), and a non-blocking TLS stream
// over a connected socket.
//
// Each connection does a full handshake unless the context resumes sessions: then the
// first handshake's session (a TLS 1.3 ticket) is offered by every later connection, as a
// browser or a BitTorrent client reconnecting to the same tracker would. load/bench.py
// measures both: keep-alive HTTPS, and a handshake per request.
#ifndef REEF_LOAD_TLS_CLIENT_H_
#define REEF_LOAD_TLS_CLIENT_H_

#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"

namespace reef::load {

class TlsClientContext {
 public:
  // `resume`: offer the last session a connection got on the next handshake.
  static absl::StatusOr<std::unique_ptr<TlsClientContext>> Create(bool resume);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool resume() const { return resume_; }
  // The session to offer (nullptr: none yet, or not resuming); a new reference.
  SSL_SESSION* TakeSessionRef() const;
  void RememberSession(SSL_SESSION* session);  // takes a new reference itself

  // Handshakes done, and how many of them resumed a session.
  uint64_t handshakes() const { return handshakes_; }
  uint64_t resumed() const { return resumed_; }
  void CountHandshake(bool was_resumed) {
    ++handshakes_;
    resumed_ += was_resumed ? 1 : 0;
  }

 private:
  TlsClientContext(SSL_CTX* ctx, bool resume) : ctx_(ctx), resume_(resume) {}
  SSL_CTX* ctx_;
  bool resume_;
  SSL_SESSION* session_ = nullptr;
  uint64_t handshakes_ = 0;
  uint64_t resumed_ = 0;
};

// A client TLS stream over a non-blocking connected socket. Every call returns at once.
class TlsStream {
 public:
  enum class Io { kOk, kWantRead, kWantWrite, kClosed, kError };

  // nullptr if OpenSSL cannot make the SSL.
  static std::unique_ptr<TlsStream> Start(TlsClientContext& context, int fd);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  bool handshake_done() const { return done_; }
  // Advances the handshake: kOk once done.
  Io Handshake();
  // Writes up to `size` bytes of plaintext; `*written` says how many went (all, or none
  // with kWantRead/kWantWrite: retry the same bytes).
  Io Write(const void* data, size_t size, size_t* written);
  // Reads plaintext; kOk with `*read` > 0, kWantRead when nothing is there yet.
  Io Read(void* data, size_t size, size_t* read);

 private:
  TlsStream(TlsClientContext& context, SSL* ssl) : context_(context), ssl_(ssl) {}
  Io Classify(int result);

  TlsClientContext& context_;
  SSL* ssl_;
  bool done_ = false;
};

}  // namespace reef::load

#endif  // REEF_LOAD_TLS_CLIENT_H_
