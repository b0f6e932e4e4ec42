// Properties of the HTTP tracker protocol (protocol/http):
//  - an announce or scrape request written by our request writer parses back, through
//    ParseRequest and the query parsers, to the same values; every proper prefix of the
//    request head is "incomplete";
//  - ParseRequest and the query parsers are total: any bytes give ok/incomplete/error,
//    never a crash, and consumed() stays within the input;
//  - an announce / scrape / failure response written by our serializers parses back, head
//    and body, to the same values, and every body is canonical (strict) bencode.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"
#include "protocol/http/response_parser.h"

namespace reef::http {
namespace {

template <size_t N>
FixedBytes<N> GenBytes() {
  auto v = *rc::gen::container<std::vector<uint8_t>>(N, rc::gen::arbitrary<uint8_t>());
  return *FixedBytes<N>::FromSpan(v);
}

IpAddress GenAddress(bool v6) {
  if (v6) {
    auto b = GenBytes<16>();
    std::array<uint8_t, 16> a;
    std::copy(b.bytes().begin(), b.bytes().end(), a.begin());
    return IpAddress::V6(a);
  }
  auto b = GenBytes<4>();
  return IpAddress::V4({b[0], b[1], b[2], b[3]});
}

template <typename T>
std::optional<T> Maybe(rc::Gen<T> gen) {
  if (*rc::gen::arbitrary<bool>()) return *gen;
  return std::nullopt;
}

// A raw query value: unreserved characters and %XX escapes.
std::string GenRawValue(size_t max_units) {
  const size_t n = *rc::gen::inRange<size_t>(0, max_units + 1);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (*rc::gen::inRange(0, 4) == 0) {
      constexpr char kHex[] = "0123456789abcdefABCDEF";
      out += '%';
      out += kHex[*rc::gen::inRange(0, 22)];
      out += kHex[*rc::gen::inRange(0, 22)];
    } else {
      constexpr char kUnreserved[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
      out += kUnreserved[*rc::gen::inRange<size_t>(0, sizeof(kUnreserved) - 1)];
    }
  }
  return out;
}

// The strings the request's views point into live beside it.
struct GeneratedAnnounce {
  std::string key;
  std::string tracker_id;
  AnnounceRequest request;
};

void Generate(GeneratedAnnounce* g) {
  g->key = GenRawValue(kDefaultMaxKeyBytes / 3);
  g->tracker_id = GenRawValue(kDefaultMaxTrackerIdBytes / 3);
  AnnounceRequest& a = g->request;
  a.info_hash = GenBytes<20>();
  a.peer_id = GenBytes<20>();
  a.port = *rc::gen::arbitrary<uint16_t>();
  a.uploaded = *rc::gen::arbitrary<uint64_t>();
  a.downloaded = *rc::gen::arbitrary<uint64_t>();
  a.left = Maybe(rc::gen::arbitrary<uint64_t>());
  a.event = *rc::gen::element(Event::kNone, Event::kStarted, Event::kStopped,
                              Event::kCompleted, Event::kPaused);
  a.compact = Maybe(rc::gen::arbitrary<bool>());
  a.no_peer_id = *rc::gen::arbitrary<bool>();
  a.numwant = Maybe(rc::gen::arbitrary<uint32_t>());
  a.key = g->key;
  a.tracker_id = g->tracker_id;
  if (*rc::gen::arbitrary<bool>()) a.ip = GenAddress(*rc::gen::arbitrary<bool>());
  if (*rc::gen::arbitrary<bool>()) {
    a.ipv4 = IpEndpoint{GenAddress(false), Maybe(rc::gen::arbitrary<uint16_t>())};
  }
  if (*rc::gen::arbitrary<bool>()) {
    a.ipv6 = IpEndpoint{GenAddress(true), Maybe(rc::gen::arbitrary<uint16_t>())};
  }
}

std::string_view AsText(const std::vector<uint8_t>& buf, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(buf.data()), n);
}

TEST_CASE("announce requests written by the writer parse back to the same values") {
  proptest::Check("parse(write(announce)) == announce", [] {
    GeneratedAnnounce g;
    Generate(&g);
    RequestOptions options;
    options.keep_alive = *rc::gen::arbitrary<bool>();
    std::vector<uint8_t> buf(4096);
    WriteResult w = WriteAnnounceRequest(g.request, options, buf);
    RC_ASSERT(w.ok());
    std::string_view text = AsText(buf, w.length());
    std::array<Header, 8> headers;
    auto req = ParseRequest(text, headers);
    RC_ASSERT(req.ok());
    RC_ASSERT(req.consumed() == text.size());
    RC_ASSERT(req.value().keep_alive == options.keep_alive);
    RC_ASSERT(req.value().path == "/announce");
    auto parsed = ParseAnnounceQuery(req.value().query);
    RC_ASSERT(parsed.ok());
    RC_ASSERT(parsed.value() == g.request);
    // A server reading this in pieces never refuses it early.
    const size_t cut = *rc::gen::inRange<size_t>(0, text.size());
    RC_ASSERT(ParseRequest(text.substr(0, cut), headers).incomplete());
  });
}

TEST_CASE("scrape requests written by the writer parse back to the same hashes") {
  proptest::Check("parse(write(scrape)) == hashes", [] {
    const size_t n = *rc::gen::inRange<size_t>(1, kDefaultMaxScrapeInfoHashes + 1);
    std::vector<InfoHash> hashes;
    for (size_t i = 0; i < n; ++i) hashes.push_back(GenBytes<20>());
    RequestOptions options;
    options.path = "/scrape";
    std::vector<uint8_t> buf(kDefaultMaxRequestBytes);
    WriteResult w = WriteScrapeRequest(hashes, options, buf);
    RC_ASSERT(w.ok());
    std::array<Header, 8> headers;
    auto req = ParseRequest(AsText(buf, w.length()), headers);
    RC_ASSERT(req.ok());
    auto parsed = ParseScrapeQuery(req.value().query);
    RC_ASSERT(parsed.ok());
    std::vector<InfoHash> got(parsed.value().info_hashes.begin(),
                              parsed.value().info_hashes.end());
    RC_ASSERT(got == hashes);
  });
}

TEST_CASE("the request and query parsers are total") {
  proptest::Check("any bytes: ok, incomplete or a named error", [](const std::string& in) {
    std::array<Header, 8> headers;
    auto r = ParseRequest(in, headers);
    if (r.ok()) RC_ASSERT(r.consumed() <= in.size());
    if (r.failed()) RC_ASSERT(!ErrorReason(r.error()).empty());
    auto a = ParseAnnounceQuery(in);
    RC_ASSERT(a.ok() || a.failed());
    auto s = ParseScrapeQuery(in);
    RC_ASSERT(s.ok() || s.failed());
  });
}

TEST_CASE("announce responses parse back to the same counts and peers") {
  proptest::Check("parse(write(response)) == response", [] {
    const size_t n = *rc::gen::inRange<size_t>(0, 60);
    std::vector<ResponsePeer> peers;
    for (size_t i = 0; i < n; ++i) {
      peers.push_back({GenAddress(*rc::gen::arbitrary<bool>()), *rc::gen::arbitrary<uint16_t>(),
                       GenBytes<20>()});
    }
    const std::string warning = *rc::gen::arbitrary<std::string>();
    const std::string tracker_id = *rc::gen::arbitrary<std::string>();
    AnnounceResponse response;
    response.counts.interval = *rc::gen::arbitrary<int64_t>();
    response.counts.min_interval = Maybe(rc::gen::arbitrary<int64_t>());
    response.counts.complete = *rc::gen::arbitrary<int64_t>();
    response.counts.incomplete = *rc::gen::arbitrary<int64_t>();
    response.counts.warning_message = warning;
    response.counts.tracker_id = tracker_id;
    response.peers = peers;
    response.compact = *rc::gen::arbitrary<bool>();
    response.include_peer_id = *rc::gen::arbitrary<bool>();
    const bool keep_alive = *rc::gen::arbitrary<bool>();

    std::vector<uint8_t> buf(16384);
    HttpResponseWriter http(buf, 200, keep_alive);
    WriteResult total = http.Finish(WriteAnnounceBody(response, http.body()));
    RC_ASSERT(total.ok());
    std::string_view text = AsText(buf, total.length());

    std::array<Header, 8> headers;
    auto head = ParseResponseHead(text, headers);
    RC_ASSERT(head.ok());
    RC_ASSERT(head.value().status == 200);
    RC_ASSERT(head.value().keep_alive == keep_alive);
    RC_ASSERT(head.value().content_length == text.size() - head.consumed());
    std::string_view body = text.substr(head.consumed());
    BencodeLimits strict;
    strict.strict = true;
    RC_ASSERT(CheckBencode(body, strict).ok());

    auto parsed = ParseAnnounceResponse(body);
    RC_ASSERT(parsed.ok());
    const AnnounceResponseView& v = parsed.value();
    RC_ASSERT(v.interval == response.counts.interval);
    RC_ASSERT(v.min_interval == response.counts.min_interval);
    RC_ASSERT(v.complete == response.counts.complete);
    RC_ASSERT(v.incomplete == response.counts.incomplete);
    RC_ASSERT(v.warning_message.value_or("") == warning);
    RC_ASSERT(v.tracker_id.value_or("") == tracker_id);
    RC_ASSERT(v.peer_count() == n);

    // Compact responses list IPv4 peers, then IPv6 peers.
    std::vector<ResponsePeer> expected = peers;
    if (response.compact) {
      std::stable_partition(expected.begin(), expected.end(), [](const ResponsePeer& p) {
        return p.address.family == IpAddress::Family::kV4;
      });
    }
    PeerCursor cursor(v);
    ParsedPeer p;
    for (const ResponsePeer& e : expected) {
      RC_ASSERT(cursor.Next(&p));
      RC_ASSERT(p.address == e.address);
      RC_ASSERT(p.port == e.port);
      if (!response.compact && response.include_peer_id) {
        RC_ASSERT(p.peer_id == e.peer_id);
      } else {
        RC_ASSERT(!p.peer_id.has_value());
      }
    }
    RC_ASSERT(!cursor.Next(&p));
  });
}

TEST_CASE("scrape and failure responses parse back") {
  proptest::Check("parse(write(scrape)) == files", [] {
    const size_t n = *rc::gen::inRange<size_t>(0, 30);
    std::vector<InfoHash> hashes;
    for (size_t i = 0; i < n; ++i) hashes.push_back(GenBytes<20>());
    hashes.resize(SortUniqueInfoHashes(hashes));
    std::vector<ScrapeStats> stats;
    for (size_t i = 0; i < hashes.size(); ++i) {
      stats.push_back({*rc::gen::arbitrary<int64_t>(), *rc::gen::arbitrary<int64_t>(),
                       *rc::gen::arbitrary<int64_t>()});
    }
    std::vector<uint8_t> buf(16384);
    ScrapeBodyWriter w(buf);
    for (size_t i = 0; i < hashes.size(); ++i) w.AddFile(hashes[i], stats[i]);
    WriteResult r = w.Finish();
    RC_ASSERT(r.ok());
    auto parsed = ParseScrapeResponse(AsText(buf, r.length()));
    RC_ASSERT(parsed.ok());
    RC_ASSERT(parsed.value().file_count == hashes.size());
    ScrapeFileCursor cursor(parsed.value());
    ScrapeFile f;
    for (size_t i = 0; i < hashes.size(); ++i) {
      RC_ASSERT(cursor.Next(&f));
      RC_ASSERT(f.info_hash == hashes[i]);
      RC_ASSERT(f.stats == stats[i]);
    }
    RC_ASSERT(!cursor.Next(&f));

    const std::string reason = *rc::gen::arbitrary<std::string>();
    WriteResult fr = WriteFailureResponse(reason, true, buf);
    RC_ASSERT(fr.ok());
    std::array<Header, 8> headers;
    std::string_view text = AsText(buf, fr.length());
    auto head = ParseResponseHead(text, headers);
    RC_ASSERT(head.ok());
    auto failure = ParseAnnounceResponse(text.substr(head.consumed()));
    RC_ASSERT(failure.ok());
    RC_ASSERT(failure.value().failure_reason == reason);
  });
}

}  // namespace
}  // namespace reef::http
