// WebTorrent tracker messages: the JSON that npm bittorrent-tracker's client and server
// exchange over a WebSocket (text frames, one message a frame).
//
// Client to server:
//   announce  {"action":"announce","info_hash":H,"peer_id":P,"event":"started",
//              "numwant":5,"uploaded":0,"downloaded":0,"left":0,
//              "offers":[{"offer_id":O,"offer":{"type":"offer","sdp":"..."}}, ...]}
//   answer    {"action":"announce","info_hash":H,"peer_id":P,"to_peer_id":P2,
//              "answer":{"type":"answer","sdp":"..."},"offer_id":O}
//   scrape    {"action":"scrape","info_hash":H}  or  {"action":"scrape","info_hash":[H,...]}
// Server to client:
//   announce response {"complete":1,"incomplete":2,"action":"announce","interval":120,
//                      "info_hash":H}
//   forwarded offer   {"action":"announce","offer":{...},"offer_id":O,"peer_id":P,"info_hash":H}
//   forwarded answer  {"action":"announce","answer":{...},"offer_id":O,"peer_id":P,"info_hash":H}
//   scrape response   {"action":"scrape","files":{H:{"complete":1,"incomplete":2,
//                      "downloaded":1}},"flags":{"min_request_interval":600}}
//   error             {"failure reason":"..."} (with "action" and "info_hash" if known)
//
// H, P and O are "binary strings": 20 code points U+0000-U+00FF, one per byte (JavaScript
// strings made by hex2bin). They are decoded straight into FixedBytes<20>, whether a byte
// came as raw UTF-8 (as JSON.stringify writes 0x80-0xFF), as \u00XX or as a short escape,
// and written back as JSON.stringify writes them, so every server message we write is
// byte-for-byte what bittorrent-tracker writes for it.
//
// SDP offers and answers are JSON objects the tracker forwards and never reads: the parser
// validates them and keeps raw views into the input, the writer copies those views.
//
// Parsing is strict where it matters and lenient where clients differ: unknown keys are
// validated and ignored; a key the parser reads may appear only once (kDuplicateKey: JSON
// readers disagree on which copy of a duplicate wins, so a duplicated info_hash could mean
// one torrent to us and another to a proxy or logger in front of us); numbers must be
// non-negative integers that fit 64 bits.
//
// Nothing here allocates; parsed messages hold views into the input text.
#ifndef REEF_PROTOCOL_WS_WEBTORRENT_H_
#define REEF_PROTOCOL_WS_WEBTORRENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "protocol/common/errors.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"

namespace reef::ws {

using OfferId = FixedBytes<20>;

// Offers in one announce. bittorrent-tracker's client sends at most 5 (browsers and Node
// alike); aquatic accepts 10 by default. One more is kTooManyOffers.
inline constexpr size_t kMaxOffers = 10;
// Info hashes in one scrape request or response.
inline constexpr size_t kMaxScrapeInfoHashes = 64;
// The longest failure reason an ErrorResponse holds (bytes of UTF-8).
inline constexpr size_t kMaxFailureReasonSize = 256;

enum class MessageError : uint8_t {
  kInvalidJson,        // not valid JSON (or nested deeper than kMaxJsonDepth)
  kNotAnObject,        // the message is not a JSON object
  kMissingAction,      // no "action"
  kUnknownAction,      // "action" is neither "announce" nor "scrape"
  kDuplicateKey,       // a key the parser reads appears twice in one object
  kMissingInfoHash,    // an announce without "info_hash"
  kFullScrape,         // a scrape without "info_hash" (bittorrent-tracker: every torrent)
  kBadInfoHash,        // "info_hash" is not a 20-code-point binary string
  kMissingPeerId,      // no "peer_id"
  kBadPeerId,          // "peer_id" is not a 20-code-point binary string
  kBadToPeerId,        // "to_peer_id" is not a 20-code-point binary string
  kBadOfferId,         // "offer_id" is not a 20-code-point binary string
  kBadNumber,          // a count is not a non-negative integer that fits 64 bits
  kBadEvent,           // "event" is not one of the known events
  kBadOffers,          // "offers" is not an array of {"offer_id", "offer"} objects
  kTooManyOffers,      // more than kMaxOffers offers
  kBadOffer,           // an offer is not a JSON object
  kBadAnswer,          // "answer" is not a JSON object
  kMissingToPeerId,    // an answer without "to_peer_id"
  kMissingOfferId,     // an answer (or forwarded offer) without "offer_id"
  kTooManyInfoHashes,  // more than kMaxScrapeInfoHashes info hashes
  kBadFiles,           // a scrape response's "files" is not an object of counts
  kBadFailureReason,   // "failure reason" is not a string, or longer than the limit
  kMissingField,       // a server message lacks a field its kind needs
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(MessageError::kNumErrors)>
    kMessageErrors = {{
        {"kInvalidJson", "invalid json"},
        {"kNotAnObject", "message must be a json object"},
        {"kMissingAction", "missing action"},
        {"kUnknownAction", "unknown action"},
        {"kDuplicateKey", "duplicate key"},
        {"kMissingInfoHash", "missing info_hash"},
        {"kFullScrape", "full scrapes are not supported"},
        {"kBadInfoHash", "invalid info_hash"},
        {"kMissingPeerId", "missing peer_id"},
        {"kBadPeerId", "invalid peer_id"},
        {"kBadToPeerId", "invalid to_peer_id"},
        {"kBadOfferId", "invalid offer_id"},
        {"kBadNumber", "counts must be non-negative integers"},
        {"kBadEvent", "invalid event"},
        {"kBadOffers", "offers must be an array of objects with offer_id and offer"},
        {"kTooManyOffers", "too many offers"},
        {"kBadOffer", "offer must be an object"},
        {"kBadAnswer", "answer must be an object"},
        {"kMissingToPeerId", "answer without to_peer_id"},
        {"kMissingOfferId", "missing offer_id"},
        {"kTooManyInfoHashes", "too many info hashes"},
        {"kBadFiles", "invalid files"},
        {"kBadFailureReason", "invalid failure reason"},
        {"kMissingField", "missing field"},
    }};

constexpr std::string_view ErrorName(MessageError e) {
  return LookUpError(kMessageErrors, e).name;
}
constexpr std::string_view ErrorReason(MessageError e) {
  return LookUpError(kMessageErrors, e).reason;
}
static_assert(ProtocolError<MessageError>);

// "event" of an announce; kNone when the key is absent (bittorrent-tracker treats absent
// and "empty" as "update").
enum class AnnounceEvent : uint8_t { kNone, kStarted, kStopped, kCompleted, kUpdate, kPaused, kEmpty };

constexpr std::string_view EventName(AnnounceEvent e) {
  switch (e) {
    case AnnounceEvent::kStarted: return "started";
    case AnnounceEvent::kStopped: return "stopped";
    case AnnounceEvent::kCompleted: return "completed";
    case AnnounceEvent::kUpdate: return "update";
    case AnnounceEvent::kPaused: return "paused";
    case AnnounceEvent::kEmpty: return "empty";
    case AnnounceEvent::kNone: break;
  }
  return "";
}

struct Offer {
  OfferId offer_id;
  std::string_view offer;  // a validated JSON object, as it came
  friend bool operator==(const Offer&, const Offer&) = default;
};

// A client announce; the answer form has `answer` (with to_peer_id and offer_id).
struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  AnnounceEvent event = AnnounceEvent::kNone;
  std::optional<uint64_t> numwant;
  std::optional<uint64_t> uploaded;
  std::optional<uint64_t> downloaded;
  std::optional<uint64_t> left;  // absent when the client does not know (bittorrent-tracker: Infinity)
  bool has_offers = false;       // "offers" present (possibly empty)
  size_t offer_count = 0;
  std::array<Offer, kMaxOffers> offer_storage{};
  std::optional<PeerId> to_peer_id;
  std::optional<OfferId> offer_id;
  std::string_view answer;  // a validated JSON object, empty when absent

  std::span<const Offer> offers() const { return {offer_storage.data(), offer_count}; }
  // Appends an offer (and sets has_offers); false if there are kMaxOffers already.
  bool AddOffer(const Offer& offer);

  friend bool operator==(const AnnounceRequest& a, const AnnounceRequest& b);
};

struct ScrapeRequest {
  bool as_array = false;  // "info_hash":[...] rather than one string
  size_t count = 0;
  std::array<InfoHash, kMaxScrapeInfoHashes> info_hash_storage{};

  std::span<const InfoHash> info_hashes() const { return {info_hash_storage.data(), count}; }
  bool Add(const InfoHash& h);
  friend bool operator==(const ScrapeRequest& a, const ScrapeRequest& b);
};

using ClientMessage = std::variant<AnnounceRequest, ScrapeRequest>;

struct AnnounceResponse {
  InfoHash info_hash;
  uint64_t complete = 0;
  uint64_t incomplete = 0;
  uint64_t interval = 0;  // seconds
  friend bool operator==(const AnnounceResponse&, const AnnounceResponse&) = default;
};

// An offer forwarded to a peer: peer_id is the peer that made the offer.
struct OfferMessage {
  InfoHash info_hash;
  PeerId peer_id;
  OfferId offer_id;
  std::string_view offer;
  friend bool operator==(const OfferMessage&, const OfferMessage&) = default;
};

// An answer forwarded to the peer that made the offer: peer_id is the answering peer.
struct AnswerMessage {
  InfoHash info_hash;
  PeerId peer_id;
  OfferId offer_id;
  std::string_view answer;
  friend bool operator==(const AnswerMessage&, const AnswerMessage&) = default;
};

struct ScrapeFile {
  InfoHash info_hash;
  uint64_t complete = 0;
  uint64_t incomplete = 0;
  uint64_t downloaded = 0;
  friend bool operator==(const ScrapeFile&, const ScrapeFile&) = default;
};

struct ScrapeResponse {
  size_t count = 0;
  std::array<ScrapeFile, kMaxScrapeInfoHashes> file_storage{};
  std::optional<uint64_t> min_request_interval;  // "flags":{"min_request_interval":N}

  std::span<const ScrapeFile> files() const { return {file_storage.data(), count}; }
  bool Add(const ScrapeFile& f);
  friend bool operator==(const ScrapeResponse& a, const ScrapeResponse& b);
};

enum class Action : uint8_t { kAnnounce, kScrape };

struct ErrorResponse {
  std::optional<Action> action;
  std::optional<InfoHash> info_hash;

  // The failure reason, as plain UTF-8 text (decoded from its JSON escapes).
  std::string_view failure_reason() const { return {reason_.data(), reason_size_}; }
  // False (and unchanged) if longer than kMaxFailureReasonSize.
  bool SetFailureReason(std::string_view text);

  friend bool operator==(const ErrorResponse& a, const ErrorResponse& b);

 private:
  friend struct MessageParser;
  std::array<char, kMaxFailureReasonSize> reason_{};
  size_t reason_size_ = 0;
};

using ServerMessage =
    std::variant<AnnounceResponse, OfferMessage, AnswerMessage, ScrapeResponse, ErrorResponse>;

// Parses what a client sends. consumed() is json.size() on success.
ParseResult<ClientMessage, MessageError> ParseClientMessage(std::string_view json);
// Parses what a server sends (for the load generator and tests). A message with a
// "failure reason" is an ErrorResponse; an announce with "offer" a forwarded offer, with
// "answer" a forwarded answer, else an announce response.
ParseResult<ServerMessage, MessageError> ParseServerMessage(std::string_view json);

// Serializers: the bytes written, kBufferTooSmall, or kInvalidValue (an offer or answer
// view that is empty, a failure reason that is not UTF-8).
WriteResult WriteMessage(std::span<uint8_t> out, const AnnounceRequest& m);
WriteResult WriteMessage(std::span<uint8_t> out, const ScrapeRequest& m);
WriteResult WriteMessage(std::span<uint8_t> out, const AnnounceResponse& m);
WriteResult WriteMessage(std::span<uint8_t> out, const OfferMessage& m);
WriteResult WriteMessage(std::span<uint8_t> out, const AnswerMessage& m);
WriteResult WriteMessage(std::span<uint8_t> out, const ScrapeResponse& m);
WriteResult WriteMessage(std::span<uint8_t> out, const ErrorResponse& m);
WriteResult WriteMessage(std::span<uint8_t> out, const ClientMessage& m);
WriteResult WriteMessage(std::span<uint8_t> out, const ServerMessage& m);

}  // namespace reef::ws

#endif  // REEF_PROTOCOL_WS_WEBTORRENT_H_
