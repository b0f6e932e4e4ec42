// The wide string scans (SWAR, SSE2) against the byte-by-byte one, and JsonReader's strings
// with escapes at every place relative to a 16-byte step.
#include "protocol/ws/json_scan.h"

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/rng.h"
#include "protocol/ws/json.h"

namespace reef::ws::internal {
namespace {

struct Skip {
  size_t at;
  bool escapes;
  friend bool operator==(const Skip&, const Skip&) = default;
};

using SkipFn = size_t (*)(std::string_view, size_t, bool*);

Skip Run(SkipFn fn, std::string_view in, size_t pos) {
  bool escapes = false;
  const size_t at = fn(in, pos, &escapes);
  return {at, escapes};
}

std::vector<SkipFn> WideScans() {
  std::vector<SkipFn> scans = {&SkipStringBodySwar};
#if defined(__SSE2__)
  scans.push_back(&SkipStringBodySse2);
#endif
  return scans;
}

// Counts the scans that disagree with the byte-by-byte one, from each start position up
// to last_start (every one by default).
size_t Disagreements(std::string_view in, size_t last_start = std::numeric_limits<size_t>::max()) {
  size_t wrong = 0;
  for (size_t pos = 0; pos <= in.size() && pos <= last_start; ++pos) {
    const Skip want = Run(&SkipStringBodyBytewise, in, pos);
    for (SkipFn scan : WideScans()) {
      if (!(Run(scan, in, pos) == want)) ++wrong;
    }
  }
  return wrong;
}

TEST_CASE("this x86-64 build has the SSE2 scan, and SkipStringBody is it") {
  CHECK(kHaveSse2);
  const std::string in = std::string(40, 'a') + "\\n" + std::string(20, 'b') + "\"";
  bool escapes = false;
  CHECK(SkipStringBody(in, 0, &escapes) == in.size() - 1);
  CHECK(escapes);
}

TEST_CASE("the byte-by-byte reference stops where the scans must") {
  auto at = [](std::string_view in) { return Run(&SkipStringBodyBytewise, in, 0); };
  CHECK(at("abc\"") == Skip{3, false});
  CHECK(at("a\\nb\"") == Skip{4, true});
  CHECK(at("a\\\\\"") == Skip{3, true});   // an escaped backslash, then the quote
  CHECK(at("a\\\"b\"") == Skip{4, true});  // an escaped quote is no end
  CHECK(at("a\\u0041\"") == Skip{1, false});  // \u is the caller's
  CHECK(at("a\\x") == Skip{1, false});        // so is a bad escape
  CHECK(at("ab\\") == Skip{2, false});        // and a backslash at the very end
  CHECK(at("a\x01") == Skip{1, false});
  CHECK(at("a\xc3\xa9") == Skip{1, false});
  CHECK(at("abc") == Skip{3, false});
}

// One special thing (a byte, or a backslash and the byte after it) at every position of a
// run of plain bytes 0..34 long, at every alignment of a 16-byte step, with a stop byte
// after the end that must not be seen: lengths just under, at and over 8, 16 and 32.
TEST_CASE("every special byte at every position and alignment: wide scans == bytewise") {
  std::vector<std::string> specials;
  for (int b = 0; b < 256; ++b) {
    specials.push_back(std::string(1, static_cast<char>(b)));          // the byte alone
    specials.push_back("\\" + std::string(1, static_cast<char>(b)));   // escaped
  }
  specials.push_back("\\\\\\n");     // an escaped backslash, then an escape
  specials.push_back("\\\\\\\\");    // two escaped backslashes
  specials.push_back("\\\\\\");      // an escaped backslash, then a lone one
  specials.push_back("\\n\\r\\t");   // escapes back to back
  specials.push_back("\\\"\\\"");    // escaped quotes
  std::array<char, 128> buffer;
  size_t wrong = 0;
  size_t inputs = 0;
  for (size_t align = 0; align < 16; ++align) {
    for (size_t n = 0; n <= 34; ++n) {
      for (size_t at = 0; at <= n; ++at) {
        for (const std::string& special : specials) {
          if (at + special.size() > n) continue;
          buffer.fill('x');
          char* p = buffer.data() + align;
          special.copy(p + at, special.size());
          p[n] = '"';  // past the end
          wrong += Disagreements(std::string_view(p, n), /*last_start=*/0);
          ++inputs;
        }
      }
    }
  }
  CHECK(inputs > 100000);
  CHECK(wrong == 0);
}

TEST_CASE("random strings heavy in backslashes, quotes and escape letters: scans agree") {
  constexpr std::string_view kAlphabet = "\\\\\\\"nrtbfu/x0\x01\x1f\x7f\x80\xc3\xff ";
  Rng rng(7);
  size_t wrong = 0;
  std::string in;
  for (int round = 0; round < 20000; ++round) {
    const size_t n = rng.Below(70);
    in.clear();
    for (size_t i = 0; i < n; ++i) {
      // Mostly plain bytes, so runs and escapes cross the step boundaries.
      in += rng.Chance(0.6) ? 'a' : kAlphabet[rng.Below(static_cast<uint32_t>(kAlphabet.size()))];
    }
    wrong += Disagreements(in);
  }
  CHECK(wrong == 0);
}

// ---- Through JsonReader: what a string reads as does not depend on where the steps fall.

TEST_CASE("escapes at every offset of a long string read as they decode") {
  for (size_t at = 0; at < 40; ++at) {
    for (std::string_view escape : {"\\n", "\\\\", "\\\"", "\\/", "\\u0041", "\\ud83d\\ude00"}) {
      const std::string body = std::string(at, 'a') + std::string(escape) + std::string(33, 'b');
      const std::string json = "\"" + body + "\"";
      CAPTURE(at);
      CAPTURE(escape);
      JsonReader r(json);
      JsonString s;
      REQUIRE(r.ReadString(&s));
      CHECK(r.Finish());
      CHECK(s.raw == body);
      CHECK(s.has_escapes);
    }
  }
}

TEST_CASE("errors at every offset of a long string are the byte-by-byte ones") {
  struct Case {
    std::string_view bad;
    JsonError error;
  };
  const Case cases[] = {
      {"\\x", JsonError::kBadEscape},       {"\\\x01", JsonError::kBadEscape},
      {"\x01", JsonError::kControlCharacter}, {"\x1f", JsonError::kControlCharacter},
      {"\\u12", JsonError::kBadUnicodeEscape}, {"\\udc00", JsonError::kLoneSurrogate},
      {"\xc3(", JsonError::kInvalidUtf8},   {"\xff", JsonError::kInvalidUtf8},
  };
  for (size_t at = 0; at < 40; ++at) {
    for (const Case& c : cases) {
      // After some two-byte escapes, so the wide loop has skipped some before the error.
      const std::string json = "\"" + std::string(at % 3 == 0 ? "\\r\\n" : "ab") +
                               std::string(at, 'a') + std::string(c.bad) + "zzzz\"";
      CAPTURE(at);
      CAPTURE(c.bad);
      JsonReader r(json);
      JsonString s;
      CHECK_FALSE(r.ReadString(&s));
      CHECK(r.error() == c.error);
    }
  }
  // A backslash as the last byte of the text, at every length: truncated.
  for (size_t n = 0; n < 40; ++n) {
    const std::string json = "\"" + std::string(n, 'a') + "\\";
    JsonReader r(json);
    JsonString s;
    CHECK_FALSE(r.ReadString(&s));
    CHECK(r.error() == JsonError::kTruncated);
  }
}

TEST_CASE("a string without escapes says so, even when long") {
  const std::string json = "\"" + std::string(100, 'a') + "\"";
  JsonReader r(json);
  JsonString s;
  REQUIRE(r.ReadString(&s));
  CHECK_FALSE(s.has_escapes);
  CHECK(s.raw.size() == 100);
}

}  // namespace
}  // namespace reef::ws::internal
