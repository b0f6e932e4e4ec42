// The RFC 6455 opening handshake, server side (and the client's request, for the load
// generator and tests).
//
// The upgrade request is read by the project's one HTTP request parser (http::ParseRequest:
// GET only, bounded, views into the input); this file checks what makes it a WebSocket
// upgrade (section 4.2.1):
//   - HTTP/1.1 (not 1.0);
//   - an Upgrade header whose comma-separated list holds "websocket" (case-insensitive);
//   - a Connection header (any of them) whose list holds "upgrade" (case-insensitive);
//   - exactly one Sec-WebSocket-Version, and it is 13;
//   - exactly one Sec-WebSocket-Key, the base64 of 16 bytes: 22 base64 characters and
//     "==" (as the npm `ws` server checks; the unused low bits of the last character are
//     not required to be zero).
// Subprotocols and extensions offered by the client are declined by omission: the 101
// response names none, so frames carry no RSV bits (frame.h refuses them).
//
// Refusals: 426 Upgrade Required with "Sec-WebSocket-Version: 13" when the version is
// missing or not 13 (section 4.4: the client learns which version to use); 400 Bad
// Request for everything else. Both close the connection and carry the reason as text.
//
// Sec-WebSocket-Accept is base64(SHA-1(key + the RFC's GUID)), through OpenSSL: SHA-1 on a
// stack SHA_CTX (SHA1_Init/Update/Final) and EVP_EncodeBlock, every result checked.
// Nothing here allocates, inside libcrypto included (handshake_test counts OpenSSL's
// allocations through CRYPTO_set_mem_functions).
#ifndef REEF_PROTOCOL_WS_HANDSHAKE_H_
#define REEF_PROTOCOL_WS_HANDSHAKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/errors.h"
#include "protocol/common/parse_result.h"
#include "protocol/http/request.h"

namespace reef::ws {

// The only protocol version there is (RFC 6455).
inline constexpr std::string_view kWebSocketVersion = "13";
// A Sec-WebSocket-Key: base64 of 16 bytes is 24 characters.
inline constexpr size_t kWebSocketKeySize = 24;
// A Sec-WebSocket-Accept: base64 of a 20-byte SHA-1 is 28 characters.
inline constexpr size_t kAcceptSize = 28;
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum class HandshakeError : uint8_t {
  kBadHttpRequest,        // the HTTP request parser refused the request head
  kHttpVersion,           // HTTP/1.0: an upgrade needs HTTP/1.1
  kNotWebSocketUpgrade,   // no Upgrade header naming "websocket"
  kConnectionNotUpgrade,  // no Connection header naming "upgrade"
  kMissingVersion,        // no Sec-WebSocket-Version
  kUnsupportedVersion,    // a version other than 13, or the header twice
  kMissingKey,            // no Sec-WebSocket-Key
  kBadKey,                // not the base64 of 16 bytes, or the header twice
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(HandshakeError::kNumErrors)>
    kHandshakeErrors = {{
        {"kBadHttpRequest", "bad http request"},
        {"kHttpVersion", "websocket needs http/1.1"},
        {"kNotWebSocketUpgrade", "not a websocket upgrade"},
        {"kConnectionNotUpgrade", "connection header lacks upgrade"},
        {"kMissingVersion", "missing sec-websocket-version"},
        {"kUnsupportedVersion", "unsupported sec-websocket-version"},
        {"kMissingKey", "missing sec-websocket-key"},
        {"kBadKey", "invalid sec-websocket-key"},
    }};

constexpr std::string_view ErrorName(HandshakeError e) {
  return LookUpError(kHandshakeErrors, e).name;
}
constexpr std::string_view ErrorReason(HandshakeError e) {
  return LookUpError(kHandshakeErrors, e).reason;
}
static_assert(ProtocolError<HandshakeError>);

// The HTTP status of the refusal for `e`: 426 for the version, 400 otherwise.
constexpr int RefusalStatus(HandshakeError e) {
  return e == HandshakeError::kMissingVersion || e == HandshakeError::kUnsupportedVersion
             ? 426
             : 400;
}

struct UpgradeRequest {
  http::Request request;  // path and query say which tracker endpoint ("/announce")
  std::string_view key;   // Sec-WebSocket-Key, 24 characters
};

// True if `key` is 22 base64 characters followed by "==", which decodes to 16 bytes.
bool IsValidWebSocketKey(std::string_view key);

// Checks a parsed request (see the top of this file); ok with consumed() = 0.
ParseResult<UpgradeRequest, HandshakeError> ValidateUpgrade(const http::Request& request);

// Parses the request head with http::ParseRequest and validates it as an upgrade.
// Incomplete while the head is; consumed() is the head's length.
ParseResult<UpgradeRequest, HandshakeError> ParseUpgradeRequest(
    std::string_view in, std::span<http::Header> header_storage,
    const http::RequestLimits& limits = {});

// base64(SHA-1(key + kWebSocketGuid)); nullopt only if OpenSSL reports a failure (its
// SHA-1 and base64 have no failure path in OpenSSL 3.0, but the results are checked).
std::optional<std::array<char, kAcceptSize>> ComputeAccept(std::string_view key);

// HTTP/1.1 101 Switching Protocols with Upgrade, Connection and Sec-WebSocket-Accept.
// kInvalidValue if `key` is not a valid key (or ComputeAccept fails).
WriteResult WriteHandshakeResponse(std::span<uint8_t> out, std::string_view key);

// The refusal for `e` (status from RefusalStatus, the reason as a text/plain body,
// Connection: close; 426 adds Sec-WebSocket-Version: 13 and Upgrade: websocket).
WriteResult WriteHandshakeRefusal(std::span<uint8_t> out, HandshakeError e);

// A client's upgrade request: GET target, Host, Upgrade, Connection, version 13, key.
// kInvalidValue if the key is not valid or target/host hold CR, LF or a space.
WriteResult WriteUpgradeRequest(std::span<uint8_t> out, std::string_view host,
                                std::string_view target, std::string_view key);

}  // namespace reef::ws

#endif  // REEF_PROTOCOL_WS_HANDSHAKE_H_
