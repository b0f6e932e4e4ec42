// udp::ParseError: why a BEP 15 datagram was refused, in either direction.
//
// Request errors come in two kinds, decided by the parser and carried by the result
// (RequestResult::sendable(), parse.h):
//   - sendable: the datagram claims to be an announce or a scrape and its connection id and
//     transaction id were read. The server answers with a BEP 15 error response carrying
//     ErrorReason(error) — once it has checked the connection id, like for any request.
//   - unsendable: fewer than 16 bytes (no transaction id), an unknown action, or anything
//     wrong with a connect request (which has no connection id to vouch for the sender).
//     The server drops these silently, so spoofed garbage cannot make it reflect traffic.
// Response errors are never answered; the result still carries the transaction id when it
// was read, so a client can tell which request the broken response was for.
#ifndef REEF_PROTOCOL_UDP_ERRORS_H_
#define REEF_PROTOCOL_UDP_ERRORS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/common/errors.h"

namespace reef::udp {

enum class ParseError : uint8_t {
  // Either direction.
  kTooShort,       // shorter than a request (16) or response (8) header    [unsendable]
  kTooLong,        // larger than kMaxRequestSize / kMaxResponseSize         [sendable for announce]
  kUnknownAction,  // an action this side does not parse                     [unsendable]
  // Requests.
  kBadProtocolId,      // action 0 without the BEP 15 magic 0x41727101980     [unsendable]
  kAnnounceTooShort,   // an announce shorter than 98 bytes                   [sendable]
  kBadEvent,           // an announce event other than 0..3                   [sendable]
  kNoInfoHashes,       // a scrape of zero info hashes (a full scrape)        [sendable]
  kPartialInfoHash,    // a scrape whose length is not 16 + 20 * n            [sendable]
  kTooManyInfoHashes,  // a scrape of more than kMaxScrapeHashes info hashes  [sendable]
  // Responses.
  kConnectResponseTooShort,   // a connect response shorter than 16 bytes
  kAnnounceResponseTooShort,  // an announce response shorter than 20 bytes
  kPartialPeer,               // announce peers not a multiple of 6 (IPv4) / 18 (IPv6) bytes
  kPartialScrapeStats,        // a scrape response whose length is not 8 + 12 * n
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(ParseError::kNumErrors)> kParseErrors = {
    {
        {"kTooShort", "packet too short"},
        {"kTooLong", "packet too long"},
        {"kUnknownAction", "unknown action"},
        {"kBadProtocolId", "bad protocol id"},
        {"kAnnounceTooShort", "announce request too short"},
        {"kBadEvent", "unknown announce event"},
        {"kNoInfoHashes", "full scrapes are not supported"},
        {"kPartialInfoHash", "info hashes must be 20 bytes each"},
        {"kTooManyInfoHashes", "too many info hashes in one scrape"},
        {"kConnectResponseTooShort", "connect response too short"},
        {"kAnnounceResponseTooShort", "announce response too short"},
        {"kPartialPeer", "peer list is not whole peers"},
        {"kPartialScrapeStats", "scrape response is not whole entries"},
    }};

constexpr std::string_view ErrorName(ParseError e) { return LookUpError(kParseErrors, e).name; }
constexpr std::string_view ErrorReason(ParseError e) { return LookUpError(kParseErrors, e).reason; }

static_assert(ProtocolError<ParseError>);

}  // namespace reef::udp

#endif  // REEF_PROTOCOL_UDP_ERRORS_H_
