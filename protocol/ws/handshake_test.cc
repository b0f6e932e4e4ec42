#include "protocol/ws/handshake.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"
#include "testing/openssl_alloc_counter.h"

namespace reef::ws {
namespace {

// What npm `ws` 8 (bittorrent-tracker's client in Node) sent, captured on loopback.
constexpr std::string_view kNodeWsRequest =
    "GET /announce HTTP/1.1\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: J9bkOHgPFPytzSLkb8f5ig==\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Host: 127.0.0.1:36335\r\n"
    "\r\n";

// RFC 6455 section 1.3's example, as Firefox words Connection.
constexpr std::string_view kRfcRequest =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: WebSocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

std::string Text(std::span<const uint8_t> b, size_t n) {
  return std::string(reinterpret_cast<const char*>(b.data()), n);
}

ParseResult<UpgradeRequest, HandshakeError> Parse(std::string_view in) {
  static std::array<http::Header, 32> headers;
  return ParseUpgradeRequest(in, headers);
}

TEST_CASE("handshake: the RFC 6455 example key and accept") {
  const auto accept = ComputeAccept("dGhlIHNhbXBsZSBub25jZQ==");
  REQUIRE(accept.has_value());
  CHECK(std::string_view(accept->data(), accept->size()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  auto r = Parse(kRfcRequest);
  REQUIRE(r.ok());
  CHECK(r.consumed() == kRfcRequest.size());
  CHECK(r.value().key == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(r.value().request.path == "/chat");
  std::array<uint8_t, 256> out;
  auto w = WriteHandshakeResponse(out, r.value().key);
  REQUIRE(w.ok());
  CHECK(Text(out, w.length()) ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "\r\n");
}

TEST_CASE("handshake: Node's ws client request") {
  auto r = Parse(kNodeWsRequest);
  REQUIRE(r.ok());
  CHECK(r.value().request.path == "/announce");
  CHECK(r.value().key == "J9bkOHgPFPytzSLkb8f5ig==");
  // node -e "crypto.createHash('sha1').update(key + GUID).digest('base64')"
  const auto accept = ComputeAccept(r.value().key);
  REQUIRE(accept.has_value());
  CHECK(std::string_view(accept->data(), accept->size()) == "o5J30iOzkMelrbND2nEdAw+GdrM=");
}

TEST_CASE("handshake: every proper prefix is incomplete") {
  for (size_t cut = 0; cut < kNodeWsRequest.size(); ++cut) {
    testing::GuardedBuffer guarded(kNodeWsRequest.substr(0, cut));
    CHECK(Parse(guarded.view()).incomplete());
  }
  // Bytes after the head (a first frame sent early) are not part of it.
  std::string with_frame = std::string(kNodeWsRequest) + "\x81\x85";
  auto r = Parse(with_frame);
  REQUIRE(r.ok());
  CHECK(r.consumed() == kNodeWsRequest.size());
}

std::string Replace(std::string_view in, std::string_view from, std::string_view to) {
  std::string s(in);
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

HandshakeError ErrorOf(const std::string& request) {
  auto r = Parse(request);
  REQUIRE(r.failed());
  return r.error();
}

TEST_CASE("handshake: each refusal") {
  using E = HandshakeError;
  const std::string_view base = kNodeWsRequest;
  CHECK(ErrorOf(Replace(base, "GET", "POST")) == E::kBadHttpRequest);
  CHECK(ErrorOf(Replace(base, "HTTP/1.1", "HTTP/1.0")) == E::kHttpVersion);
  CHECK(ErrorOf(Replace(base, "Upgrade: websocket\r\n", "")) == E::kNotWebSocketUpgrade);
  CHECK(ErrorOf(Replace(base, "Upgrade: websocket", "Upgrade: h2c")) == E::kNotWebSocketUpgrade);
  CHECK(ErrorOf(Replace(base, "Connection: Upgrade", "Connection: keep-alive")) ==
        E::kConnectionNotUpgrade);
  CHECK(ErrorOf(Replace(base, "Connection: Upgrade\r\n", "")) == E::kConnectionNotUpgrade);
  CHECK(ErrorOf(Replace(base, "Sec-WebSocket-Version: 13\r\n", "")) == E::kMissingVersion);
  CHECK(ErrorOf(Replace(base, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")) ==
        E::kUnsupportedVersion);
  CHECK(ErrorOf(Replace(base, "Sec-WebSocket-Version: 13",
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13")) ==
        E::kUnsupportedVersion);
  CHECK(ErrorOf(Replace(base, "Sec-WebSocket-Key: J9bkOHgPFPytzSLkb8f5ig==\r\n", "")) ==
        E::kMissingKey);
  CHECK(ErrorOf(Replace(base, "J9bkOHgPFPytzSLkb8f5ig==", "J9bkOHgPFPytzSLkb8f5ig=")) ==
        E::kBadKey);  // 23 characters
  CHECK(ErrorOf(Replace(base, "J9bkOHgPFPytzSLkb8f5ig==", "J9bkOHgPFPytzSLkb8f5ig8=")) ==
        E::kBadKey);  // 17 bytes' worth
  CHECK(ErrorOf(Replace(base, "J9bkOHgPFPytzSLkb8f5ig==", "J9bkOHgPFPytzSLkb8f5i*==")) ==
        E::kBadKey);
  CHECK(ErrorOf(Replace(base, "Sec-WebSocket-Key: J9bkOHgPFPytzSLkb8f5ig==",
                        "Sec-WebSocket-Key: J9bkOHgPFPytzSLkb8f5ig==\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")) == E::kBadKey);
  // Case-insensitive names and tokens; the upgrade token in a second Connection header.
  CHECK(Parse(Replace(Replace(base, "Upgrade: websocket", "upgrade: WEBSOCKET"),
                      "Connection: Upgrade", "Connection: keep-alive\r\nconnection: UPGRADE"))
            .ok());
}

TEST_CASE("handshake: refusals are 400, or 426 with the version") {
  std::array<uint8_t, 512> out;
  auto version = WriteHandshakeRefusal(out, HandshakeError::kUnsupportedVersion);
  REQUIRE(version.ok());
  CHECK(Text(out, version.length()) ==
        "HTTP/1.1 426 Upgrade Required\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Upgrade: websocket\r\n"
        "Connection: close\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 33\r\n"
        "\r\n"
        "unsupported sec-websocket-version");
  CHECK(RefusalStatus(HandshakeError::kMissingVersion) == 426);
  auto key = WriteHandshakeRefusal(out, HandshakeError::kBadKey);
  REQUIRE(key.ok());
  CHECK(Text(out, key.length()) ==
        "HTTP/1.1 400 Bad Request\r\n"
        "Connection: close\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 25\r\n"
        "\r\n"
        "invalid sec-websocket-key");
  for (size_t i = 0; i < static_cast<size_t>(HandshakeError::kNumErrors); ++i) {
    const auto e = static_cast<HandshakeError>(i);
    CHECK(RefusalStatus(e) == (e == HandshakeError::kMissingVersion ||
                                       e == HandshakeError::kUnsupportedVersion
                                   ? 426
                                   : 400));
    auto w = WriteHandshakeRefusal(out, e);
    REQUIRE(w.ok());
    CHECK(Text(out, w.length()).ends_with("\r\n\r\n" + std::string(ErrorReason(e))));
  }
  std::array<uint8_t, 40> small;
  CHECK(WriteHandshakeRefusal(small, HandshakeError::kBadKey).error() ==
        WriteError::kBufferTooSmall);
}

TEST_CASE("handshake: the client's request round-trips through the server's checks") {
  std::array<uint8_t, 512> out;
  auto w = WriteUpgradeRequest(out, "127.0.0.1:8000", "/announce", "dGhlIHNhbXBsZSBub25jZQ==");
  REQUIRE(w.ok());
  const std::string request = Text(out, w.length());  // the views point into it
  auto r = Parse(request);
  REQUIRE(r.ok());
  CHECK(r.value().request.path == "/announce");
  CHECK(r.value().key == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(WriteUpgradeRequest(out, "h", "/a b", "dGhlIHNhbXBsZSBub25jZQ==").error() ==
        WriteError::kInvalidValue);
  CHECK(WriteUpgradeRequest(out, "h\r\nX: y", "/", "dGhlIHNhbXBsZSBub25jZQ==").error() ==
        WriteError::kInvalidValue);
  CHECK(WriteUpgradeRequest(out, "h", "/", "short").error() == WriteError::kInvalidValue);
  CHECK(WriteHandshakeResponse(out, "short").error() == WriteError::kInvalidValue);
  std::array<uint8_t, 100> small;  // the 101 response is 129 bytes
  CHECK(WriteHandshakeResponse(small, "dGhlIHNhbXBsZSBub25jZQ==").error() ==
        WriteError::kBufferTooSmall);
}

TEST_CASE("handshake: parsing and writing allocate nothing, inside OpenSSL included") {
  // The counter sees libcrypto's allocations (or this test cannot tell anything).
  REQUIRE(testing::OpenSslAllocationsCounted());
  {
    testing::AllocationScope seen;
    EVP_MD_CTX_free(EVP_MD_CTX_new());
    REQUIRE(seen.allocations() > 0);
  }
  std::array<http::Header, 16> headers;
  std::array<uint8_t, 256> out;
  testing::AllocationScope scope;
  auto r = ParseUpgradeRequest(kNodeWsRequest, headers);
  auto accept = ComputeAccept(r.value().key);
  auto w = WriteHandshakeResponse(out, r.value().key);
  auto refusal = WriteHandshakeRefusal(out, HandshakeError::kMissingKey);
  CHECK(scope.allocations() == 0);
  CHECK(accept.has_value());
  CHECK(w.ok());
  CHECK(refusal.ok());
}

}  // namespace
}  // namespace reef::ws
