#include "protocol/ws/webtorrent.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::ws {
namespace {

// The ids tools/webtorrent/harness.mjs gives bittorrent-tracker's clients: every kind of
// byte a binary string carries (control characters, '"', '\\', 0x7f, 0x80-0xff).
const InfoHash kCapturedInfoHash = *InfoHash::FromHex("00011f2022415c7e7f80a0c3e9f0ff0a0d09085c");
const InfoHash kCapturedInfoHash2 = *InfoHash::FromHex("c3a9e92d576562546f7272656e742d2d2d2d2d21");
const PeerId kPeerA = *PeerId::FromHex("2d5757303230382d0102030405e9ff807f225c0a");
const PeerId kPeerB = *PeerId::FromHex("2d5757303230382d6162636465666768696a6b6c");

struct Captured {
  bool from_client;
  std::string json;
};

// protocol/ws/testdata/bittorrent_tracker_capture.txt: what npm bittorrent-tracker's
// Client and Server sent each other on loopback (tools/captures/webtorrent_capture.mjs),
// one message a line, "client<TAB>json" or "server<TAB>json".
std::vector<Captured> LoadCapture() {
  std::ifstream in("protocol/ws/testdata/bittorrent_tracker_capture.txt", std::ios::binary);
  REQUIRE(in.good());
  std::vector<Captured> out;
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    out.push_back({line.substr(0, tab) == "client", line.substr(tab + 1)});
  }
  return out;
}

std::string Written(const ClientMessage& m) {
  std::vector<uint8_t> buf(64 * 1024);
  auto w = WriteMessage(buf, m);
  REQUIRE(w.ok());
  return std::string(buf.begin(), buf.begin() + static_cast<long>(w.length()));
}

std::string Written(const ServerMessage& m) {
  std::vector<uint8_t> buf(64 * 1024);
  auto w = WriteMessage(buf, m);
  REQUIRE(w.ok());
  return std::string(buf.begin(), buf.begin() + static_cast<long>(w.length()));
}

TEST_CASE("webtorrent: every message bittorrent-tracker's client and server exchanged") {
  const auto capture = LoadCapture();
  REQUIRE(capture.size() >= 20);
  size_t announces = 0, answers = 0, scrapes = 0, scrape_arrays = 0, responses = 0,
         offers = 0, forwarded_answers = 0, scrape_responses = 0, errors = 0;
  for (const Captured& c : capture) {
    CAPTURE(c.json);
    if (c.from_client) {
      auto r = ParseClientMessage(c.json);
      if (c.json.find("\"too short\"") != std::string::npos) {
        // The malformed announce the harness sends by hand.
        REQUIRE(r.failed());
        CHECK(r.error() == MessageError::kBadInfoHash);
        continue;
      }
      REQUIRE(r.ok());
      CHECK(r.consumed() == c.json.size());
      if (auto* a = std::get_if<AnnounceRequest>(&r.value())) {
        CHECK(a->info_hash == kCapturedInfoHash);
        CHECK((a->peer_id == kPeerA || a->peer_id == kPeerB));
        if (!a->answer.empty()) {
          ++answers;
          CHECK(a->answer.starts_with("{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n"));
          REQUIRE(a->to_peer_id.has_value());
          CHECK(*a->to_peer_id != a->peer_id);
          CHECK(a->offer_id.has_value());
        } else {
          ++announces;
          CHECK(a->uploaded.has_value());
          if (a->event == AnnounceEvent::kStarted) {
            CHECK(a->offers().size() == 5);
            for (const Offer& o : a->offers()) {
              CHECK(o.offer.starts_with("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n"));
              CHECK(o.offer.ends_with("\"}"));
            }
          }
          if (a->event == AnnounceEvent::kCompleted || a->event == AnnounceEvent::kStopped) {
            CHECK_FALSE(a->has_offers);
          }
        }
      } else {
        const auto& s = std::get<ScrapeRequest>(r.value());
        ++scrapes;
        CHECK(s.info_hashes()[0] == kCapturedInfoHash);
        if (s.as_array) {
          ++scrape_arrays;
          REQUIRE(s.info_hashes().size() == 2);
          CHECK(s.info_hashes()[1] == kCapturedInfoHash2);
        }
      }
      // Ours writes it back; what we write parses to the same message.
      const std::string rewritten = Written(r.value());  // the views point into it
      auto again = ParseClientMessage(rewritten);
      REQUIRE(again.ok());
      CHECK(again.value() == r.value());
    } else {
      auto r = ParseServerMessage(c.json);
      REQUIRE(r.ok());
      std::visit(
          [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, AnnounceResponse>) {
              ++responses;
              CHECK(m.info_hash == kCapturedInfoHash);
              CHECK(m.interval == 120);
            } else if constexpr (std::is_same_v<T, OfferMessage>) {
              ++offers;
              CHECK(m.info_hash == kCapturedInfoHash);
            } else if constexpr (std::is_same_v<T, AnswerMessage>) {
              ++forwarded_answers;
            } else if constexpr (std::is_same_v<T, ScrapeResponse>) {
              ++scrape_responses;
              CHECK(m.files()[0].info_hash == kCapturedInfoHash);
              CHECK(m.min_request_interval == 600u);
            } else {
              ++errors;
              CHECK(m.failure_reason() == "invalid info_hash");
            }
          },
          r.value());
      // Byte for byte what bittorrent-tracker's server wrote.
      CHECK(Written(r.value()) == c.json);
    }
  }
  CHECK(announces >= 4);
  CHECK(answers >= 2);
  CHECK(scrapes == 2);
  CHECK(scrape_arrays == 1);
  CHECK(responses >= 4);
  CHECK(offers >= 2);
  CHECK(forwarded_answers >= 2);
  CHECK(scrape_responses == 2);
  CHECK(errors == 1);
}

constexpr std::string_view kHash = "aaaaaaaaaaaaaaaaaaaa";
constexpr std::string_view kPeer = "bbbbbbbbbbbbbbbbbbbb";

std::string Announce(std::string_view extra) {
  return std::string(R"({"action":"announce","info_hash":")") + std::string(kHash) +
         R"(","peer_id":")" + std::string(kPeer) + "\"" + std::string(extra) + "}";
}

std::string OffersJson(size_t n) {
  std::string s = ",\"offers\":[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += ",";
    std::string id = "offer_id_" + std::to_string(1000000000 + i) + "0";  // 20 chars
    s += R"({"offer_id":")" + id + R"(","offer":{"type":"offer","sdp":"v=0\r\n"}})";
  }
  return s + "]";
}

MessageError ClientError(const std::string& json) {
  auto r = ParseClientMessage(json);
  REQUIRE(r.failed());
  return r.error();
}

TEST_CASE("webtorrent: the offer limit, at it and just past it") {
  auto at = ParseClientMessage(Announce(OffersJson(kMaxOffers)));
  REQUIRE(at.ok());
  CHECK(std::get<AnnounceRequest>(at.value()).offers().size() == kMaxOffers);
  CHECK(ClientError(Announce(OffersJson(kMaxOffers + 1))) == MessageError::kTooManyOffers);
  CHECK(kMaxOffers == 10);
  AnnounceRequest a;
  for (size_t i = 0; i < kMaxOffers; ++i) CHECK(a.AddOffer(Offer{{}, "{}"}));
  CHECK_FALSE(a.AddOffer(Offer{{}, "{}"}));
}

TEST_CASE("webtorrent: the scrape limit, at it and just past it") {
  auto scrape = [](size_t n) {
    std::string s = R"({"action":"scrape","info_hash":[)";
    for (size_t i = 0; i < n; ++i) s += (i > 0 ? ",\"" : "\"") + std::string(kHash) + "\"";
    return s + "]}";
  };
  auto at = ParseClientMessage(scrape(kMaxScrapeInfoHashes));
  REQUIRE(at.ok());
  CHECK(std::get<ScrapeRequest>(at.value()).info_hashes().size() == kMaxScrapeInfoHashes);
  CHECK(ClientError(scrape(kMaxScrapeInfoHashes + 1)) == MessageError::kTooManyInfoHashes);
  auto empty = ParseClientMessage(scrape(0));
  REQUIRE(empty.ok());
  CHECK(std::get<ScrapeRequest>(empty.value()).info_hashes().empty());
}

TEST_CASE("webtorrent: each malformed client message has its error") {
  using E = MessageError;
  CHECK(ClientError("{") == E::kInvalidJson);
  CHECK(ClientError(Announce(",}")) == E::kInvalidJson);
  CHECK(ClientError("[]") == E::kNotAnObject);
  CHECK(ClientError(R"({"info_hash":"aaaaaaaaaaaaaaaaaaaa"})") == E::kMissingAction);
  CHECK(ClientError(R"({"action":"connect"})") == E::kUnknownAction);
  CHECK(ClientError(R"({"action":1})") == E::kUnknownAction);
  CHECK(ClientError(Announce(R"(,"action":"announce")")) == E::kDuplicateKey);
  CHECK(ClientError(Announce(R"(,"info_hash":"aaaaaaaaaaaaaaaaaaaa")")) == E::kDuplicateKey);
  // A duplicate written with an escape is still a duplicate.
  CHECK(ClientError(Announce(R"(,"peer\u005fid":"bbbbbbbbbbbbbbbbbbbb")")) == E::kDuplicateKey);
  CHECK(ClientError(R"({"action":"announce","peer_id":"bbbbbbbbbbbbbbbbbbbb"})") ==
        E::kMissingInfoHash);
  CHECK(ClientError(R"({"action":"scrape"})") == E::kFullScrape);
  CHECK(ClientError(R"({"action":"announce","info_hash":"short","peer_id":"x"})") ==
        E::kBadInfoHash);
  CHECK(ClientError(R"({"action":"announce","info_hash":["aaaaaaaaaaaaaaaaaaaa"]})") ==
        E::kBadInfoHash);
  CHECK(ClientError(R"({"action":"announce","info_hash":7})") == E::kBadInfoHash);
  // 20 code points, but one of them (U+20AC) is not a byte.
  CHECK(ClientError("{\"action\":\"scrape\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaa\xe2\x82\xac\"}") ==
        E::kBadInfoHash);
  CHECK(ClientError(R"({"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa"})") ==
        E::kMissingPeerId);
  CHECK(ClientError(R"({"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":null})") ==
        E::kBadPeerId);
  CHECK(ClientError(Announce(R"(,"uploaded":-1)")) == E::kBadNumber);
  CHECK(ClientError(Announce(R"(,"left":1.5)")) == E::kBadNumber);
  CHECK(ClientError(Announce(R"(,"numwant":"5")")) == E::kBadNumber);
  CHECK(ClientError(Announce(R"(,"downloaded":18446744073709551616)")) == E::kBadNumber);
  CHECK(ClientError(Announce(R"(,"event":"begun")")) == E::kBadEvent);
  CHECK(ClientError(Announce(R"(,"offers":{})")) == E::kBadOffers);
  CHECK(ClientError(Announce(R"(,"offers":[1])")) == E::kBadOffers);
  CHECK(ClientError(Announce(R"(,"offers":[{"offer_id":"cccccccccccccccccccc"}])")) ==
        E::kBadOffers);
  CHECK(ClientError(Announce(R"(,"offers":[{"offer":{}}])")) == E::kMissingOfferId);
  CHECK(ClientError(Announce(R"(,"offers":[{"offer_id":"c","offer":{}}])")) == E::kBadOfferId);
  CHECK(ClientError(Announce(R"(,"offers":[{"offer_id":"cccccccccccccccccccc","offer":"sdp"}])")) ==
        E::kBadOffer);
  CHECK(ClientError(Announce(
            R"(,"offers":[{"offer_id":"cccccccccccccccccccc","offer":{},"offer":{}}])")) ==
        E::kDuplicateKey);
  CHECK(ClientError(Announce(R"(,"answer":"sdp")")) == E::kBadAnswer);
  CHECK(ClientError(Announce(R"(,"answer":{},"offer_id":"cccccccccccccccccccc")")) ==
        E::kMissingToPeerId);
  CHECK(ClientError(Announce(R"(,"answer":{},"to_peer_id":"dddddddddddddddddddd")")) ==
        E::kMissingOfferId);
  CHECK(ClientError(Announce(R"(,"to_peer_id":"d")")) == E::kBadToPeerId);
  // The SDP object must itself be valid JSON, however deep inside the message.
  CHECK(ClientError(Announce(R"(,"answer":{"sdp":"\ud800"},"to_peer_id":"dddddddddddddddddddd")")) ==
        E::kInvalidJson);
  // Every error has a name and a reason to send back.
  for (size_t i = 0; i < static_cast<size_t>(E::kNumErrors); ++i) {
    CHECK_FALSE(ErrorReason(static_cast<E>(i)).empty());
  }
  CHECK(ErrorReason(E::kFullScrape) == "full scrapes are not supported");
}

TEST_CASE("webtorrent: leniency where clients differ") {
  // Unknown keys are skipped (but validated), counts may be null, "empty" is an event.
  auto r = ParseClientMessage(Announce(
      R"(,"trackerid":"x","left":null,"event":"empty","extra":[{"deep":[1,2,3]}],"uploaded":0)"));
  REQUIRE(r.ok());
  const auto& a = std::get<AnnounceRequest>(r.value());
  CHECK_FALSE(a.left.has_value());
  CHECK(a.uploaded == 0u);
  CHECK(a.event == AnnounceEvent::kEmpty);
  CHECK(ClientError(Announce(R"(,"extra":[01])")) == MessageError::kInvalidJson);
  // Whitespace anywhere JSON allows it; the raw offer keeps its own.
  auto spaced = ParseClientMessage(
      " {\n \"action\" : \"announce\" , \"info_hash\" : \"aaaaaaaaaaaaaaaaaaaa\" ,"
      " \"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\", \"offers\" : [ { \"offer\" : { \"sdp\" : \"x\" } ,"
      " \"offer_id\" : \"cccccccccccccccccccc\" } ] }\n");
  REQUIRE(spaced.ok());
  CHECK(std::get<AnnounceRequest>(spaced.value()).offers()[0].offer == "{ \"sdp\" : \"x\" }");
}

TEST_CASE("webtorrent: binary strings decode the same from raw UTF-8 and from escapes") {
  // 0xE9 as raw UTF-8 (C3 A9), as \u00e9 and as \u00E9; 0x0A as \n and as \u000a.
  auto r1 = ParseClientMessage("{\"action\":\"scrape\",\"info_hash\":\"\xc3\xa9\\n" "aaaaaaaaaaaaaaaaaa\"}");
  auto r2 = ParseClientMessage(R"({"action":"scrape","info_hash":"\u00e9\u000aaaaaaaaaaaaaaaaaaa"})");
  auto r3 = ParseClientMessage(R"({"action":"scrape","info_hash":"\u00E9\u000Aaaaaaaaaaaaaaaaaaa"})");
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  REQUIRE(r3.ok());
  const InfoHash h = std::get<ScrapeRequest>(r1.value()).info_hashes()[0];
  CHECK(h[0] == 0xE9);
  CHECK(h[1] == 0x0A);
  CHECK(std::get<ScrapeRequest>(r2.value()).info_hashes()[0] == h);
  CHECK(std::get<ScrapeRequest>(r3.value()).info_hashes()[0] == h);
}

MessageError ServerError(const std::string& json) {
  auto r = ParseServerMessage(json);
  REQUIRE(r.failed());
  return r.error();
}

TEST_CASE("webtorrent: server messages, and their errors") {
  using E = MessageError;
  auto error = ParseServerMessage(R"({"action":"announce","failure reason":"no \"thanks\" \u00e9","info_hash":"aaaaaaaaaaaaaaaaaaaa"})");
  REQUIRE(error.ok());
  const auto& e = std::get<ErrorResponse>(error.value());
  CHECK(e.failure_reason() == "no \"thanks\" \xc3\xa9");
  CHECK(e.action == Action::kAnnounce);
  CHECK(e.info_hash.has_value());
  CHECK(ServerError(R"({"failure reason":5})") == E::kBadFailureReason);
  CHECK(ServerError("{\"failure reason\":\"" + std::string(kMaxFailureReasonSize + 1, 'x') +
                    "\"}") == E::kBadFailureReason);
  CHECK(ParseServerMessage("{\"failure reason\":\"" + std::string(kMaxFailureReasonSize, 'x') +
                           "\"}")
            .ok());
  CHECK(ServerError(R"({"complete":1})") == E::kMissingAction);
  CHECK(ServerError(R"({"action":"announce","interval":1})") == E::kMissingInfoHash);
  CHECK(ServerError(R"({"action":"scrape"})") == E::kMissingField);
  CHECK(ServerError(R"({"action":"scrape","files":{"short":{}}})") == E::kBadFiles);
  CHECK(ServerError(R"({"action":"scrape","files":{"aaaaaaaaaaaaaaaaaaaa":{},"aaaaaaaaaaaaaaaaaaaa":{}}})") ==
        E::kDuplicateKey);
  CHECK(ServerError(R"({"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","offer":{},"offer_id":"cccccccccccccccccccc"})") ==
        E::kMissingPeerId);
  CHECK(ServerError(R"({"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","answer":{},"peer_id":"bbbbbbbbbbbbbbbbbbbb"})") ==
        E::kMissingOfferId);
  CHECK(ServerError(R"({"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","complete":-3})") ==
        E::kBadNumber);
}

TEST_CASE("webtorrent: writers refuse what they cannot write") {
  std::array<uint8_t, 512> buf;
  AnnounceRequest a;
  CHECK(a.AddOffer(Offer{{}, "not an object"}));
  CHECK(WriteMessage(buf, a).error() == WriteError::kInvalidValue);
  ScrapeRequest s;  // one string form needs exactly one hash
  CHECK(WriteMessage(buf, s).error() == WriteError::kInvalidValue);
  OfferMessage o;  // empty offer view
  CHECK(WriteMessage(buf, o).error() == WriteError::kInvalidValue);
  ErrorResponse e;
  CHECK(e.SetFailureReason("\xff"));
  CHECK(WriteMessage(buf, e).error() == WriteError::kInvalidValue);
  CHECK_FALSE(e.SetFailureReason(std::string(kMaxFailureReasonSize + 1, 'x')));
  AnnounceResponse r{kCapturedInfoHash, 1, 2, 120};
  for (size_t size = 0; size < 60; ++size) {
    std::vector<uint8_t> small(size);
    CHECK(WriteMessage(small, r).error() == WriteError::kBufferTooSmall);
  }
}

constexpr std::string_view kAnnounceWithOffer =
    R"({"action":"announce","info_hash":"\u0000\u0001\u001f \"A\\~)"
    "\x7f\xc2\x80\xc2\xa0\xc3\x83\xc3\xa9\xc3\xb0\xc3\xbf"
    R"(\n\r\t\b\\","peer_id":"-WW0208-abcdefghijkl","event":"started","numwant":5,)"
    R"("uploaded":0,"downloaded":0,"offers":[{"offer":{"type":"offer","sdp":"v=0\r\n)"
    R"(o=- 1 2 IN IP4 127.0.0.1\r\n"},"offer_id":"\u0001\u0002abcdefghijklmnopq\u00ff"}]})";

TEST_CASE("webtorrent: parsing an announce and writing a forwarded offer allocate nothing") {
  std::array<uint8_t, 1024> buf;
  testing::AllocationScope scope;
  auto r = ParseClientMessage(kAnnounceWithOffer);
  const auto& a = std::get<AnnounceRequest>(r.value());
  OfferMessage forward{a.info_hash, a.peer_id, a.offers()[0].offer_id, a.offers()[0].offer};
  auto w = WriteMessage(buf, forward);
  auto again = ParseServerMessage(
      std::string_view(reinterpret_cast<const char*>(buf.data()), w.length()));
  CHECK(scope.allocations() == 0);
  REQUIRE(r.ok());
  CHECK(a.info_hash == kCapturedInfoHash);
  REQUIRE(w.ok());
  REQUIRE(again.ok());
  CHECK(std::get<OfferMessage>(again.value()) == forward);
}

TEST_CASE("webtorrent: every parser and writer allocates nothing") {
  const auto capture = LoadCapture();  // loaded before counting
  std::array<uint8_t, 8192> buf;
  ScrapeResponse scrape;
  CHECK(scrape.Add(ScrapeFile{kCapturedInfoHash, 1, 2, 3}));
  scrape.min_request_interval = 600;
  ErrorResponse error;
  CHECK(error.SetFailureReason("refused: \"x\""));
  error.action = Action::kAnnounce;
  error.info_hash = kCapturedInfoHash;
  size_t parsed = 0, written = 0;
  testing::AllocationScope scope;
  for (const Captured& c : capture) {
    if (c.from_client) {
      auto r = ParseClientMessage(c.json);
      if (r.ok()) {
        ++parsed;
        written += WriteMessage(buf, r.value()).ok();
      }
    } else {
      auto r = ParseServerMessage(c.json);
      if (r.ok()) {
        ++parsed;
        written += WriteMessage(buf, r.value()).ok();
      }
    }
  }
  written += WriteMessage(buf, scrape).ok();
  written += WriteMessage(buf, error).ok();
  CHECK(scope.allocations() == 0);
  CHECK(parsed + 1 == capture.size());  // all but the malformed one
  CHECK(written == parsed + 2);
}

TEST_CASE("webtorrent: no read past the input (guard page), for every prefix") {
  const std::string json(kAnnounceWithOffer);
  for (size_t cut = 0; cut <= json.size(); ++cut) {
    testing::GuardedBuffer guarded(std::string_view(json).substr(0, cut));
    auto r = ParseClientMessage(guarded.view());
    CHECK(r.ok() == (cut == json.size()));
  }
}

}  // namespace
}  // namespace reef::ws
