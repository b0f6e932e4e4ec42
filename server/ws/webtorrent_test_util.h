// Test helpers for WebTorrent connections driven without sockets: the client side of
// the protocol (masked frames carrying announce, answer and scrape JSON) and a reader of
// what reef sends back. Used by the unit tests, the property test and the fuzz target.
#ifndef REEF_SERVER_WS_WEBTORRENT_TEST_UTIL_H_
#define REEF_SERVER_WS_WEBTORRENT_TEST_UTIL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/common/fixed_bytes.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/webtorrent.h"

namespace reef::ws::testing {

// A masked client text frame.
std::vector<uint8_t> ClientTextFrame(std::string_view text, const MaskKey& mask = {1, 2, 3, 4});
// A masked client frame of any opcode.
std::vector<uint8_t> ClientFrame(Opcode opcode, std::span<const uint8_t> payload, bool fin = true,
                                 const MaskKey& mask = {1, 2, 3, 4});

// 20 bytes made of `tag` and `n`, for info hashes, peer ids and offer ids.
FixedBytes<20> Id20(char tag, uint32_t n);
// An SDP object as browsers send it, identifying `n` so tests can follow it.
std::string SdpJson(std::string_view type, uint32_t n);

struct OfferSpec {
  OfferId offer_id;
  std::string offer_json;  // a JSON object
};

// Client messages as bittorrent-tracker's client writes them (through protocol/ws).
std::string AnnounceJson(const InfoHash& info_hash, const PeerId& peer_id,
                         AnnounceEvent event, std::optional<uint64_t> left,
                         std::optional<uint64_t> numwant, const std::vector<OfferSpec>& offers);
std::string AnswerJson(const InfoHash& info_hash, const PeerId& peer_id, const PeerId& to_peer_id,
                       const OfferId& offer_id, const std::string& answer_json);
std::string ScrapeJson(const std::vector<InfoHash>& info_hashes, bool as_array = true);

// One frame reef sent, with a text frame's message parsed (and owned: the views of a
// ServerMessage point into `text`).
struct ReceivedFrame {
  Opcode opcode = Opcode::kText;
  std::string payload;
};

// Splits `bytes` into server frames. Fails (nullopt) if anything is not a valid server
// frame: masked, not minimally encoded, unknown opcode, RSV bits, a fragment, a control
// frame over 125 bytes, text that is not UTF-8, or a partial frame at the end.
std::optional<std::vector<ReceivedFrame>> ParseServerFrames(std::span<const uint8_t> bytes);

// Parses a received text frame's JSON as a server message (views into `frame.payload`).
std::optional<ServerMessage> ParseServer(const ReceivedFrame& frame);

}  // namespace reef::ws::testing

#endif  // REEF_SERVER_WS_WEBTORRENT_TEST_UTIL_H_
