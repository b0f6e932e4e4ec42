#include "protocol/udp/parse.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/byte_reader.h"

namespace reef::udp {
namespace {

// Announce request after the 16-byte header (BEP 15, offsets in the whole datagram):
//   16 info_hash[20]  36 peer_id[20]  56 downloaded i64  64 left i64  72 uploaded i64
//   80 event i32  84 ip u32  88 key u32  92 num_want i32  96 port u16  = 98
RequestResult ParseAnnounce(std::span<const uint8_t> datagram, ByteReader& reader,
                            uint64_t connection_id, uint32_t transaction_id) {
  auto fail = [&](ParseError e) {
    return RequestResult::Fail(e, connection_id, transaction_id, /*sendable=*/true);
  };
  if (datagram.size() < kAnnounceRequestSize) return fail(ParseError::kAnnounceTooShort);
  if (datagram.size() > kMaxRequestSize) return fail(ParseError::kTooLong);
  return RequestResult::Build<AnnounceRequest>(
      kAnnounceRequestSize, connection_id, transaction_id, /*sendable=*/true,
      [&](AnnounceRequest& a) -> std::optional<ParseError> {
        a.connection_id = connection_id;
        a.transaction_id = transaction_id;
        uint32_t event = 0;
        // Cannot fail: the length was checked above. Checked anyway, so a change of
        // layout that forgets the length check fails safe.
        bool ok = reader.ReadFixed(&a.info_hash) && reader.ReadFixed(&a.peer_id) &&
                  reader.ReadI64Be(&a.downloaded) && reader.ReadI64Be(&a.left) &&
                  reader.ReadI64Be(&a.uploaded) && reader.ReadU32Be(&event) &&
                  reader.ReadBytes(a.ip) && reader.ReadU32Be(&a.key) &&
                  reader.ReadI32Be(&a.num_want) && reader.ReadU16Be(&a.port);
        if (!ok) return ParseError::kAnnounceTooShort;
        if (event > kMaxEventValue) return ParseError::kBadEvent;
        a.event = static_cast<AnnounceEvent>(event);
        return std::nullopt;
      });
}

// Scrape request: the 16-byte header, then 20-byte info hashes to the end.
RequestResult ParseScrape(ByteReader& reader, uint64_t connection_id, uint32_t transaction_id) {
  auto fail = [&](ParseError e) {
    return RequestResult::Fail(e, connection_id, transaction_id, /*sendable=*/true);
  };
  std::span<const uint8_t> rest = reader.rest();
  if (rest.empty()) return fail(ParseError::kNoInfoHashes);
  std::optional<InfoHashList> hashes = InfoHashList::FromBytes(rest);
  if (!hashes) return fail(ParseError::kPartialInfoHash);
  // Together with the two checks above, this refuses every scrape over kMaxRequestSize.
  if (hashes->size() > kMaxScrapeHashes) return fail(ParseError::kTooManyInfoHashes);
  return RequestResult::Build<ScrapeRequest>(
      kScrapeRequestHeaderSize + rest.size(), connection_id, transaction_id,
      /*sendable=*/true, [&](ScrapeRequest& s) -> std::optional<ParseError> {
        s.connection_id = connection_id;
        s.transaction_id = transaction_id;
        s.info_hashes = *hashes;
        return std::nullopt;
      });
}

}  // namespace

RequestResult ParseRequest(std::span<const uint8_t> datagram) {
  ByteReader reader(datagram);
  uint64_t connection_id = 0;
  uint32_t action = 0;
  uint32_t transaction_id = 0;
  if (!reader.ReadU64Be(&connection_id) || !reader.ReadU32Be(&action) ||
      !reader.ReadU32Be(&transaction_id)) {
    return RequestResult::Fail(ParseError::kTooShort);
  }
  switch (action) {
    case static_cast<uint32_t>(Action::kConnect):
      // Never answered: a connect carries no connection id to vouch for its sender.
      if (datagram.size() > kMaxRequestSize) {
        return RequestResult::Fail(ParseError::kTooLong, connection_id, transaction_id, false);
      }
      if (connection_id != kProtocolId) {
        return RequestResult::Fail(ParseError::kBadProtocolId, connection_id, transaction_id,
                                   false);
      }
      return RequestResult::Ok(ConnectRequest{transaction_id}, kConnectRequestSize, connection_id,
                               transaction_id);
    case static_cast<uint32_t>(Action::kAnnounce):
      return ParseAnnounce(datagram, reader, connection_id, transaction_id);
    case static_cast<uint32_t>(Action::kScrape):
      return ParseScrape(reader, connection_id, transaction_id);
    default:
      return RequestResult::Fail(ParseError::kUnknownAction, connection_id, transaction_id, false);
  }
}

namespace {

ResponseResult ParseAnnounceResponse(ByteReader& reader, uint32_t transaction_id,
                                     IpFamily peer_family) {
  AnnounceResponse a;
  a.transaction_id = transaction_id;
  if (!reader.ReadI32Be(&a.interval) || !reader.ReadI32Be(&a.leechers) ||
      !reader.ReadI32Be(&a.seeders)) {
    return ResponseResult::Fail(ParseError::kAnnounceResponseTooShort, 0, transaction_id, false);
  }
  std::span<const uint8_t> rest = reader.rest();
  std::optional<PeerList> peers = PeerList::FromBytes(peer_family, rest);
  if (!peers) return ResponseResult::Fail(ParseError::kPartialPeer, 0, transaction_id, false);
  a.peers = *peers;
  return ResponseResult::Ok(a, reader.consumed() + rest.size(), 0, transaction_id);
}

}  // namespace

ResponseResult ParseResponse(std::span<const uint8_t> datagram, IpFamily peer_family) {
  ByteReader reader(datagram);
  uint32_t action = 0;
  uint32_t transaction_id = 0;
  if (!reader.ReadU32Be(&action) || !reader.ReadU32Be(&transaction_id)) {
    return ResponseResult::Fail(ParseError::kTooShort);
  }
  auto fail = [&](ParseError e) { return ResponseResult::Fail(e, 0, transaction_id, false); };
  if (datagram.size() > kMaxResponseSize) return fail(ParseError::kTooLong);
  switch (action) {
    case static_cast<uint32_t>(Action::kConnect): {
      ConnectResponse c;
      c.transaction_id = transaction_id;
      if (!reader.ReadU64Be(&c.connection_id)) return fail(ParseError::kConnectResponseTooShort);
      return ResponseResult::Ok(c, kConnectResponseSize, 0, transaction_id);
    }
    case static_cast<uint32_t>(Action::kAnnounce):
      return ParseAnnounceResponse(reader, transaction_id, peer_family);
    case static_cast<uint32_t>(Action::kScrape): {
      std::span<const uint8_t> rest = reader.rest();
      std::optional<TorrentStatsList> stats = TorrentStatsList::FromBytes(rest);
      if (!stats) return fail(ParseError::kPartialScrapeStats);
      return ResponseResult::Ok(ScrapeResponse{transaction_id, *stats}, datagram.size(), 0,
                                transaction_id);
    }
    case static_cast<uint32_t>(Action::kError): {
      std::span<const uint8_t> rest = reader.rest();
      std::string_view message(reinterpret_cast<const char*>(rest.data()), rest.size());
      return ResponseResult::Ok(ErrorResponse{transaction_id, message}, datagram.size(), 0,
                                transaction_id);
    }
    default:
      return fail(ParseError::kUnknownAction);
  }
}

}  // namespace reef::udp
