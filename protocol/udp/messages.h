// The messages of the UDP tracker protocol (BEP 15), as plain values, and the views that
// let variable-length parts (a scrape's info hashes, an announce's peers, a scrape's
// per-torrent counts) point into a datagram instead of being copied.
//
// Field types follow the BEP 15 tables: 64-bit counters and 32-bit counts are signed
// (int64_t / int32_t) as the BEP writes them, ids and keys are opaque (unsigned), ports
// are uint16_t, and IP addresses are raw bytes in network order. Every struct compares
// with ==, views by content.
#ifndef REEF_PROTOCOL_UDP_MESSAGES_H_
#define REEF_PROTOCOL_UDP_MESSAGES_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"

namespace reef::udp {

// ---- Wire constants (BEP 15) ----

// The connection id of every connect request: "protocol_id", 0x41727101980.
inline constexpr uint64_t kProtocolId = 0x41727101980ULL;

enum class Action : uint32_t {
  kConnect = 0,
  kAnnounce = 1,
  kScrape = 2,
  kError = 3,
};

enum class AnnounceEvent : uint32_t {
  kNone = 0,
  kCompleted = 1,
  kStarted = 2,
  kStopped = 3,
};
inline constexpr uint32_t kMaxEventValue = 3;

// "num_want: the number of peers you want; -1 for default".
inline constexpr int32_t kNumWantDefault = -1;

// reef's address family (protocol/common/ip_address.h), under its BEP 15 name here.
using IpFamily = ::reef::AddressFamily;

inline constexpr size_t kRequestHeaderSize = 16;   // connection_id, action, transaction_id
inline constexpr size_t kResponseHeaderSize = 8;   // action, transaction_id
inline constexpr size_t kConnectRequestSize = 16;  // protocol_id, action, transaction_id
inline constexpr size_t kConnectResponseSize = 16;
inline constexpr size_t kAnnounceRequestSize = 98;         // without BEP 41 options
inline constexpr size_t kAnnounceResponseHeaderSize = 20;  // + 6 or 18 bytes per peer
inline constexpr size_t kScrapeRequestHeaderSize = 16;     // + 20 bytes per info hash
inline constexpr size_t kScrapeResponseHeaderSize = 8;     // + 12 bytes per info hash
inline constexpr size_t kErrorResponseHeaderSize = 8;      // + the message
inline constexpr size_t kPeerV4Size = 6;                   // IPv4 address, port
inline constexpr size_t kPeerV6Size = 18;                  // IPv6 address, port
inline constexpr size_t kTorrentStatsSize = 12;            // seeders, completed, leechers

constexpr size_t PeerSize(IpFamily family) {
  return family == IpFamily::kV6 ? kPeerV6Size : kPeerV4Size;
}

// ---- Limits ----

// The largest request datagram accepted: an Ethernet MTU's worth of payload. BEP 15 says
// "up to about 74 torrents can be scraped at once", which is (1500 - 16) / 20; connect
// and announce requests are 16 and 98 bytes, so 1500 leaves 1402 bytes of BEP 41
// options after an announce (libtorrent sends 11). Anything longer is refused.
inline constexpr size_t kMaxRequestSize = 1500;

// The most info hashes one scrape request may carry: as many as fit in kMaxRequestSize
// after the 16-byte header, (1500 - 16) / 20 = 74. One more does not fit.
inline constexpr size_t kMaxScrapeHashes =
    (kMaxRequestSize - kScrapeRequestHeaderSize) / kInfoHashSize;
static_assert(kMaxScrapeHashes == 74);
static_assert(kScrapeRequestHeaderSize + (kMaxScrapeHashes + 1) * kInfoHashSize > kMaxRequestSize);

// The largest response datagram parsed or written: the most UDP payload an IPv4 datagram
// can carry, 65535 - 20 (IPv4 header) - 8 (UDP header). IPv6 could carry 20 bytes more;
// one limit for both keeps writers from making a response one family cannot send.
inline constexpr size_t kMaxResponseSize = 65507;

// The most peers one announce response can carry within kMaxResponseSize.
inline constexpr size_t kMaxPeersV4 =
    (kMaxResponseSize - kAnnounceResponseHeaderSize) / kPeerV4Size;
inline constexpr size_t kMaxPeersV6 =
    (kMaxResponseSize - kAnnounceResponseHeaderSize) / kPeerV6Size;

// The longest error message a writer puts in an error response. Error responses go back
// to whoever the source address claims to be, so they stay small: 8 + 128 bytes at most.
// Every ErrorReason() fits (checked in parse.h). The parser accepts longer messages from
// other trackers, up to kMaxResponseSize.
inline constexpr size_t kMaxErrorMessageSize = 128;

// ---- Views into wire bytes ----

// A sequence of fixed-size records laid end to end in wire order, as a view: nothing is
// copied until a record is read. Traits gives kSize and `value_type Decode(bytes)`.
template <typename Traits>
class RecordList {
 public:
  using value_type = typename Traits::value_type;
  static constexpr size_t kRecordSize = Traits::kSize;

  constexpr RecordList() = default;

  // A view of `bytes` if it holds a whole number of records.
  static constexpr std::optional<RecordList> FromBytes(std::span<const uint8_t> bytes) {
    if (bytes.size() % kRecordSize != 0) return std::nullopt;
    return RecordList(bytes);
  }

  constexpr size_t size() const { return bytes_.size() / kRecordSize; }
  constexpr bool empty() const { return bytes_.empty(); }
  // The i-th record, decoded; i < size().
  constexpr value_type operator[](size_t i) const {
    return Traits::Decode(bytes_.subspan(i * kRecordSize).template first<kRecordSize>());
  }
  // The wire bytes, size() * kRecordSize of them.
  constexpr std::span<const uint8_t> bytes() const { return bytes_; }

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = typename Traits::value_type;
    using difference_type = std::ptrdiff_t;
    constexpr iterator() = default;
    constexpr iterator(const RecordList* list, size_t i) : list_(list), i_(i) {}
    constexpr value_type operator*() const { return (*list_)[i_]; }
    constexpr iterator& operator++() {
      ++i_;
      return *this;
    }
    constexpr iterator operator++(int) {
      iterator old = *this;
      ++i_;
      return old;
    }
    friend constexpr bool operator==(const iterator& a, const iterator& b) { return a.i_ == b.i_; }

   private:
    const RecordList* list_ = nullptr;
    size_t i_ = 0;
  };
  constexpr iterator begin() const { return iterator(this, 0); }
  constexpr iterator end() const { return iterator(this, size()); }

  friend constexpr bool operator==(const RecordList& a, const RecordList& b) {
    return std::ranges::equal(a.bytes_, b.bytes_);
  }

 private:
  constexpr explicit RecordList(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

namespace internal {
constexpr uint32_t LoadU32(std::span<const uint8_t, 4> b) {
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | static_cast<uint32_t>(b[3]);
}
}  // namespace internal

struct InfoHashTraits {
  using value_type = InfoHash;
  static constexpr size_t kSize = kInfoHashSize;
  static constexpr InfoHash Decode(std::span<const uint8_t, kSize> b) { return InfoHash(b); }
};
// A scrape request's info hashes, in request order.
using InfoHashList = RecordList<InfoHashTraits>;

// One torrent's counts in a scrape response.
struct TorrentStats {
  int32_t seeders = 0;
  int32_t completed = 0;  // times downloaded
  int32_t leechers = 0;
  friend constexpr bool operator==(const TorrentStats&, const TorrentStats&) = default;
};
struct TorrentStatsTraits {
  using value_type = TorrentStats;
  static constexpr size_t kSize = kTorrentStatsSize;
  static constexpr TorrentStats Decode(std::span<const uint8_t, kSize> b) {
    return {static_cast<int32_t>(internal::LoadU32(b.subspan<0, 4>())),
            static_cast<int32_t>(internal::LoadU32(b.subspan<4, 4>())),
            static_cast<int32_t>(internal::LoadU32(b.subspan<8, 4>()))};
  }
};
// A scrape response's counts, one per requested info hash, in request order.
using TorrentStatsList = RecordList<TorrentStatsTraits>;

// One peer of an announce response. For IPv4 only the first 4 bytes of `ip` are used
// (the rest stay zero).
struct Peer {
  IpFamily family = IpFamily::kV4;
  std::array<uint8_t, 16> ip{};  // network order
  uint16_t port = 0;

  constexpr std::span<const uint8_t> address() const {
    return std::span<const uint8_t>(ip).first(family == IpFamily::kV6 ? 16 : 4);
  }
  friend constexpr bool operator==(const Peer&, const Peer&) = default;
};

// An announce response's peers: 6-byte (IPv4) or 18-byte (IPv6) compact entries, as a
// view. The wire format does not say which: the family is that of the socket the request
// was sent over (BEP 15, "IPv6").
class PeerList {
 public:
  constexpr PeerList() = default;
  static constexpr std::optional<PeerList> FromBytes(IpFamily family,
                                                     std::span<const uint8_t> bytes) {
    if (bytes.size() % PeerSize(family) != 0) return std::nullopt;
    return PeerList(family, bytes);
  }

  constexpr IpFamily family() const { return family_; }
  constexpr size_t entry_size() const { return PeerSize(family_); }
  constexpr size_t size() const { return bytes_.size() / entry_size(); }
  constexpr bool empty() const { return bytes_.empty(); }
  constexpr std::span<const uint8_t> bytes() const { return bytes_; }

  constexpr Peer operator[](size_t i) const {
    const size_t address_size = entry_size() - 2;
    std::span<const uint8_t> entry = bytes_.subspan(i * entry_size(), entry_size());
    Peer peer;
    peer.family = family_;
    std::copy_n(entry.begin(), address_size, peer.ip.begin());
    peer.port = static_cast<uint16_t>(entry[address_size] << 8 | entry[address_size + 1]);
    return peer;
  }

  friend constexpr bool operator==(const PeerList& a, const PeerList& b) {
    return a.family_ == b.family_ && std::ranges::equal(a.bytes_, b.bytes_);
  }

 private:
  constexpr PeerList(IpFamily family, std::span<const uint8_t> bytes)
      : family_(family), bytes_(bytes) {}

  IpFamily family_ = IpFamily::kV4;
  std::span<const uint8_t> bytes_;
};

// ---- Requests (client to tracker) ----

struct ConnectRequest {
  uint32_t transaction_id = 0;
  friend constexpr bool operator==(const ConnectRequest&, const ConnectRequest&) = default;
};

struct AnnounceRequest {
  uint64_t connection_id = 0;
  uint32_t transaction_id = 0;
  InfoHash info_hash;
  PeerId peer_id;
  int64_t downloaded = 0;
  int64_t left = 0;
  int64_t uploaded = 0;
  AnnounceEvent event = AnnounceEvent::kNone;
  // 0.0.0.0 means "use the sender's address"; the tracker decides whether to honour
  // anything else.
  std::array<uint8_t, 4> ip{};
  uint32_t key = 0;
  int32_t num_want = kNumWantDefault;
  // Parsed as sent, 0 included: refusing it is the server's business.
  uint16_t port = 0;
  friend constexpr bool operator==(const AnnounceRequest&, const AnnounceRequest&) = default;
};

struct ScrapeRequest {
  uint64_t connection_id = 0;
  uint32_t transaction_id = 0;
  InfoHashList info_hashes;  // 1..kMaxScrapeHashes, a view into the datagram
  InfoHash info_hash(size_t i) const { return info_hashes[i]; }
  friend constexpr bool operator==(const ScrapeRequest&, const ScrapeRequest&) = default;
};

using Request = std::variant<ConnectRequest, AnnounceRequest, ScrapeRequest>;

// ---- Responses (tracker to client) ----

struct ConnectResponse {
  uint32_t transaction_id = 0;
  uint64_t connection_id = 0;
  friend constexpr bool operator==(const ConnectResponse&, const ConnectResponse&) = default;
};

struct AnnounceResponse {
  uint32_t transaction_id = 0;
  int32_t interval = 0;  // seconds
  int32_t leechers = 0;
  int32_t seeders = 0;
  PeerList peers;  // a view into the datagram
  friend constexpr bool operator==(const AnnounceResponse&, const AnnounceResponse&) = default;
};

struct ScrapeResponse {
  uint32_t transaction_id = 0;
  TorrentStatsList stats;  // one per requested hash, in request order; a view
  friend constexpr bool operator==(const ScrapeResponse&, const ScrapeResponse&) = default;
};

struct ErrorResponse {
  uint32_t transaction_id = 0;
  std::string_view message;  // the rest of the datagram, a view; not NUL-terminated
  friend constexpr bool operator==(const ErrorResponse&, const ErrorResponse&) = default;
};

using Response = std::variant<ConnectResponse, AnnounceResponse, ScrapeResponse, ErrorResponse>;

}  // namespace reef::udp

#endif  // REEF_PROTOCOL_UDP_MESSAGES_H_
