#include "server/tcp/tls_test_util.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <string>

namespace reef::tcp::testing {
namespace {

[[noreturn]] void Fail(const char* what) {
  fprintf(stderr, "tls_test_util: %s\n", what);
  ERR_print_errors_fp(stderr);
  abort();
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) Fail("EVP_PKEY_Q_keygen");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) Fail("X509_add_ext");
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` as `issuer` (itself when
// null).
X509* NewCertificate(EVP_PKEY* key, std::string_view cn, X509* issuer, EVP_PKEY* issuer_key,
                     bool ca, long serial) {
  X509* cert = X509_new();
  if (cert == nullptr) Fail("X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string cn_text(cn);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn_text.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : cert;
  if (ca) {
    AddExtension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
    AddExtension(cert, signer, NID_ext_key_usage, "serverAuth");
  }
  AddExtension(cert, signer, NID_subject_key_identifier, "hash");
  if (X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    Fail("X509_sign");
  }
  return cert;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

TestCertificate MakeSelfSigned(std::string_view common_name) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCertificate(key, common_name, nullptr, nullptr, false, 1);
  TestCertificate out{CertPem(cert), KeyPem(key), ""};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TestCertificate MakeCaSigned(std::string_view common_name) {
  EVP_PKEY* ca_key = NewKey();
  X509* ca = NewCertificate(ca_key, "reef test CA", nullptr, nullptr, true, 1);
  EVP_PKEY* key = NewKey();
  X509* leaf = NewCertificate(key, common_name, ca, ca_key, false, 2);
  TestCertificate out{CertPem(leaf) + CertPem(ca), KeyPem(key), CertPem(ca)};
  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return out;
}

std::string TempPath(std::string_view name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + std::string(name);
}

void WriteTextFile(const std::string& path, std::string_view text) {
  const std::string side = path + ".new";
  {
    std::ofstream out(side, std::ios::trunc | std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) Fail("cannot write a test file");
  }
  if (rename(side.c_str(), path.c_str()) != 0) Fail("cannot rename a test file");
}

MemoryTlsClient::MemoryTlsClient(std::string_view ca_pem, int min_version, int max_version) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) Fail("SSL_CTX_new(client)");
  if (min_version != 0) SSL_CTX_set_min_proto_version(ctx_, min_version);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_, max_version);
  if (min_version != 0 && min_version < TLS1_2_VERSION) {
    // Old versions need the lowest security level to be offered at all.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
  }
  if (!ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (ca == nullptr) Fail("PEM_read_bio_X509(ca)");
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  ssl_ = SSL_new(ctx_);
  from_server_ = BIO_new(BIO_s_mem());
  to_server_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, from_server_, to_server_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  if (!ca_pem.empty()) SSL_set1_host(ssl_, "localhost");
  SSL_set_connect_state(ssl_);
}

MemoryTlsClient::~MemoryTlsClient() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

bool MemoryTlsClient::Handshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return true;
  const int e = SSL_get_error(ssl_, r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
  ERR_clear_error();
  return false;
}

void MemoryTlsClient::Write(std::string_view plaintext) {
  if (plaintext.empty()) return;
  ERR_clear_error();
  if (SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size())) <= 0) {
    Fail("client SSL_write");
  }
}

std::vector<uint8_t> MemoryTlsClient::TakeOutput() {
  std::vector<uint8_t> out(static_cast<size_t>(BIO_ctrl_pending(to_server_)));
  if (!out.empty()) {
    const int n = BIO_read(to_server_, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return out;
}

void MemoryTlsClient::Give(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) BIO_write(from_server_, bytes.data(), static_cast<int>(bytes.size()));
}

std::string MemoryTlsClient::ReadAll(bool* closed) {
  std::string out;
  char buffer[4096];
  while (true) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_ZERO_RETURN && closed != nullptr) *closed = true;
    ERR_clear_error();
    break;
  }
  return out;
}

void MemoryTlsClient::Shutdown() {
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace reef::tcp::testing
