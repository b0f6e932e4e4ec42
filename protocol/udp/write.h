// Writing BEP 15 datagrams into a caller's buffer, both directions.
//
// Every Write* returns the datagram's length, or WriteError::kBufferTooSmall when `out`
// cannot hold it, or WriteError::kInvalidValue when the message has no valid encoding
// (an event outside 0..3, a scrape of 0 or more than kMaxScrapeHashes hashes, an error
// message over kMaxErrorMessageSize, a response over kMaxResponseSize). On failure the
// contents of `out` are unspecified. Nothing allocates. What a Write* accepts, the
// matching parser gives back: ParseX(WriteX(x)) == x.
//
// Announce and scrape responses can also be written incrementally, which is how a server
// should write them: AnnounceResponseWriter puts the 20-byte header into the send buffer
// and then appends one compact peer at a time, straight from wherever the server keeps its
// peers, with no intermediate list of peers (or of addresses) ever built:
//
//   AnnounceResponseWriter w(send_buffer, IpFamily::kV4, {tid, interval, leechers, seeders});
//   size_t n = std::min(wanted, w.room_for_peers());
//   for (const StoredPeer& p : store.Select(n)) w.AddPeerV4(p.ip, p.port);
//   WriteResult r = w.Finish();   // the datagram's length
//
// WriteAnnounceResponse(const AnnounceResponse&) is the same writer fed from a PeerList.
#ifndef REEF_PROTOCOL_UDP_WRITE_H_
#define REEF_PROTOCOL_UDP_WRITE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/common/byte_writer.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"
#include "protocol/udp/messages.h"

namespace reef::udp {

// ---- Lengths (BEP 15) ----

constexpr size_t ScrapeRequestSize(size_t hashes) {
  return kScrapeRequestHeaderSize + hashes * kInfoHashSize;
}
constexpr size_t AnnounceResponseSize(IpFamily family, size_t peers) {
  return kAnnounceResponseHeaderSize + peers * PeerSize(family);
}
constexpr size_t ScrapeResponseSize(size_t torrents) {
  return kScrapeResponseHeaderSize + torrents * kTorrentStatsSize;
}
constexpr size_t ErrorResponseSize(size_t message_size) {
  return kErrorResponseHeaderSize + message_size;
}

// ---- Requests ----

WriteResult WriteConnectRequest(const ConnectRequest& request, std::span<uint8_t> out);
// Writes the 98 bytes of BEP 15, no BEP 41 options.
WriteResult WriteAnnounceRequest(const AnnounceRequest& request, std::span<uint8_t> out);
WriteResult WriteScrapeRequest(const ScrapeRequest& request, std::span<uint8_t> out);
// The same from hashes kept as InfoHash values (a load generator's list, say).
WriteResult WriteScrapeRequest(uint64_t connection_id, uint32_t transaction_id,
                               std::span<const InfoHash> info_hashes, std::span<uint8_t> out);
WriteResult WriteRequest(const Request& request, std::span<uint8_t> out);

// ---- Responses ----

WriteResult WriteConnectResponse(const ConnectResponse& response, std::span<uint8_t> out);
WriteResult WriteAnnounceResponse(const AnnounceResponse& response, std::span<uint8_t> out);
WriteResult WriteScrapeResponse(const ScrapeResponse& response, std::span<uint8_t> out);
WriteResult WriteErrorResponse(const ErrorResponse& response, std::span<uint8_t> out);
WriteResult WriteResponse(const Response& response, std::span<uint8_t> out);

// The fixed part of an announce response.
struct AnnounceResponseHeader {
  uint32_t transaction_id = 0;
  int32_t interval = 0;
  int32_t leechers = 0;
  int32_t seeders = 0;
};

// Writes an announce response in place: the header at construction, then peers one by
// one. Failure is sticky: once an Add fails (buffer full: kBufferTooSmall; a peer of the
// other family, or past kMaxResponseSize: kInvalidValue) every later Add fails and
// Finish() reports that error.
class AnnounceResponseWriter {
 public:
  AnnounceResponseWriter(std::span<uint8_t> out, IpFamily family,
                         const AnnounceResponseHeader& header)
      : writer_(out), family_(family) {
    writer_.WriteU32Be(static_cast<uint32_t>(Action::kAnnounce));
    writer_.WriteU32Be(header.transaction_id);
    writer_.WriteI32Be(header.interval);
    writer_.WriteI32Be(header.leechers);
    writer_.WriteI32Be(header.seeders);
  }
  AnnounceResponseWriter(const AnnounceResponseWriter&) = delete;
  AnnounceResponseWriter& operator=(const AnnounceResponseWriter&) = delete;

  bool AddPeerV4(std::span<const uint8_t, 4> ip, uint16_t port) {
    if (!Admit(IpFamily::kV4, 1)) return false;
    writer_.WriteBytes(ip);
    writer_.WriteU16Be(port);
    return Count(1);
  }
  bool AddPeerV6(std::span<const uint8_t, 16> ip, uint16_t port) {
    if (!Admit(IpFamily::kV6, 1)) return false;
    writer_.WriteBytes(ip);
    writer_.WriteU16Be(port);
    return Count(1);
  }
  bool AddPeer(const Peer& peer) {
    std::span<const uint8_t, 16> ip(peer.ip);
    return peer.family == IpFamily::kV6 ? AddPeerV6(ip, peer.port)
                                        : AddPeerV4(ip.first<4>(), peer.port);
  }
  // Peers already in wire form: 6 (IPv4) or 18 (IPv6) bytes each, per family().
  bool AddCompactPeers(std::span<const uint8_t> entries) {
    if (entries.size() % PeerSize(family_) != 0) invalid_ = true;
    const size_t count = entries.size() / PeerSize(family_);
    if (!Admit(family_, count)) return false;
    writer_.WriteBytes(entries);
    return Count(count);
  }

  // How many more peers fit, in the buffer and under kMaxResponseSize.
  size_t room_for_peers() const {
    if (invalid_ || !writer_.ok()) return 0;
    const size_t limit = std::min(writer_.room(), kMaxResponseSize - writer_.written());
    return limit / PeerSize(family_);
  }
  IpFamily family() const { return family_; }
  size_t peer_count() const { return peers_; }

  [[nodiscard]] WriteResult Finish() const {
    if (invalid_) return WriteResult::Fail(WriteError::kInvalidValue);
    return writer_.Result();
  }

 private:
  // Refuses (for good) a peer of the other family or one that would pass
  // kMaxResponseSize; a full buffer is left to the ByteWriter's own sticky failure.
  bool Admit(IpFamily family, size_t count) {
    const size_t size = PeerSize(family_);
    if (family != family_ || count > (kMaxResponseSize - writer_.written()) / size) {
      invalid_ = true;
    }
    return !invalid_ && writer_.ok();
  }
  bool Count(size_t count) {
    if (!writer_.ok()) return false;
    peers_ += count;
    return true;
  }

  ByteWriter writer_;
  IpFamily family_;
  bool invalid_ = false;
  size_t peers_ = 0;
};

// Writes a scrape response in place: the header at construction, then one TorrentStats
// per requested hash, in request order. Failure is sticky, as above.
class ScrapeResponseWriter {
 public:
  ScrapeResponseWriter(std::span<uint8_t> out, uint32_t transaction_id) : writer_(out) {
    writer_.WriteU32Be(static_cast<uint32_t>(Action::kScrape));
    writer_.WriteU32Be(transaction_id);
  }
  ScrapeResponseWriter(const ScrapeResponseWriter&) = delete;
  ScrapeResponseWriter& operator=(const ScrapeResponseWriter&) = delete;

  bool Add(const TorrentStats& stats) {
    if (invalid_) return false;
    if (writer_.written() + kTorrentStatsSize > kMaxResponseSize) {
      invalid_ = true;
      return false;
    }
    writer_.WriteI32Be(stats.seeders);
    writer_.WriteI32Be(stats.completed);
    writer_.WriteI32Be(stats.leechers);
    return writer_.ok();
  }

  [[nodiscard]] WriteResult Finish() const {
    if (invalid_) return WriteResult::Fail(WriteError::kInvalidValue);
    return writer_.Result();
  }

 private:
  ByteWriter writer_;
  bool invalid_ = false;
};

}  // namespace reef::udp

#endif  // REEF_PROTOCOL_UDP_WRITE_H_
