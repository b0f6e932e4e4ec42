// TLS under the connection, over an in-memory client (memory BIOs, no sockets): handshakes,
// requests, pipelining and backpressure through TLS, the handshake timeout, clients that
// do not speak TLS or speak old versions, and certificate reload.
#include "server/tcp/tls.h"

#include <doctest/doctest.h>
#include <openssl/err.h>

#include <string>
#include <vector>

#include "server/tcp/connection.h"
#include "server/tcp/connection_test_util.h"
#include "server/tcp/tls_test_util.h"

namespace reef::tcp {
namespace {

using testing::ConnectionHarness;
using testing::MemoryTlsClient;
using testing::ParseResponses;
using State = Connection::State;

ConnectionLimits TestLimits() {
  ConnectionLimits limits;
  limits.tls_handshake_timeout_ms = 3'000;
  limits.head_timeout_ms = 10'000;
  return limits;
}

SslContext TestContext(const testing::TestCertificate& cert) {
  absl::StatusOr<SslContext> ctx = MakeServerContext(cert.certificate_pem, cert.private_key_pem);
  REQUIRE_MESSAGE(ctx.ok(), ctx.status());
  return *std::move(ctx);
}

const testing::TestCertificate& Pki() {
  static const testing::TestCertificate pki = testing::MakeCaSigned();
  return pki;
}

// Moves bytes between the client and the connection until neither has anything to say.
// `read_step` limits how much of the server's output the client takes per round.
void Exchange(MemoryTlsClient& client, ConnectionHarness& h, size_t read_step = SIZE_MAX) {
  for (int round = 0; round < 1000; ++round) {
    client.Handshake();
    std::vector<uint8_t> to_server = client.TakeOutput();
    std::string from_server = h.Drain(read_step);
    if (!to_server.empty()) h.Feed(std::span<const uint8_t>(to_server));
    client.Give(testing::AsBytes(from_server));
    if (to_server.empty() && from_server.empty()) return;
  }
  FAIL("the exchange did not settle");
}

bool Connect(MemoryTlsClient& client, ConnectionHarness& h) {
  for (int round = 0; round < 20 && !client.Handshake(); ++round) Exchange(client, h);
  return client.Handshake();
}

TEST_CASE("a TLS handshake, then requests and responses, then close_notify") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  CHECK(h.state() == State::kHandshake);
  CHECK(h.conn().kind() == TimerKind::kHandshake);
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  CHECK(h.state() == State::kOpen);
  CHECK(h.ctx().stats.tls_handshakes.load() == 1);
  CHECK(SSL_version(client.ssl()) == TLS1_3_VERSION);

  client.Write("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  Exchange(client, h);
  auto r = ParseResponses(client.ReadAll());
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].target == "/1");
  CHECK((*r)[1].target == "/2");
  CHECK(h.conn().tls());
  CHECK(h.conn().kind() == TimerKind::kIdle);
  CHECK(h.conn().BufferedBytes() == 0);

  client.Write("GET /bye HTTP/1.1\r\nConnection: close\r\n\r\n");
  Exchange(client, h);
  bool closed = false;
  r = ParseResponses(client.ReadAll(&closed));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 1);
  CHECK(closed);  // close_notify came after the response
  CHECK(h.state() == State::kClosed);
}

TEST_CASE("TLS 1.2 works; TLS 1.1 and 1.0 are refused") {
  SslContext ctx = TestContext(Pki());
  {
    ConnectionHarness h(TestLimits(), 0, ctx.get());
    MemoryTlsClient client(Pki().ca_pem, TLS1_2_VERSION, TLS1_2_VERSION);
    REQUIRE(Connect(client, h));
    CHECK(SSL_version(client.ssl()) == TLS1_2_VERSION);
    client.Write("GET /12 HTTP/1.1\r\n\r\n");
    Exchange(client, h);
    auto r = ParseResponses(client.ReadAll());
    REQUIRE(r.has_value());
    CHECK(r->size() == 1);
  }
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    CAPTURE(version);
    ConnectionHarness h(TestLimits(), 0, ctx.get());
    MemoryTlsClient client({}, version, version);
    CHECK_FALSE(Connect(client, h));
    CHECK(client.handshake_failed());
    h.Drain();
    CHECK(h.state() == State::kClosed);
    CHECK(h.ctx().stats.tls_handshake_failures.load() == 1);
  }
}

TEST_CASE("plain HTTP on a TLS listener fails the handshake and closes") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  h.Feed("GET /announce HTTP/1.1\r\n\r\n");
  h.Drain();
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.tls_handshake_failures.load() == 1);
  CHECK(h.handler().calls() == 0);
}

TEST_CASE("handshake timeout: a handshake not finished in time closes the connection") {
  SslContext ctx = TestContext(Pki());
  SUBCASE("silent client") {
    ConnectionHarness h(TestLimits(), 0, ctx.get());
    h.Advance(TestLimits().tls_handshake_timeout_ms - 1);
    CHECK(h.state() == State::kHandshake);
    h.Advance(1);
    CHECK(h.state() == State::kClosed);
    CHECK(h.ctx().stats.handshake_timeouts.load() == 1);
  }
  SUBCASE("a client hello dribbled a byte at a time does not extend it") {
    ConnectionHarness h(TestLimits(), 0, ctx.get());
    MemoryTlsClient client;
    client.Handshake();
    std::vector<uint8_t> hello = client.TakeOutput();
    for (size_t i = 0; i < hello.size() && h.state() == State::kHandshake; ++i) {
      h.Feed(std::span<const uint8_t>(hello).subspan(i, 1));
      h.Advance(100);
    }
    CHECK(h.state() == State::kClosed);
    CHECK(h.ctx().stats.handshake_timeouts.load() == 1);
  }
  SUBCASE("after the handshake, the head timer starts") {
    ConnectionHarness h(TestLimits(), 0, ctx.get());
    MemoryTlsClient client(Pki().ca_pem);
    REQUIRE(Connect(client, h));
    Exchange(client, h);
    CHECK(h.conn().kind() == TimerKind::kHead);
    h.Advance(TestLimits().head_timeout_ms);
    CHECK(h.state() == State::kClosed);
  }
}

TEST_CASE("TLS: records split at every byte still make requests") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  client.Write("GET /a HTTP/1.1\r\n\r\n");
  client.Write("GET /b HTTP/1.1\r\n\r\n");
  std::vector<uint8_t> records = client.TakeOutput();
  CHECK(h.Feed(std::span<const uint8_t>(records), 1) == records.size());
  client.Give(testing::AsBytes(h.Drain()));
  auto r = ParseResponses(client.ReadAll());
  REQUIRE(r.has_value());
  CHECK(r->size() == 2);
}

TEST_CASE("TLS backpressure: pipelined requests wait for room, ciphertext waits in its buffer") {
  const size_t padding = 6000;
  testing::EchoHandler sizer(padding);
  ConnectionLimits limits = TestLimits();
  limits.max_output_bytes = TlsSealedSize(sizer.MaxResponseBytes()) + kTlsOutputSlack + 100;
  REQUIRE(ValidateLimits(limits, sizer.MaxResponseBytes()).ok());
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(limits, padding, ctx.get());
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  std::string many;
  for (int i = 0; i < 20; ++i) many += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  client.Write(many);
  std::vector<uint8_t> records = client.TakeOutput();
  h.Feed(std::span<const uint8_t>(records));
  CHECK(h.handler().calls() < 20);
  CHECK(h.conn().ReceiveBudget() == 0);
  // The client reads in small steps; everything is answered in order.
  std::string got;
  for (int i = 0; i < 2000 && h.handler().calls() <= 20; ++i) {
    std::string bytes = h.Drain(700);
    if (bytes.empty()) break;
    client.Give(testing::AsBytes(bytes));
    got += client.ReadAll();
  }
  auto r = ParseResponses(got);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 20);
  for (int i = 0; i < 20; ++i) CHECK((*r)[static_cast<size_t>(i)].target == "/" + std::to_string(i));
  CHECK(h.conn().BufferedBytes() == 0);
}

TEST_CASE("TLS: broken records after the handshake close the connection") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  client.Write("GET /a HTTP/1.1\r\n\r\n");
  std::vector<uint8_t> records = client.TakeOutput();
  records[records.size() - 3] ^= 0x55;  // inside the authentication tag
  h.Feed(std::span<const uint8_t>(records));
  h.Drain();
  CHECK(h.state() == State::kClosed);
  CHECK(h.ctx().stats.tls_errors.load() == 1);
  CHECK(h.handler().calls() == 0);
}

TEST_CASE("an error response over TLS is followed by close_notify") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  client.Write("PUT /x HTTP/1.1\r\n\r\n");
  Exchange(client, h);
  bool closed = false;
  auto r = ParseResponses(client.ReadAll(&closed));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].status == 405);
  CHECK(closed);
  CHECK(h.state() == State::kLinger);
}

TEST_CASE("the client's close_notify ends the connection") {
  SslContext ctx = TestContext(Pki());
  ConnectionHarness h(TestLimits(), 0, ctx.get());
  MemoryTlsClient client(Pki().ca_pem);
  REQUIRE(Connect(client, h));
  Exchange(client, h);
  client.Shutdown();
  Exchange(client, h);
  CHECK(h.state() == State::kClosed);
}

// ---- Contexts, files and reload -------------------------------------------------------

TEST_CASE("LoadServerContext: files in, errors named") {
  const testing::TestCertificate pki = testing::MakeCaSigned();
  const testing::TestCertificate other = testing::MakeSelfSigned();
  const std::string chain = testing::TempPath("chain.pem");
  const std::string key = testing::TempPath("key.pem");
  const std::string other_key = testing::TempPath("other_key.pem");
  const std::string garbage = testing::TempPath("garbage.pem");
  testing::WriteTextFile(chain, pki.certificate_pem);
  testing::WriteTextFile(key, pki.private_key_pem);
  testing::WriteTextFile(other_key, other.private_key_pem);
  testing::WriteTextFile(garbage, "not a certificate\n");
  CHECK(LoadServerContext({chain, key}).ok());

  absl::StatusOr<SslContext> missing = LoadServerContext({testing::TempPath("nope.pem"), key});
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("nope.pem") != std::string::npos);

  absl::StatusOr<SslContext> mismatch = LoadServerContext({chain, other_key});
  REQUIRE_FALSE(mismatch.ok());
  CHECK(std::string(mismatch.status().message()).find("does not match") != std::string::npos);

  absl::StatusOr<SslContext> not_pem = LoadServerContext({garbage, key});
  REQUIRE_FALSE(not_pem.ok());
  CHECK(std::string(not_pem.status().message()).find("no PEM certificate") != std::string::npos);

  absl::StatusOr<SslContext> dir = LoadServerContext({testing::TempPath(""), key});
  REQUIRE_FALSE(dir.ok());
  CHECK(std::string(dir.status().message()).find("not a regular file") != std::string::npos);

  // A truncated intermediate is an error, not a shorter chain.
  const std::string truncated = testing::TempPath("truncated.pem");
  testing::WriteTextFile(truncated,
                         pki.certificate_pem.substr(0, pki.certificate_pem.size() - 100));
  CHECK_FALSE(LoadServerContext({truncated, key}).ok());
}

TEST_CASE("reload: new handshakes use the new certificate, a bad one keeps the old") {
  const testing::TestCertificate first = testing::MakeCaSigned("first");
  const testing::TestCertificate second = testing::MakeCaSigned("second");
  const std::string chain = testing::TempPath("reload_chain.pem");
  const std::string key = testing::TempPath("reload_key.pem");
  testing::WriteTextFile(chain, first.certificate_pem);
  testing::WriteTextFile(key, first.private_key_pem);
  absl::StatusOr<std::unique_ptr<TlsContextStore>> store = TlsContextStore::Load({chain, key});
  REQUIRE(store.ok());
  TlsContextReader reader(store->get());
  SSL_CTX* before = reader.Get();
  CHECK(reader.Get() == before);  // no reload, same context

  // An open connection on the old context keeps working across the reload.
  ConnectionHarness old_conn(TestLimits(), 0, before);
  MemoryTlsClient old_client(first.ca_pem);
  REQUIRE(Connect(old_client, old_conn));

  // A key that does not match: refused, the old context stays.
  testing::WriteTextFile(chain, second.certificate_pem);
  absl::Status bad = (*store)->Reload();
  CHECK_FALSE(bad.ok());
  CHECK(std::string(bad.message()).find("does not match") != std::string::npos);
  CHECK(reader.Get() == before);

  testing::WriteTextFile(key, second.private_key_pem);
  REQUIRE((*store)->Reload().ok());
  SSL_CTX* after = reader.Get();
  CHECK(after != before);

  ConnectionHarness new_conn(TestLimits(), 0, after);
  MemoryTlsClient trusts_second(second.ca_pem);
  CHECK(Connect(trusts_second, new_conn));
  ConnectionHarness new_conn2(TestLimits(), 0, after);
  MemoryTlsClient trusts_first(first.ca_pem);
  CHECK_FALSE(Connect(trusts_first, new_conn2));  // verification fails: new certificate

  old_client.Write("GET /still HTTP/1.1\r\n\r\n");
  Exchange(old_client, old_conn);
  auto r = ParseResponses(old_client.ReadAll());
  REQUIRE(r.has_value());
  CHECK(r->size() == 1);
}

}  // namespace
}  // namespace reef::tcp
