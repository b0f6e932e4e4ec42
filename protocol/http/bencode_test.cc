#include "protocol/http/bencode.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::http {
namespace {

std::vector<BencodeToken> Tokens(std::string_view in, const BencodeLimits& limits = {}) {
  BencodeReader r(in, limits);
  std::vector<BencodeToken> out;
  BencodeToken t;
  while (r.Next(&t)) out.push_back(t);
  REQUIRE_FALSE(r.error().has_value());
  REQUIRE(r.done());
  return out;
}

std::optional<ParseError> ErrorOf(std::string_view in, const BencodeLimits& limits = {}) {
  auto r = CheckBencode(in, limits);
  if (r.ok()) return std::nullopt;
  return r.error();
}

BencodeToken Int(int64_t v) { return {BencodeType::kInteger, v, {}}; }
BencodeToken Str(std::string_view s) { return {BencodeType::kString, 0, s}; }
const BencodeToken kList{BencodeType::kListBegin, 0, {}};
const BencodeToken kDict{BencodeType::kDictBegin, 0, {}};
const BencodeToken kEnd{BencodeType::kEnd, 0, {}};

TEST_CASE("tokenizes the BEP 3 examples") {
  CHECK(Tokens("4:spam") == std::vector{Str("spam")});
  CHECK(Tokens("0:") == std::vector{Str("")});
  CHECK(Tokens("i3e") == std::vector{Int(3)});
  CHECK(Tokens("i-3e") == std::vector{Int(-3)});
  CHECK(Tokens("i0e") == std::vector{Int(0)});
  CHECK(Tokens("l4:spam4:eggse") == std::vector{kList, Str("spam"), Str("eggs"), kEnd});
  CHECK(Tokens("d3:cow3:moo4:spam4:eggse") ==
        std::vector{kDict, Str("cow"), Str("moo"), Str("spam"), Str("eggs"), kEnd});
  CHECK(Tokens("d4:spaml1:a1:bee") ==
        std::vector{kDict, Str("spam"), kList, Str("a"), Str("b"), kEnd, kEnd});
  CHECK(Tokens("le") == std::vector{kList, kEnd});
  CHECK(Tokens("de") == std::vector{kDict, kEnd});
  CHECK(Tokens("i9223372036854775807e") == std::vector{Int(INT64_MAX)});
  CHECK(Tokens("i-9223372036854775808e") == std::vector{Int(INT64_MIN)});
}

TEST_CASE("strings are views into the input, binary-safe") {
  const std::string in("3:\0\xff" "e", 5);
  auto r = Tokens(std::string_view(in.data(), 5));
  REQUIRE(r.size() == 1);
  CHECK(r[0].string.data() == in.data() + 2);
  CHECK(r[0].string == std::string_view("\0\xff" "e", 3));
}

TEST_CASE("non-canonical integers are refused") {
  for (std::string_view in : {"i03e", "i-0e", "i00e", "i-03e", "ie", "i-e", "i+1e", "i1.0e",
                              "i 1e", "i9223372036854775808e", "i-9223372036854775809e",
                              "i99999999999999999999999e"}) {
    CAPTURE(in);
    CHECK(ErrorOf(in) == ParseError::kBencodeBadInteger);
  }
}

TEST_CASE("string lengths: canonical, and bounded by the input") {
  CHECK(ErrorOf("03:abc") == ParseError::kBencodeBadLength);
  CHECK(ErrorOf("00:") == ParseError::kBencodeBadLength);
  CHECK(ErrorOf("3x") == ParseError::kBencodeBadLength);
  CHECK(ErrorOf("4:abc") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("99999999999:a") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("99999999999999999999999:a") == ParseError::kBencodeBadLength);
}

TEST_CASE("structure errors") {
  CHECK(ErrorOf("") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("l") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("i12") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("d3:cow") == ParseError::kBencodeTruncated);
  CHECK(ErrorOf("e") == ParseError::kBencodeUnexpectedByte);
  CHECK(ErrorOf("x") == ParseError::kBencodeUnexpectedByte);
  CHECK(ErrorOf("lxe") == ParseError::kBencodeUnexpectedByte);
  CHECK(ErrorOf("di1ei2ee") == ParseError::kBencodeKeyNotString);
  CHECK(ErrorOf("dlee") == ParseError::kBencodeKeyNotString);
  CHECK(ErrorOf("d3:cowe") == ParseError::kBencodeMissingValue);
  CHECK(ErrorOf("i1ei2e") == ParseError::kBencodeTrailingBytes);
  CHECK(ErrorOf("lee") == ParseError::kBencodeTrailingBytes);
  for (size_t i = 0; i < static_cast<size_t>(ParseError::kNumErrors); ++i) {
    CHECK_FALSE(ErrorReason(static_cast<ParseError>(i)).empty());
  }
}

std::string Nested(size_t depth) { return std::string(depth, 'l') + std::string(depth, 'e'); }

TEST_CASE("nesting limit: at the limit passes, one deeper fails") {
  CHECK(ErrorOf(Nested(kDefaultBencodeDepth)) == std::nullopt);
  CHECK(ErrorOf(Nested(kDefaultBencodeDepth + 1)) == ParseError::kBencodeTooDeep);
  BencodeLimits limits;
  limits.max_depth = 3;
  CHECK(ErrorOf("ld1:ali1eeee", limits) == std::nullopt);
  CHECK(ErrorOf("ld1:alli1eeeee", limits) == ParseError::kBencodeTooDeep);
  // The hard cap holds whatever the limits say.
  limits.max_depth = 1000;
  CHECK(ErrorOf(Nested(kMaxBencodeDepth), limits) == std::nullopt);
  CHECK(ErrorOf(Nested(kMaxBencodeDepth + 1), limits) == ParseError::kBencodeTooDeep);
}

TEST_CASE("strict mode: keys sorted by raw bytes and unique") {
  BencodeLimits strict;
  strict.strict = true;
  CHECK(ErrorOf("d1:ai1e1:bi2ee", strict) == std::nullopt);
  CHECK(ErrorOf("d1:bi1e1:ai2ee", strict) == ParseError::kBencodeKeyOrder);
  CHECK(ErrorOf("d1:ai1e1:ai2ee", strict) == ParseError::kBencodeKeyOrder);
  CHECK(ErrorOf("d5:peers0:4:peer0:e", strict) == ParseError::kBencodeKeyOrder);
  CHECK(ErrorOf("d4:peer0:5:peers0:e", strict) == std::nullopt);  // prefix sorts first
  CHECK(ErrorOf("d1:\xff" "0:1:a0:e", strict) == ParseError::kBencodeKeyOrder);  // unsigned
  // Each dict has its own order.
  CHECK(ErrorOf("d1:bd1:ai1ee1:cd1:ai1eee", strict) == std::nullopt);
  // Lenient mode takes both.
  CHECK(ErrorOf("d1:bi1e1:ai2ee") == std::nullopt);
  CHECK(ErrorOf("d1:ai1e1:ai2ee") == std::nullopt);
}

TEST_CASE("SkipValue skips nested values") {
  BencodeReader r(std::string_view("d1:ald1:xi1eee1:bi2ee"));
  BencodeToken t;
  REQUIRE(r.Next(&t));  // d
  REQUIRE(r.Next(&t));  // "a"
  REQUIRE(r.Next(&t));  // l
  REQUIRE(r.SkipValue(t));
  REQUIRE(r.Next(&t));
  CHECK(t == Str("b"));
  REQUIRE(r.Next(&t));
  CHECK(t == Int(2));
  REQUIRE(r.Next(&t));
  CHECK(t == kEnd);
  CHECK(r.done());
  CHECK_FALSE(r.Next(&t));
}

TEST_CASE("writer writes canonical bencode that reads back") {
  std::array<uint8_t, 128> buf;
  BencodeWriter w(buf);
  w.BeginDict();
  w.String("a");
  w.Int(INT64_MIN);
  w.String("b");
  w.BeginList();
  w.Int(0);
  w.Int(-1);
  w.String("");
  w.End();
  w.String("c");
  w.StringHeader(3);
  w.Raw(std::array<uint8_t, 3>{'x', 'y', 'z'});
  w.End();
  REQUIRE(w.ok());
  std::string_view text(reinterpret_cast<const char*>(buf.data()), w.written());
  CHECK(text == "d1:ai-9223372036854775808e1:bli0ei-1e0:e1:c3:xyze");
  BencodeLimits strict;
  strict.strict = true;
  CHECK(ErrorOf(text, strict) == std::nullopt);
}

TEST_CASE("writer: a short buffer fails, sticky, and never overruns") {
  std::array<uint8_t, 6> buf{};
  BencodeWriter w(std::span<uint8_t>(buf).first(5));
  CHECK(w.String("abc"));  // 5 bytes
  CHECK_FALSE(w.Int(1));
  CHECK_FALSE(w.ok());
  CHECK(buf[5] == 0);
  CHECK(w.Result().error() == WriteError::kBufferTooSmall);
}

TEST_CASE("no allocation: reading and writing") {
  const std::string in = "d8:completei5e10:incompletei3e8:intervali1800e5:peers6:abcdefe";
  std::array<uint8_t, 128> buf;
  BencodeLimits strict;
  strict.strict = true;
  testing::AllocationScope scope;
  BencodeReader r(in, strict);
  BencodeToken t;
  size_t n = 0;
  while (r.Next(&t)) ++n;
  auto bad = CheckBencode("i-0e");
  BencodeWriter w(buf);
  w.BeginDict();
  w.String("interval");
  w.Int(1800);
  w.End();
  CHECK(scope.allocations() == 0);
  CHECK(n == 10);
  CHECK(r.done());
  CHECK(bad.failed());
  CHECK(w.ok());
}

TEST_CASE("never reads past the input (guarded buffers, every prefix)") {
  const std::string in = "d3:keyli-12e4:spamd1:ai0eee3:zzz0:e";
  BencodeLimits strict;
  strict.strict = true;
  REQUIRE(ErrorOf(in, strict) == std::nullopt);
  for (size_t n = 0; n <= in.size(); ++n) {
    testing::GuardedBuffer buf(std::string_view(in).substr(0, n));
    auto r = CheckBencode(buf.view(), strict);
    CHECK(r.ok() == (n == in.size()));
    if (!r.ok()) CHECK(r.error() == ParseError::kBencodeTruncated);
  }
}

}  // namespace
}  // namespace reef::http
