#include "protocol/http/request.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http/head_internal.h"
#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::http {
namespace {

using Result = ParseResult<Request, ParseError>;

constexpr std::string_view kAnnounce =
    "GET /announce?info_hash=%12%34V%78%9a%bc%de%f1%23Eg%89%ab%cd%ef%124Vx%9a"
    "&peer_id=-qB4500-k2hJ5y9l1Yi0&port=6881&uploaded=0&downloaded=0&left=0"
    "&compact=1&event=started HTTP/1.1\r\n"
    "Host: tracker.example:6969\r\n"
    "User-Agent: test/1.0\r\n"
    "Accept-Encoding: gzip\r\n"
    "Connection: close\r\n"
    "\r\n";

Result Parse(std::string_view in, std::span<Header> storage, const RequestLimits& limits = {}) {
  return ParseRequest(in, storage, limits);
}

TEST_CASE("parses an announce request head") {
  std::array<Header, 8> storage;
  auto r = Parse(kAnnounce, storage);
  REQUIRE(r.ok());
  CHECK(r.consumed() == kAnnounce.size());
  const Request& req = r.value();
  CHECK(req.method == "GET");
  CHECK(req.path == "/announce");
  CHECK(req.query.substr(0, 10) == "info_hash=");
  CHECK(req.query.back() == 'd');  // "...event=started"
  CHECK(req.target == std::string("/announce?") + std::string(req.query));
  CHECK(req.version_minor == 1);
  CHECK_FALSE(req.keep_alive);  // Connection: close
  REQUIRE(req.headers.size() == 4);
  CHECK(req.headers[0] == Header{"Host", "tracker.example:6969"});
  CHECK(req.headers[3] == Header{"Connection", "close"});
  // Views into the input, not copies.
  CHECK(req.path.data() == kAnnounce.data() + 4);
  CHECK(req.headers[1].value.data() >= kAnnounce.data());
  CHECK(req.headers[1].value.data() < kAnnounce.data() + kAnnounce.size());
}

TEST_CASE("FindHeader is case-insensitive and returns the first match") {
  constexpr std::string_view in =
      "GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n"
      "X-Real-IP:192.0.2.7 \r\n\r\n";
  std::array<Header, 8> storage;
  auto r = Parse(in, storage);
  REQUIRE(r.ok());
  CHECK(r.value().FindHeader("x-FORWARDED-for") == "10.0.0.1");
  CHECK(r.value().FindHeader("X-Real-IP") == "192.0.2.7");  // OWS trimmed
  CHECK_FALSE(r.value().FindHeader("Host").has_value());
  CHECK_FALSE(r.value().FindHeader("X-Forwarded").has_value());
  CHECK(r.value().path == "/");
  CHECK(r.value().query.empty());
}

TEST_CASE("keep-alive follows the version default and Connection") {
  std::array<Header, 4> storage;
  struct Case {
    std::string_view in;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},  // not the token "close"
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    auto r = Parse(c.in, storage);
    REQUIRE(r.ok());
    CHECK(r.value().keep_alive == c.keep_alive);
  }
}

TEST_CASE("bare LF line ends and leading empty lines are accepted") {
  std::array<Header, 4> storage;
  constexpr std::string_view in = "\r\n\nGET /scrape?info_hash=x HTTP/1.0\nHost: a\n\n";
  auto r = Parse(in, storage);
  REQUIRE(r.ok());
  CHECK(r.consumed() == in.size());
  CHECK(r.value().path == "/scrape");
  CHECK(r.value().query == "info_hash=x");
  CHECK(r.value().headers.size() == 1);
  CHECK(r.value().version_minor == 0);
}

TEST_CASE("consumed stops at the end of the head; pipelined bytes are left") {
  std::array<Header, 4> storage;
  std::string two = std::string(kAnnounce) + "GET /scrape HTTP/1.1\r\n\r\n";
  auto r = Parse(two, storage);
  REQUIRE(r.ok());
  CHECK(r.consumed() == kAnnounce.size());
  auto second = Parse(std::string_view(two).substr(r.consumed()), storage);
  REQUIRE(second.ok());
  CHECK(second.value().path == "/scrape");
}

TEST_CASE("every proper prefix of a request is incomplete, never an error") {
  std::array<Header, 8> storage;
  for (size_t n = 0; n < kAnnounce.size(); ++n) {
    CAPTURE(n);
    auto r = Parse(kAnnounce.substr(0, n), storage);
    CHECK(r.incomplete());
  }
}

TEST_CASE("a fragment is not part of the query") {
  std::array<Header, 4> storage;
  auto r = Parse("GET /announce?a=1#frag HTTP/1.1\r\n\r\n", storage);
  REQUIRE(r.ok());
  CHECK(r.value().query == "a=1");
  CHECK(r.value().path == "/announce");
}

TEST_CASE("methods other than GET get kMethodNotAllowed") {
  std::array<Header, 4> storage;
  for (std::string_view in : {"POST /announce HTTP/1.1\r\n\r\n", "HEAD / HTTP/1.1\r\n\r\n",
                              "get / HTTP/1.1\r\n\r\n", "PUT / HTTP/1.0\r\n\r\n"}) {
    CAPTURE(in);
    auto r = Parse(in, storage);
    REQUIRE(r.failed());
    CHECK(r.error() == ParseError::kMethodNotAllowed);
  }
  CHECK(ErrorReason(ParseError::kMethodNotAllowed) == "only GET requests are accepted");
  CHECK(HttpStatusFor(ParseError::kMethodNotAllowed) == 405);
}

TEST_CASE("malformed request lines") {
  std::array<Header, 4> storage;
  struct Case {
    std::string_view in;
    ParseError error;
  };
  const Case cases[] = {
      {"GET\r\n\r\n", ParseError::kBadRequestLine},
      {"GET /\r\n\r\n", ParseError::kBadRequestLine},
      {" GET / HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET  / HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},  // empty target
      {"GET / HTTP/1.1 \r\n\r\n", ParseError::kBadRequestLine},
      {"GET / HTTP/1.10\r\n\r\n", ParseError::kBadRequestLine},
      {"GET / http/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET / HTTP/1.x\r\n\r\n", ParseError::kBadRequestLine},
      {"G(T / HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET /a\rb HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET / HTTP/1.1\r\r\n\r\n", ParseError::kBadRequestLine},
      {"\rGET / HTTP/1.1\r\n\r\n", ParseError::kBadRequestLine},
      {"GET / HTTP/2.0\r\n\r\n", ParseError::kUnsupportedVersion},
      {"GET / HTTP/1.2\r\n\r\n", ParseError::kUnsupportedVersion},
      {"GET / HTTP/0.9\r\n\r\n", ParseError::kUnsupportedVersion},
      {"GET http://tracker/announce HTTP/1.1\r\n\r\n", ParseError::kBadTarget},
      {"GET * HTTP/1.1\r\n\r\n", ParseError::kBadTarget},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    auto r = Parse(c.in, storage);
    REQUIRE(r.failed());
    CHECK(ErrorName(r.error()) == ErrorName(c.error));
  }
}

// ---- The table and the word-at-a-time scans against the byte-by-byte rules ----

TEST_CASE("the character table says what each rule says, for all 256 bytes") {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    CAPTURE(i);
    CHECK(internal::IsTokenChar(c) == internal::IsTokenCharRule(c));
    CHECK(internal::IsTargetChar(c) == internal::IsTargetCharRule(c));
    CHECK(internal::IsValueChar(c) == internal::IsValueCharRule(c));
  }
}

// Every byte the word-at-a-time scans look for, and every byte they must let pass.
std::vector<char> AllBytes() {
  std::vector<char> bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

size_t FindNonTargetCharByByte(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!internal::IsTargetCharRule(s[i])) return i;
  }
  return s.size();
}

bool AllValueCharsByByte(std::string_view s) {
  for (char c : s) {
    if (!internal::IsValueCharRule(c)) return false;
  }
  return true;
}

// Strings of 0..20 bytes (shorter and longer than one and two 8-byte steps) at every
// alignment, with each of the 256 bytes at every position in a run of good bytes; the
// same byte also sits just past the end, where the scans must not look.
TEST_CASE("FindNonTargetChar and AllValueChars agree with the rules byte by byte") {
  std::array<char, 48> buffer;
  size_t checked = 0;
  size_t wrong = 0;
  for (size_t align = 0; align < 8; ++align) {
    for (size_t n = 0; n <= 20; ++n) {
      for (size_t at = 0; at < n; ++at) {
        for (char b : AllBytes()) {
          buffer.fill('a');
          char* p = buffer.data() + align;
          p[at] = b;
          p[n] = '\x01';  // bad for both, past the end
          const std::string_view s(p, n);
          wrong += internal::FindNonTargetChar(s) != FindNonTargetCharByByte(s);
          wrong += internal::AllValueChars(s) != AllValueCharsByByte(s);
          ++checked;
        }
      }
    }
  }
  CHECK(checked == 8 * 210 * 256);
  CHECK(wrong == 0);
}

TEST_CASE("a control character anywhere in a long target is a bad request line") {
  std::array<Header, 4> storage;
  const std::string target = "/announce?" + std::string(40, 'x');
  for (size_t at = 1; at < target.size(); ++at) {
    for (char bad : {'\0', '\t', '\x1f', '\x7f'}) {
      std::string in = "GET " + target + " HTTP/1.1\r\n\r\n";
      in[4 + at] = bad;
      CAPTURE(at);
      auto r = Parse(in, storage);
      REQUIRE(r.failed());
      CHECK(r.error() == ParseError::kBadRequestLine);
    }
  }
  // Raw bytes of 0x80 and above are obs-text: taken as they are.
  auto r = Parse("GET /a\x80\xff HTTP/1.1\r\n\r\n", storage);
  REQUIRE(r.ok());
  CHECK(r.value().target == "/a\x80\xff");
}

TEST_CASE("malformed headers") {
  std::array<Header, 4> storage;
  for (std::string_view in : {
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
           "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\nName : x\r\n\r\n",  // space before the colon
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",  // obsolete line folding
           "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n",
           "GET / HTTP/1.1\r\n\r\r\n",
       }) {
    CAPTURE(in);
    auto r = Parse(in, storage);
    REQUIRE(r.failed());
    CHECK(r.error() == ParseError::kBadHeader);
  }
}

TEST_CASE("request bodies are refused") {
  std::array<Header, 4> storage;
  struct Case {
    std::string_view in;
    bool ok;
    ParseError error;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", true, {}},
      {"GET / HTTP/1.1\r\ncontent-length: 000\r\n\r\n", true, {}},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", false, ParseError::kBodyNotAllowed},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
       ParseError::kBodyNotAllowed},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false,
       ParseError::kBodyNotAllowed},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", false, ParseError::kBadContentLength},
      {"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", false, ParseError::kBadContentLength},
      {"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", false,
       ParseError::kBadContentLength},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    auto r = Parse(c.in, storage);
    CHECK(r.ok() == c.ok);
    if (!c.ok) {
      REQUIRE(r.failed());
      CHECK(ErrorName(r.error()) == ErrorName(c.error));
    }
  }
}

std::string HeadWithHeaders(size_t n) {
  std::string s = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < n; ++i) s += "H" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

TEST_CASE("header count: at the limit passes, one more fails") {
  std::array<Header, 64> storage;
  RequestLimits limits;
  limits.max_headers = 5;
  CHECK(Parse(HeadWithHeaders(5), storage, limits).ok());
  auto r = Parse(HeadWithHeaders(6), storage, limits);
  REQUIRE(r.failed());
  CHECK(r.error() == ParseError::kTooManyHeaders);
  // The caller's storage caps the count too.
  std::array<Header, 3> small;
  CHECK(Parse(HeadWithHeaders(3), small).ok());
  auto s = Parse(HeadWithHeaders(4), small);
  REQUIRE(s.failed());
  CHECK(s.error() == ParseError::kTooManyHeaders);
  // And the default limit.
  CHECK(Parse(HeadWithHeaders(kDefaultMaxHeaders), storage).ok());
  auto d = Parse(HeadWithHeaders(kDefaultMaxHeaders + 1), storage);
  REQUIRE(d.failed());
  CHECK(d.error() == ParseError::kTooManyHeaders);
}

TEST_CASE("header line length: at the limit passes, one more fails, even before its end") {
  std::array<Header, 4> storage;
  RequestLimits limits;
  limits.max_header_line_bytes = 20;
  std::string at = "GET / HTTP/1.1\r\nX: " + std::string(17, 'v') + "\r\n\r\n";  // 20 bytes
  CHECK(Parse(at, storage, limits).ok());
  std::string over = "GET / HTTP/1.1\r\nX: " + std::string(18, 'v') + "\r\n\r\n";
  auto r = Parse(over, storage, limits);
  REQUIRE(r.failed());
  CHECK(r.error() == ParseError::kHeaderLineTooLong);
  // Known too long before the line has ended: no need to wait for more bytes.
  std::string partial = "GET / HTTP/1.1\r\nX: " + std::string(40, 'v');
  auto p = Parse(partial, storage, limits);
  REQUIRE(p.failed());
  CHECK(p.error() == ParseError::kHeaderLineTooLong);
  // Bare LF: the same content length counts.
  std::string lf = "GET / HTTP/1.1\nX: " + std::string(17, 'v') + "\n\n";
  CHECK(Parse(lf, storage, limits).ok());
}

TEST_CASE("request line length: at the limit passes, one more fails") {
  std::array<Header, 4> storage;
  RequestLimits limits;
  limits.max_request_line_bytes = 30;
  // "GET " + target + " HTTP/1.1" = 13 + target size.
  std::string at = "GET /" + std::string(16, 'a') + " HTTP/1.1\r\n\r\n";
  CHECK(Parse(at, storage, limits).ok());
  std::string over = "GET /" + std::string(17, 'a') + " HTTP/1.1\r\n\r\n";
  auto r = Parse(over, storage, limits);
  REQUIRE(r.failed());
  CHECK(r.error() == ParseError::kRequestLineTooLong);
}

TEST_CASE("head size: at the limit passes, one more byte fails, also while incomplete") {
  std::array<Header, 4> storage;
  RequestLimits limits;
  const std::string at = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  limits.max_request_bytes = at.size();
  auto ok = Parse(at, storage, limits);
  REQUIRE(ok.ok());
  CHECK(ok.consumed() == at.size());
  limits.max_request_bytes = at.size() - 1;
  auto r = Parse(at, storage, limits);
  REQUIRE(r.failed());
  CHECK(r.error() == ParseError::kRequestTooLarge);
  // A head that has not ended within the limit fails without waiting for more.
  auto partial = Parse(std::string_view(at).substr(0, at.size() - 1), storage, limits);
  REQUIRE(partial.failed());
  CHECK(partial.error() == ParseError::kRequestTooLarge);
  auto shorter = Parse(std::string_view(at).substr(0, at.size() - 2), storage, limits);
  CHECK(shorter.incomplete());
  // The default.
  std::string big = "GET / HTTP/1.1\r\n";
  while (big.size() < kDefaultMaxRequestBytes + 10) big += "X-Pad: " + std::string(100, 'p') + "\r\n";
  std::array<Header, 128> many;
  RequestLimits lots;
  lots.max_headers = 128;
  auto b = Parse(big, many, lots);
  REQUIRE(b.failed());
  CHECK(b.error() == ParseError::kRequestTooLarge);
}

TEST_CASE("no allocation") {
  std::array<Header, 8> storage;
  testing::AllocationScope scope;
  auto r = Parse(kAnnounce, storage);
  auto bad = Parse("POST / HTTP/1.1\r\n\r\n", storage);
  auto partial = Parse(kAnnounce.substr(0, 100), storage);
  bool found = r.ok() && r.value().FindHeader("user-agent").has_value();
  CHECK(scope.allocations() == 0);
  CHECK(found);
  CHECK(bad.failed());
  CHECK(partial.incomplete());
}

TEST_CASE("never reads past the input (guarded buffers, every prefix)") {
  std::array<Header, 8> storage;
  for (std::string_view text :
       {kAnnounce, std::string_view("GET / HTTP/1.1\nA: b\n\n"),
        std::string_view("\r\n\r"), std::string_view("GET / HTTP/1.1\r\nContent-Length: 0")}) {
    for (size_t n = 0; n <= text.size(); ++n) {
      testing::GuardedBuffer buf(text.substr(0, n));
      auto r = Parse(buf.view(), storage);
      if (r.ok()) CHECK(r.consumed() <= n);
    }
  }
}

TEST_CASE("every error has a name and a reason, and header errors map to 4xx/5xx") {
  for (size_t i = 0; i < static_cast<size_t>(ParseError::kNumErrors); ++i) {
    auto e = static_cast<ParseError>(i);
    CHECK_FALSE(ErrorName(e).empty());
    CHECK_FALSE(ErrorReason(e).empty());
  }
  CHECK(HttpStatusFor(ParseError::kBadHeader) == 400);
  CHECK(HttpStatusFor(ParseError::kUnsupportedVersion) == 505);
  CHECK(HttpStatusFor(ParseError::kTooManyHeaders) == 431);
  CHECK(HttpStatusFor(ParseError::kBadInfoHash) == 200);
}

}  // namespace
}  // namespace reef::http
