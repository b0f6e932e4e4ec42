// Properties of protocol/udp (BEP 15): for every message type, parse(write(x)) == x and
// the written length follows the BEP 15 formula; no proper prefix of a valid announce
// parses; trailing BEP 41 bytes never change an announce; writers refuse every buffer one
// byte too small; the parser is total on any bytes.
//
// Messages with views (scrape hashes, peers, scrape counts, error text) are generated as
// owned bytes first and viewed afterwards, so the views outlive nothing.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"

namespace reef::udp {
namespace {

using Bytes = std::vector<uint8_t>;

rc::Gen<uint8_t> AnyByte() { return rc::gen::arbitrary<uint8_t>(); }

template <size_t N>
FixedBytes<N> AnyFixed() {
  return FixedBytes<N>(*rc::gen::arbitrary<std::array<uint8_t, N>>());
}

AnnounceRequest AnyAnnounce() {
  AnnounceRequest a;
  a.connection_id = *rc::gen::arbitrary<uint64_t>();
  a.transaction_id = *rc::gen::arbitrary<uint32_t>();
  a.info_hash = AnyFixed<20>();
  a.peer_id = AnyFixed<20>();
  a.downloaded = *rc::gen::arbitrary<int64_t>();
  a.left = *rc::gen::arbitrary<int64_t>();
  a.uploaded = *rc::gen::arbitrary<int64_t>();
  a.event = *rc::gen::element(AnnounceEvent::kNone, AnnounceEvent::kCompleted,
                              AnnounceEvent::kStarted, AnnounceEvent::kStopped);
  a.ip = *rc::gen::arbitrary<std::array<uint8_t, 4>>();
  a.key = *rc::gen::arbitrary<uint32_t>();
  a.num_want = *rc::gen::oneOf(rc::gen::just(kNumWantDefault), rc::gen::arbitrary<int32_t>());
  a.port = *rc::gen::arbitrary<uint16_t>();
  return a;
}

// `records` whole records of `size` bytes each.
Bytes AnyRecords(size_t min_records, size_t max_records, size_t size) {
  const size_t n = *rc::gen::inRange(min_records, max_records + 1);
  return *rc::gen::container<Bytes>(n * size, AnyByte());
}

template <typename T>
const T& Get(const RequestResult& r) {
  RC_ASSERT(r.ok());
  RC_ASSERT(std::holds_alternative<T>(r.value()));
  return std::get<T>(r.value());
}
template <typename T>
const T& Get(const ResponseResult& r) {
  RC_ASSERT(r.ok());
  RC_ASSERT(std::holds_alternative<T>(r.value()));
  return std::get<T>(r.value());
}

// Writes with `write` into a buffer of exactly `expected_size` bytes; checks the length,
// and that every smaller buffer is refused as too small. Returns the bytes.
template <typename Write>
Bytes WriteExactly(Write write, size_t expected_size) {
  Bytes out(expected_size + 7, 0xee);
  WriteResult r = write(std::span<uint8_t>(out));
  RC_ASSERT(r.ok());
  RC_ASSERT(r.length() == expected_size);
  out.resize(r.length());
  const size_t smaller = *rc::gen::inRange<size_t>(0, expected_size);
  Bytes small(smaller);
  WriteResult s = write(std::span<uint8_t>(small));
  RC_ASSERT(!s.ok());
  RC_ASSERT(s.error() == WriteError::kBufferTooSmall);
  return out;
}

// ---- Round trips, with the BEP 15 lengths ----

TEST_CASE("connect request: parse(write(x)) == x, 16 bytes") {
  proptest::Check("connect request", [](uint32_t transaction_id) {
    ConnectRequest x{transaction_id};
    Bytes b = WriteExactly([&](auto out) { return WriteConnectRequest(x, out); }, 16);
    RequestResult r = ParseRequest(b);
    RC_ASSERT(Get<ConnectRequest>(r) == x);
    RC_ASSERT(r.consumed() == 16);
    RC_ASSERT(r.connection_id() == kProtocolId);
  });
}

TEST_CASE("announce request: parse(write(x)) == x, 98 bytes") {
  proptest::Check("announce request", [] {
    AnnounceRequest x = AnyAnnounce();
    Bytes b = WriteExactly([&](auto out) { return WriteAnnounceRequest(x, out); }, 98);
    RequestResult r = ParseRequest(b);
    RC_ASSERT(Get<AnnounceRequest>(r) == x);
    RC_ASSERT(r.consumed() == 98);
    RC_ASSERT(r.transaction_id() == x.transaction_id);
    RC_ASSERT(r.connection_id() == x.connection_id);
  });
}

TEST_CASE("scrape request: parse(write(x)) == x, 16 + 20 * n bytes") {
  proptest::Check("scrape request", [](uint64_t connection_id, uint32_t transaction_id) {
    const Bytes hashes = AnyRecords(1, kMaxScrapeHashes, 20);
    ScrapeRequest x{connection_id, transaction_id, *InfoHashList::FromBytes(hashes)};
    const size_t n = x.info_hashes.size();
    Bytes b = WriteExactly([&](auto out) { return WriteScrapeRequest(x, out); }, 16 + 20 * n);
    RequestResult r = ParseRequest(b);
    RC_ASSERT(Get<ScrapeRequest>(r) == x);
    RC_ASSERT(r.consumed() == b.size());
    // The same bytes from InfoHash values.
    std::vector<InfoHash> values(x.info_hashes.begin(), x.info_hashes.end());
    Bytes c = WriteExactly(
        [&](auto out) { return WriteScrapeRequest(connection_id, transaction_id, values, out); },
        16 + 20 * n);
    RC_ASSERT(b == c);
  });
}

TEST_CASE("connect response: parse(write(x)) == x, 16 bytes") {
  proptest::Check("connect response", [](uint32_t transaction_id, uint64_t connection_id) {
    ConnectResponse x{transaction_id, connection_id};
    Bytes b = WriteExactly([&](auto out) { return WriteConnectResponse(x, out); }, 16);
    RC_ASSERT(Get<ConnectResponse>(ParseResponse(b, IpFamily::kV4)) == x);
  });
}

TEST_CASE("announce response: parse(write(x)) == x, 20 + 6n (IPv4) or 20 + 18n (IPv6)") {
  proptest::Check("announce response", [](uint32_t transaction_id, int32_t interval,
                                          int32_t leechers, int32_t seeders, bool v6) {
    const IpFamily family = v6 ? IpFamily::kV6 : IpFamily::kV4;
    const size_t entry = v6 ? 18 : 6;
    const Bytes peers = AnyRecords(0, 200, entry);
    AnnounceResponse x{transaction_id, interval, leechers, seeders,
                       *PeerList::FromBytes(family, peers)};
    const size_t n = x.peers.size();
    Bytes b = WriteExactly([&](auto out) { return WriteAnnounceResponse(x, out); }, 20 + entry * n);
    ResponseResult r = ParseResponse(b, family);
    RC_ASSERT(Get<AnnounceResponse>(r) == x);
    RC_ASSERT(r.consumed() == b.size());
    // The incremental writer, peer by peer, writes the same bytes.
    Bytes c(b.size());
    AnnounceResponseWriter w(c, family, {transaction_id, interval, leechers, seeders});
    RC_ASSERT(w.room_for_peers() == n);
    for (size_t i = 0; i < n; ++i) RC_ASSERT(w.AddPeer(x.peers[i]));
    RC_ASSERT(w.Finish().ok());
    RC_ASSERT(b == c);
  });
}

TEST_CASE("scrape response: parse(write(x)) == x, 8 + 12 * n bytes") {
  proptest::Check("scrape response", [](uint32_t transaction_id) {
    const Bytes stats = AnyRecords(1, kMaxScrapeHashes, 12);
    ScrapeResponse x{transaction_id, *TorrentStatsList::FromBytes(stats)};
    const size_t n = x.stats.size();
    Bytes b = WriteExactly([&](auto out) { return WriteScrapeResponse(x, out); }, 8 + 12 * n);
    RC_ASSERT(Get<ScrapeResponse>(ParseResponse(b, IpFamily::kV6)) == x);
    Bytes c(b.size());
    ScrapeResponseWriter w(c, transaction_id);
    for (const TorrentStats& s : x.stats) RC_ASSERT(w.Add(s));
    RC_ASSERT(w.Finish().ok());
    RC_ASSERT(b == c);
  });
}

TEST_CASE("error response: parse(write(x)) == x, 8 + message bytes") {
  proptest::Check("error response", [](uint32_t transaction_id) {
    const std::string message =
        *rc::gen::resize(static_cast<int>(kMaxErrorMessageSize),
                         rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
    RC_PRE(message.size() <= kMaxErrorMessageSize);
    ErrorResponse x{transaction_id, message};
    Bytes b =
        WriteExactly([&](auto out) { return WriteErrorResponse(x, out); }, 8 + message.size());
    RC_ASSERT(Get<ErrorResponse>(ParseResponse(b, IpFamily::kV4)) == x);
  });
}

// ---- Prefixes, trailing bytes, totality ----

TEST_CASE("no proper prefix of a valid announce parses") {
  proptest::Check("prefixes of an announce fail", [] {
    AnnounceRequest x = AnyAnnounce();
    std::array<uint8_t, 98> b{};
    RC_ASSERT(WriteAnnounceRequest(x, b).ok());
    for (size_t n = 0; n < 98; ++n) {
      RequestResult r = ParseRequest(std::span(b).first(n));
      RC_ASSERT(r.failed());
      RC_ASSERT(r.error() == (n < 16 ? ParseError::kTooShort : ParseError::kAnnounceTooShort));
      // From 16 bytes on, the sender gets an answer.
      RC_ASSERT(r.sendable() == (n >= 16));
    }
  });
}

TEST_CASE("trailing bytes (BEP 41 options) never change an announce") {
  proptest::Check("announce + options == announce", [] {
    AnnounceRequest x = AnyAnnounce();
    Bytes b(98);
    RC_ASSERT(WriteAnnounceRequest(x, b).ok());
    const Bytes options = *rc::gen::container<Bytes>(
        *rc::gen::inRange<size_t>(0, kMaxRequestSize - 98 + 1), AnyByte());
    b.insert(b.end(), options.begin(), options.end());
    RequestResult r = ParseRequest(b);
    RC_ASSERT(Get<AnnounceRequest>(r) == x);
    RC_ASSERT(r.consumed() == 98);
  });
}

TEST_CASE("the parsers are total: any bytes give a value or an error, never more than given") {
  proptest::Check("totality", [](const Bytes& b, bool v6) {
    RequestResult q = ParseRequest(b);
    RC_ASSERT(q.ok() != q.failed());
    RC_ASSERT(q.consumed() <= b.size());
    RC_ASSERT(q.has_transaction_id() == (b.size() >= 16));
    ResponseResult p = ParseResponse(b, v6 ? IpFamily::kV6 : IpFamily::kV4);
    RC_ASSERT(p.ok() != p.failed());
    RC_ASSERT(p.consumed() <= b.size());
    RC_ASSERT(p.has_transaction_id() == (b.size() >= 8));
  });
}

}  // namespace
}  // namespace reef::udp
