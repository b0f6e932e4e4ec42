// SHA1_Init/Update/Final are deprecated since OpenSSL 3.0 in favour of EVP_Digest*, and
// used here on purpose: they hash on a SHA_CTX on the stack and never allocate, while in
// OpenSSL 3.0 the one-shot SHA1() allocates 3 times per call and a reused EVP_MD_CTX
// still once per EVP_DigestInit_ex (its provider context is freed and made again), and
// both are slower. OPENSSL_SUPPRESS_DEPRECATED keeps the declarations without the
// deprecation warnings that -Werror would turn into errors; it must come before any
// OpenSSL header. handshake_test counts OpenSSL's allocations and fails if it allocates.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "protocol/ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>

#include "protocol/common/byte_writer.h"

namespace reef::ws {
namespace {

constexpr bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

bool HasSpaceOrLineEnd(std::string_view s) {
  return s.find_first_of(" \t\r\n") != std::string_view::npos;
}

}  // namespace

bool IsValidWebSocketKey(std::string_view key) {
  if (key.size() != kWebSocketKeySize || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  return true;
}

ParseResult<UpgradeRequest, HandshakeError> ValidateUpgrade(const http::Request& request) {
  using Result = ParseResult<UpgradeRequest, HandshakeError>;
  if (request.version_minor < 1) return Result::Fail(HandshakeError::kHttpVersion);
  bool upgrade = false, connection = false;
  size_t versions = 0, keys = 0;
  std::string_view version, key;
  for (const http::Header& h : request.headers) {
    if (http::EqualsIgnoreCase(h.name, "Upgrade")) {
      upgrade = upgrade || http::HeaderListContains(h.value, "websocket");
    } else if (http::EqualsIgnoreCase(h.name, "Connection")) {
      connection = connection || http::HeaderListContains(h.value, "upgrade");
    } else if (http::EqualsIgnoreCase(h.name, "Sec-WebSocket-Version")) {
      ++versions;
      version = h.value;
    } else if (http::EqualsIgnoreCase(h.name, "Sec-WebSocket-Key")) {
      ++keys;
      key = h.value;
    }
  }
  if (!upgrade) return Result::Fail(HandshakeError::kNotWebSocketUpgrade);
  if (!connection) return Result::Fail(HandshakeError::kConnectionNotUpgrade);
  if (versions == 0) return Result::Fail(HandshakeError::kMissingVersion);
  if (versions > 1 || version != kWebSocketVersion) {
    return Result::Fail(HandshakeError::kUnsupportedVersion);
  }
  if (keys == 0) return Result::Fail(HandshakeError::kMissingKey);
  if (keys > 1 || !IsValidWebSocketKey(key)) return Result::Fail(HandshakeError::kBadKey);
  return Result::Ok(UpgradeRequest{request, key}, 0);
}

ParseResult<UpgradeRequest, HandshakeError> ParseUpgradeRequest(
    std::string_view in, std::span<http::Header> header_storage,
    const http::RequestLimits& limits) {
  using Result = ParseResult<UpgradeRequest, HandshakeError>;
  auto parsed = http::ParseRequest(in, header_storage, limits);
  if (parsed.incomplete()) return Result::Incomplete();
  if (parsed.failed()) return Result::Fail(HandshakeError::kBadHttpRequest);
  auto upgrade = ValidateUpgrade(parsed.value());
  if (!upgrade.ok()) return upgrade;
  return Result::Ok(upgrade.value(), parsed.consumed());
}

std::optional<std::array<char, kAcceptSize>> ComputeAccept(std::string_view key) {
  // The key and the GUID go in as two updates: no buffer to join them in.
  SHA_CTX sha;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  if (SHA1_Init(&sha) != 1 || SHA1_Update(&sha, key.data(), key.size()) != 1 ||
      SHA1_Update(&sha, kWebSocketGuid.data(), kWebSocketGuid.size()) != 1 ||
      SHA1_Final(digest.data(), &sha) != 1) {
    return std::nullopt;
  }
  // EVP_EncodeBlock writes 28 characters and a NUL, and returns the 28.
  std::array<unsigned char, kAcceptSize + 1> encoded;
  if (EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size())) !=
      static_cast<int>(kAcceptSize)) {
    return std::nullopt;
  }
  std::array<char, kAcceptSize> out;
  std::memcpy(out.data(), encoded.data(), kAcceptSize);
  return out;
}

WriteResult WriteHandshakeResponse(std::span<uint8_t> out, std::string_view key) {
  if (!IsValidWebSocketKey(key)) return WriteResult::Fail(WriteError::kInvalidValue);
  const auto accept = ComputeAccept(key);
  if (!accept) return WriteResult::Fail(WriteError::kInvalidValue);
  ByteWriter w(out);
  w.WriteString(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  w.WriteString(std::string_view(accept->data(), accept->size()));
  w.WriteString("\r\n\r\n");
  return w.Result();
}

WriteResult WriteHandshakeRefusal(std::span<uint8_t> out, HandshakeError e) {
  const std::string_view reason = ErrorReason(e);
  ByteWriter w(out);
  if (RefusalStatus(e) == 426) {
    w.WriteString(
        "HTTP/1.1 426 Upgrade Required\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Upgrade: websocket\r\n");
  } else {
    w.WriteString("HTTP/1.1 400 Bad Request\r\n");
  }
  w.WriteString(
      "Connection: close\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: ");
  w.WriteDecimal(reason.size());
  w.WriteString("\r\n\r\n");
  w.WriteString(reason);
  return w.Result();
}

WriteResult WriteUpgradeRequest(std::span<uint8_t> out, std::string_view host,
                                std::string_view target, std::string_view key) {
  if (!IsValidWebSocketKey(key) || target.empty() || target.front() != '/' ||
      HasSpaceOrLineEnd(target) || host.empty() || HasSpaceOrLineEnd(host)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  ByteWriter w(out);
  w.WriteString("GET ");
  w.WriteString(target);
  w.WriteString(" HTTP/1.1\r\nHost: ");
  w.WriteString(host);
  w.WriteString(
      "\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ");
  w.WriteString(key);
  w.WriteString("\r\n\r\n");
  return w.Result();
}

}  // namespace reef::ws
