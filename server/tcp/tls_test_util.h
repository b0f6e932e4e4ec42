// Test helpers for TLS without sockets: certificates made in memory, and a TLS client over
// memory BIOs that talks to a Connection (or anything else that moves bytes).
#ifndef REEF_SERVER_TCP_TLS_TEST_UTIL_H_
#define REEF_SERVER_TCP_TLS_TEST_UTIL_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reef::tcp::testing {

// PEM text of a P-256 key and a certificate for it.
struct TestCertificate {
  std::string certificate_pem;  // the chain: leaf, then the CA when signed by one
  std::string private_key_pem;
  std::string ca_pem;           // the CA's certificate (empty for a self-signed one)
};

// A self-signed certificate for `common_name`, with SANs DNS:localhost, IP:127.0.0.1,
// IP:::1.
TestCertificate MakeSelfSigned(std::string_view common_name = "localhost");
// A CA and a leaf for localhost signed by it; certificate_pem is leaf + CA.
TestCertificate MakeCaSigned(std::string_view common_name = "localhost");

// Writes `text` to `path` (replacing it atomically); fails the test on error.
void WriteTextFile(const std::string& path, std::string_view text);
// $TEST_TMPDIR/name (or /tmp/name).
std::string TempPath(std::string_view name);

// A TLS client over memory BIOs.
class MemoryTlsClient {
 public:
  // Trusts `ca_pem` (no verification when empty); versions as given (0: OpenSSL's).
  explicit MemoryTlsClient(std::string_view ca_pem = {}, int min_version = 0, int max_version = 0);
  ~MemoryTlsClient();
  MemoryTlsClient(const MemoryTlsClient&) = delete;
  MemoryTlsClient& operator=(const MemoryTlsClient&) = delete;

  // Advances the handshake; true once it is done.
  bool Handshake();
  bool handshake_failed() const { return failed_; }
  // Plaintext to the server (buffered as records until TakeOutput).
  void Write(std::string_view plaintext);
  // Records for the server.
  std::vector<uint8_t> TakeOutput();
  // Bytes from the server.
  void Give(std::span<const uint8_t> bytes);
  // Everything decrypted so far; sets *closed when the server sent close_notify.
  std::string ReadAll(bool* closed = nullptr);
  void Shutdown();  // queues close_notify
  SSL* ssl() { return ssl_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* from_server_ = nullptr;  // SSL reads
  BIO* to_server_ = nullptr;    // SSL writes
  bool failed_ = false;
};

}  // namespace reef::tcp::testing

#endif  // REEF_SERVER_TCP_TLS_TEST_UTIL_H_
