// TLS for reef's TCP listeners, with OpenSSL, as a layer below the connection.
//
// What a server context allows: TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key exchange
// with AEAD ciphers; no renegotiation, no compression; SSL_MODE_RELEASE_BUFFERS, so an
// idle connection keeps no record buffers; stateless session tickets (one per handshake)
// and no server-side session cache, so resumption costs no memory on the server.
//
// Certificate reload (nginx and haproxy do the same): a TlsContextStore holds the SSL_CTX
// used for new handshakes. Reload() loads the files into a new SSL_CTX and, only if that
// worked, swaps it in; a connection keeps the context it started with (OpenSSL counts the
// references), so no connection is dropped. A bad new certificate or key leaves the old
// context in place and Reload() says why. Workers read the current context through a
// TlsContextReader, which takes the store's lock only when the version number changed.
//
// Records never touch a socket here: OpenSSL reads ciphertext from and writes records to
// a BIO of our own (NewSpanBio), which reads from a span the connection sets before each
// call and appends to the connection's output buffer (TlsIo). That keeps TLS apart from
// sockets, so unit tests and the fuzz target run whole handshakes in memory, and keeps no
// buffer per connection in the BIO.
#ifndef REEF_SERVER_TCP_TLS_H_
#define REEF_SERVER_TCP_TLS_H_

#include <openssl/ssl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/common/mutex.h"
#include "server/tcp/buffer.h"

namespace reef::tcp {

// Certificate files are read whole; anything bigger is refused (a chain is a few KiB).
inline constexpr size_t kMaxTlsFileBytes = 1 << 20;

struct TlsFiles {
  // PEM: the server's certificate first, then the intermediates (not the root).
  std::string certificate_chain;
  // PEM: the private key of the first certificate (unencrypted).
  std::string private_key;
};

// A counted reference to an SSL_CTX (OpenSSL's own count: SSL_CTX_up_ref / SSL_CTX_free).
class SslContext {
 public:
  SslContext() = default;
  // Takes over one reference.
  static SslContext Adopt(SSL_CTX* ctx) {
    SslContext c;
    c.ctx_ = ctx;
    return c;
  }
  SslContext(const SslContext& other) : ctx_(other.ctx_) {
    if (ctx_ != nullptr) SSL_CTX_up_ref(ctx_);
  }
  SslContext& operator=(const SslContext& other) {
    SslContext copy(other);
    std::swap(ctx_, copy.ctx_);
    return *this;
  }
  SslContext(SslContext&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  SslContext& operator=(SslContext&& other) noexcept {
    std::swap(ctx_, other.ctx_);
    return *this;
  }
  ~SslContext() {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }
  SSL_CTX* get() const { return ctx_; }
  explicit operator bool() const { return ctx_ != nullptr; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

// A server context from PEM files (see the file comment for what it allows). The error
// names the file and OpenSSL's reason: unreadable, not PEM, no certificate, a key that
// does not match the certificate, ...
absl::StatusOr<SslContext> LoadServerContext(const TlsFiles& files);

// The same from PEM text already in memory (tests).
absl::StatusOr<SslContext> MakeServerContext(std::string_view certificate_chain_pem,
                                             std::string_view private_key_pem);

class TlsContextStore {
 public:
  // Loads the files once; an error here means reef cannot serve TLS (exit at start).
  static absl::StatusOr<std::unique_ptr<TlsContextStore>> Load(TlsFiles files);
  // A store around a context made elsewhere (tests); Reload() fails.
  explicit TlsContextStore(SslContext context);

  // Loads the files again. On success new handshakes use the new context; on failure
  // the old one stays and the status says why. Any thread.
  absl::Status Reload();

  // The context for new handshakes, and its version (bumped by each successful Reload).
  SslContext Current() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  const TlsFiles& files() const { return files_; }

 private:
  TlsContextStore(TlsFiles files, SslContext context);

  const TlsFiles files_;
  mutable Mutex mu_;
  SslContext current_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> version_{1};
};

// One worker's view of a store: Get() costs an atomic load unless a reload happened.
class TlsContextReader {
 public:
  explicit TlsContextReader(const TlsContextStore* store) : store_(store) {}
  SSL_CTX* Get() {
    const uint64_t v = store_->version();
    if (v != version_ || !cached_) {
      cached_ = store_->Current();
      version_ = v;
    }
    return cached_.get();
  }

 private:
  const TlsContextStore* store_;
  uint64_t version_ = 0;
  SslContext cached_;
};

// Where the span BIO reads ciphertext from and writes records to, set by the connection
// before each OpenSSL call. One per worker: a worker drives one connection at a time.
struct TlsIo {
  std::span<const uint8_t> in;  // ciphertext OpenSSL may read
  size_t in_used = 0;           // how much of `in` it has read
  ByteBuffer* out = nullptr;    // records OpenSSL writes go here...
  BufferPool* out_pool = nullptr;  // ...in blocks of this pool
};

// A BIO whose reads come from io->in and whose writes append to *io->out (partially when
// it is nearly full; "retry" when it is full or `in` is used up). It never signals end of
// file: the connection reports the peer's close itself.
BIO* NewSpanBio(TlsIo* io);

// OpenSSL's queued errors as one line (and clears the queue); `fallback` if none.
std::string TakeOpenSslErrors(std::string_view fallback);

// Extra bytes a TLS record adds to its plaintext, at most, with the ciphers allowed here
// (TLS 1.3: 5 header + 1 type + 16 tag; TLS 1.2 GCM: 5 + 8 explicit nonce + 16 tag), with
// room to spare; and the largest plaintext in one record.
inline constexpr size_t kMaxTlsRecordOverhead = 64;
inline constexpr size_t kMaxTlsPlaintextRecord = 16384;
// Ciphertext one read from the socket may bring: one whole maximal record.
inline constexpr size_t kTlsReadBytes = kMaxTlsPlaintextRecord + 2048;

// Bytes `plaintext` bytes take once encrypted, at most.
constexpr size_t TlsSealedSize(size_t plaintext) {
  return plaintext + (plaintext / kMaxTlsPlaintextRecord + 1) * kMaxTlsRecordOverhead;
}

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_TLS_H_
