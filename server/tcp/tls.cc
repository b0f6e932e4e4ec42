#include "server/tcp/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/strings.h"

namespace reef::tcp {
namespace {

// TLS 1.2 suites: forward-secret key exchange and AEAD only (TLS 1.3's are all that).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// Reads a whole regular file, without blocking on a FIFO or a device and without reading
// more than kMaxTlsFileBytes.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, StrCat(what, " ", path));
  std::string text;
  struct stat st {};
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = absl::ErrnoToStatus(errno, StrCat(what, " ", path));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(StrCat(what, " ", path, ": not a regular file"));
  } else if (static_cast<uint64_t>(st.st_size) > kMaxTlsFileBytes) {
    status = absl::InvalidArgumentError(
        StrCat(what, " ", path, ": larger than ", kMaxTlsFileBytes, " bytes"));
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::ErrnoToStatus(errno, StrCat(what, " ", path));
        break;
      }
      if (n == 0) break;  // the file shrank while we read it
      done += static_cast<size_t>(n);
    }
    text.resize(done);
  }
  close(fd);
  if (!status.ok()) return status;
  return text;
}

// ---- The span BIO ----------------------------------------------------------------------

int SpanBioWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  auto* io = static_cast<TlsIo*>(BIO_get_data(bio));
  if (length <= 0) return 0;
  const size_t room = io->out->room(*io->out_pool);
  if (room == 0) {
    BIO_set_retry_write(bio);
    return -1;
  }
  const size_t n = std::min(room, static_cast<size_t>(length));
  std::span<uint8_t> to = io->out->Writable(*io->out_pool);
  std::memcpy(to.data(), data, n);
  io->out->Commit(n, *io->out_pool);
  return static_cast<int>(n);
}

int SpanBioRead(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  auto* io = static_cast<TlsIo*>(BIO_get_data(bio));
  if (length <= 0) return 0;
  const size_t available = io->in.size() - io->in_used;
  if (available == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(available, static_cast<size_t>(length));
  std::memcpy(data, io->in.data() + io->in_used, n);
  io->in_used += n;
  return static_cast<int>(n);
}

long SpanBioCtrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // writes are already in the output buffer
    case BIO_CTRL_PENDING: {
      auto* io = static_cast<TlsIo*>(BIO_get_data(bio));
      return io == nullptr ? 0 : static_cast<long>(io->in.size() - io->in_used);
    }
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return 0;
  }
}

int SpanBioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* SpanBioMethod() {
  // Made once, on first use, and kept for the life of the process.
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "reef span");
    if (m == nullptr) return static_cast<BIO_METHOD*>(nullptr);
    BIO_meth_set_write(m, SpanBioWrite);
    BIO_meth_set_read(m, SpanBioRead);
    BIO_meth_set_ctrl(m, SpanBioCtrl);
    BIO_meth_set_create(m, SpanBioCreate);
    return m;
  }();
  return method;
}

absl::StatusOr<SslContext> NewServerContext() {
  SslContext ctx = SslContext::Adopt(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return absl::InternalError(TakeOpenSslErrors("SSL_CTX_new failed"));
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1) {
    return absl::InternalError(TakeOpenSslErrors("cannot limit TLS versions to 1.2 and 1.3"));
  }
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    return absl::InternalError(TakeOpenSslErrors("cannot set the TLS 1.2 ciphers"));
  }
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Stateless tickets carry the session; the server keeps none.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 1);
  return ctx;
}

}  // namespace

std::string TakeOpenSslErrors(std::string_view fallback) {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string(fallback) : text;
}

BIO* NewSpanBio(TlsIo* io) {
  const BIO_METHOD* method = SpanBioMethod();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, io);
  return bio;
}

absl::StatusOr<SslContext> MakeServerContext(std::string_view certificate_chain_pem,
                                             std::string_view private_key_pem) {
  ERR_clear_error();
  absl::StatusOr<SslContext> ctx = NewServerContext();
  if (!ctx.ok()) return ctx.status();
  SSL_CTX* c = ctx->get();

  // The chain: the first certificate is the server's, the rest are intermediates.
  std::unique_ptr<BIO, BioDeleter> chain(
      BIO_new_mem_buf(certificate_chain_pem.data(), static_cast<int>(certificate_chain_pem.size())));
  if (chain == nullptr) return absl::InternalError(TakeOpenSslErrors("BIO_new_mem_buf failed"));
  std::unique_ptr<X509, X509Deleter> leaf(PEM_read_bio_X509_AUX(chain.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("certificate chain: no PEM certificate (", TakeOpenSslErrors("empty"), ")"));
  }
  if (SSL_CTX_use_certificate(c, leaf.get()) != 1) {
    return absl::InvalidArgumentError(
        StrCat("certificate chain: ", TakeOpenSslErrors("certificate refused")));
  }
  int intermediates = 0;
  while (true) {
    X509* next = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr);
    if (next == nullptr) break;
    if (SSL_CTX_add0_chain_cert(c, next) != 1) {
      X509_free(next);
      return absl::InvalidArgumentError(
          StrCat("certificate chain: intermediate ", intermediates + 1, ": ",
                 TakeOpenSslErrors("refused")));
    }
    ++intermediates;
  }
  // Running out of PEM blocks is how the loop ends; anything else is a broken file.
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(
        StrCat("certificate chain: after ", intermediates + 1, " certificate(s): ",
               TakeOpenSslErrors("unreadable")));
  }
  ERR_clear_error();

  std::unique_ptr<BIO, BioDeleter> key_bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  if (key_bio == nullptr) return absl::InternalError(TakeOpenSslErrors("BIO_new_mem_buf failed"));
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("private key: no unencrypted PEM private key (", TakeOpenSslErrors("empty"), ")"));
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the private key does not match the certificate (the first one in the chain file)");
  }
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1) {
    return absl::InvalidArgumentError(StrCat("private key: ", TakeOpenSslErrors("refused")));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return absl::InvalidArgumentError(
        StrCat("private key: ", TakeOpenSslErrors("does not match the certificate")));
  }
  return ctx;
}

absl::StatusOr<SslContext> LoadServerContext(const TlsFiles& files) {
  absl::StatusOr<std::string> chain = ReadSmallFile(files.certificate_chain, "certificate chain");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadSmallFile(files.private_key, "private key");
  if (!key.ok()) return key.status();
  absl::StatusOr<SslContext> ctx = MakeServerContext(*chain, *key);
  // The key's text is a secret: do not leave it in freed memory.
  OPENSSL_cleanse(key->data(), key->size());
  if (!ctx.ok()) {
    return absl::Status(ctx.status().code(),
                        StrCat(files.certificate_chain, ", ", files.private_key, ": ",
                               ctx.status().message()));
  }
  return ctx;
}

absl::StatusOr<std::unique_ptr<TlsContextStore>> TlsContextStore::Load(TlsFiles files) {
  absl::StatusOr<SslContext> ctx = LoadServerContext(files);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<TlsContextStore>(new TlsContextStore(std::move(files), *std::move(ctx)));
}

TlsContextStore::TlsContextStore(SslContext context)
    : TlsContextStore(TlsFiles{}, std::move(context)) {}

TlsContextStore::TlsContextStore(TlsFiles files, SslContext context) : files_(std::move(files)) {
  MutexLock lock(&mu_);
  current_ = std::move(context);
}

absl::Status TlsContextStore::Reload() {
  if (files_.certificate_chain.empty()) {
    return absl::FailedPreconditionError("this TLS context was not loaded from files");
  }
  absl::StatusOr<SslContext> ctx = LoadServerContext(files_);
  if (!ctx.ok()) return ctx.status();
  {
    MutexLock lock(&mu_);
    current_ = *std::move(ctx);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

SslContext TlsContextStore::Current() const {
  MutexLock lock(&mu_);
  return current_;
}

}  // namespace reef::tcp
