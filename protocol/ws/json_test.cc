#include "protocol/ws/json.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::ws {
namespace {

bool Valid(std::string_view json, size_t depth = kMaxJsonDepth) {
  return ValidateJson(json, depth).ok();
}
JsonError ErrorOf(std::string_view json, size_t depth = kMaxJsonDepth) {
  auto r = ValidateJson(json, depth);
  REQUIRE(r.failed());
  return r.error();
}

TEST_CASE("json: valid documents") {
  for (std::string_view json : {
           "{}", "[]", "0", "-0", "1.5", "-1.5e10", "1E+2", "1e-2", "123456789012345678901234567890",
           "true", "false", "null", "\"\"", " \t\r\n{ \"a\" : [ 1 , 2 , { } ] } \n",
           R"({"a":{"b":{"c":[[[]]]}}})", R"("\"\\\/\b\f\n\r\t")", R"("\u0000\u00e9\uFFFF")",
           R"("\ud83d\ude00")", "\"\xf0\x9f\x98\x80 \xc3\xa9\"", R"({"a":1,"a":2})",
           "\"\x7f\"",
       }) {
    CAPTURE(json);
    CHECK(Valid(json));
  }
}

TEST_CASE("json: each kind of invalid document has its error") {
  struct Case {
    std::string_view json;
    JsonError error;
  };
  for (const Case& c : {
           Case{"", JsonError::kTruncated},
           Case{"   ", JsonError::kTruncated},
           Case{"{", JsonError::kTruncated},
           Case{"[1,", JsonError::kTruncated},
           Case{"\"abc", JsonError::kTruncated},
           Case{"tru", JsonError::kTruncated},
           Case{"{\"a\"", JsonError::kTruncated},
           Case{"[1,]", JsonError::kUnexpectedChar},
           Case{"{\"a\":1,}", JsonError::kUnexpectedChar},
           Case{"{,}", JsonError::kUnexpectedChar},
           Case{"[,1]", JsonError::kUnexpectedChar},
           Case{"{a:1}", JsonError::kUnexpectedChar},
           Case{"{\"a\" 1}", JsonError::kUnexpectedChar},
           Case{"[1 2]", JsonError::kUnexpectedChar},
           Case{"[1}", JsonError::kUnexpectedChar},
           Case{"nul1", JsonError::kUnexpectedChar},
           Case{"True", JsonError::kUnexpectedChar},
           Case{"'a'", JsonError::kUnexpectedChar},
           Case{"\xef\xbb\xbf{}", JsonError::kUnexpectedChar},  // a BOM is not JSON
           Case{"\"a\x01\"", JsonError::kControlCharacter},
           Case{"\"a\nb\"", JsonError::kControlCharacter},
           Case{R"("\x41")", JsonError::kBadEscape},
           Case{R"("\')", JsonError::kBadEscape},
           Case{R"("\u12G4")", JsonError::kBadUnicodeEscape},
           Case{R"("\ud800")", JsonError::kLoneSurrogate},
           Case{R"("\ud800x")", JsonError::kLoneSurrogate},
           Case{R"("\ud800\u0041")", JsonError::kLoneSurrogate},
           Case{R"("\ud800\ud800")", JsonError::kLoneSurrogate},
           Case{R"("\udc00")", JsonError::kLoneSurrogate},
           Case{R"("\udfff\ud800")", JsonError::kLoneSurrogate},
           Case{"\"\xc0\x80\"", JsonError::kInvalidUtf8},
           Case{"\"\xed\xa0\x80\"", JsonError::kInvalidUtf8},  // a surrogate in UTF-8
           Case{"\"\xff\"", JsonError::kInvalidUtf8},
           Case{"01", JsonError::kBadNumber},
           Case{"-", JsonError::kTruncated},
           Case{"-a", JsonError::kBadNumber},
           Case{"1.", JsonError::kTruncated},
           Case{"1.e5", JsonError::kBadNumber},
           Case{".5", JsonError::kUnexpectedChar},
           Case{"+1", JsonError::kUnexpectedChar},
           Case{"1e", JsonError::kTruncated},
           Case{"1e+", JsonError::kTruncated},
           Case{"1ex", JsonError::kBadNumber},
           Case{"NaN", JsonError::kUnexpectedChar},
           Case{"-Infinity", JsonError::kBadNumber},
           Case{"0x10", JsonError::kTrailingCharacters},
           Case{"{} {}", JsonError::kTrailingCharacters},
           Case{"1 2", JsonError::kTrailingCharacters},
       }) {
    CAPTURE(c.json);
    CHECK(ErrorName(ErrorOf(c.json)) == ErrorName(c.error));
  }
}

TEST_CASE("json: strings scanned eight bytes at a time stop at every special byte") {
  // A special byte at each offset of the 8-byte windows, after 0-23 plain bytes.
  for (size_t at = 0; at < 24; ++at) {
    CAPTURE(at);
    const std::string plain(at, 'a');
    const std::string tail(11, 'z');
    CHECK(Valid("\"" + plain + "\\n" + tail + "\""));
    CHECK(Valid("\"" + plain + "\xc3\xa9" + tail + "\""));
    CHECK(Valid("\"" + plain + "\x7f" + tail + "\""));      // DEL is allowed raw
    CHECK(Valid("\"" + plain + " !#[]~" + tail + "\""));     // the neighbours of the quote and backslash
    CHECK(ErrorOf("\"" + plain + "\x01" + tail + "\"") == JsonError::kControlCharacter);
    CHECK(ErrorOf("\"" + plain + "\x1f" + tail + "\"") == JsonError::kControlCharacter);
    CHECK(ErrorOf("\"" + plain + "\xff" + tail + "\"") == JsonError::kInvalidUtf8);
    const std::string quoted = "\"" + plain + "\"" + tail;
    JsonReader r(quoted);
    JsonString str;
    REQUIRE(r.ReadString(&str));
    CHECK(str.raw == plain);  // the first quote ends it
  }
}

TEST_CASE("json: the depth limit, at it and just past it") {
  std::string at(kMaxJsonDepth, '[');
  at += std::string(kMaxJsonDepth, ']');
  std::string past(kMaxJsonDepth + 1, '[');
  past += std::string(kMaxJsonDepth + 1, ']');
  CHECK(Valid(at));
  CHECK(ErrorOf(past) == JsonError::kTooDeep);
  CHECK(Valid(R"({"a":{"b":1}})", 2));
  CHECK(ErrorOf(R"({"a":{"b":[]}})", 2) == JsonError::kTooDeep);
  // Asking for more than the cap gets the cap.
  std::string capped(kJsonDepthCap + 1, '[');
  capped += std::string(kJsonDepthCap + 1, ']');
  CHECK(ErrorOf(capped, 1000) == JsonError::kTooDeep);
  // A deep document fails fast on depth, whatever follows.
  CHECK(ErrorOf(std::string(100000, '[')) == JsonError::kTooDeep);
}

TEST_CASE("json: walking an object, reading typed values, skipping with raw views") {
  std::string_view json =
      R"( {"s":"x\"y","n":42,"b":true,"z":null,"o":{"type":"offer","sdp":"v=0\r\n"},"a":[1,2]} )";
  JsonReader r(json);
  REQUIRE(r.EnterObject());
  JsonString key;
  std::vector<std::string> keys;
  while (r.NextMember(&key)) {
    keys.emplace_back(key.raw);
    if (JsonStringEquals(key, "s")) {
      JsonString s;
      REQUIRE(r.ReadString(&s));
      CHECK(s.has_escapes);
      CHECK(s.raw == R"(x\"y)");
      CHECK(JsonStringEquals(s, "x\"y"));
    } else if (JsonStringEquals(key, "n")) {
      uint64_t n = 0;
      REQUIRE(r.ReadUint64(&n));
      CHECK(n == 42);
    } else if (JsonStringEquals(key, "b")) {
      bool b = false;
      REQUIRE(r.ReadBool(&b));
      CHECK(b);
    } else if (JsonStringEquals(key, "z")) {
      REQUIRE(r.ReadNull());
    } else {
      std::string_view raw;
      REQUIRE(r.SkipValue(&raw));
      if (key.raw == "o") CHECK(raw == R"({"type":"offer","sdp":"v=0\r\n"})");
      if (key.raw == "a") CHECK(raw == "[1,2]");
    }
  }
  CHECK(r.ok());
  CHECK(r.Finish());
  CHECK(keys == std::vector<std::string>{"s", "n", "b", "z", "o", "a"});
}

TEST_CASE("json: ReadUint64 takes only plain non-negative integers that fit") {
  auto read = [](std::string_view json, uint64_t* out) {
    JsonReader r(json);
    return r.ReadUint64(out) && r.Finish();
  };
  uint64_t v = 0;
  CHECK(read("18446744073709551615", &v));
  CHECK(v == UINT64_MAX);
  CHECK_FALSE(read("18446744073709551616", &v));
  CHECK_FALSE(read("-1", &v));
  CHECK_FALSE(read("1.0", &v));
  CHECK_FALSE(read("1e3", &v));
  CHECK_FALSE(read("\"1\"", &v));
  CHECK(read("0", &v));
  CHECK(v == 0);
}

TEST_CASE("json: wrong types are errors, and errors are sticky") {
  JsonReader r(R"({"a":"x"})");
  REQUIRE(r.EnterObject());
  JsonString key;
  REQUIRE(r.NextMember(&key));
  uint64_t n = 0;
  CHECK_FALSE(r.ReadUint64(&n));
  CHECK(r.error() == JsonError::kWrongType);
  JsonString s;
  CHECK_FALSE(r.ReadString(&s));  // sticky
  CHECK_FALSE(r.Finish());
  CHECK(r.error() == JsonError::kWrongType);
}

TEST_CASE("json: string decoding, and binary strings of code points U+0000-U+00FF") {
  auto read = [](std::string_view json) {
    JsonReader r(json);
    JsonString s;
    REQUIRE(r.ReadString(&s));
    return s;
  };
  std::array<char, 64> text;
  size_t n = 0;
  REQUIRE(DecodeJsonString(read(R"("a\u00e9\ud83d\ude00\n")"), text, &n));
  CHECK(std::string_view(text.data(), n) == "a\xc3\xa9\xf0\x9f\x98\x80\n");
  CHECK_FALSE(DecodeJsonString(read(R"("abcdef")"), std::span<char>(text).first(5), &n));

  // \u00e9 and raw UTF-8 for U+00E9 are the same byte 0xE9.
  std::array<uint8_t, 8> bytes;
  REQUIRE(DecodeBinaryString(read(R"("\u00e9\u0000\u00ff")"), bytes, &n));
  CHECK(n == 3);
  CHECK(bytes[0] == 0xE9);
  CHECK(bytes[1] == 0x00);
  CHECK(bytes[2] == 0xFF);
  REQUIRE(DecodeBinaryString(read("\"\xc3\xa9\x7f\""), bytes, &n));
  CHECK(n == 2);
  CHECK(bytes[0] == 0xE9);
  CHECK(bytes[1] == 0x7F);
  CHECK_FALSE(DecodeBinaryString(read(R"("\u0100")"), bytes, &n));       // above U+00FF
  CHECK_FALSE(DecodeBinaryString(read("\"\xe2\x82\xac\""), bytes, &n));  // U+20AC

  const std::string twenty = R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009)"
                             "\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\xc2\x80\xc3\xbf" R"(\"\\")";
  auto id = DecodeBinaryFixed<20>(read(twenty));
  REQUIRE(id.has_value());
  CHECK((*id)[0] == 0);
  CHECK((*id)[15] == 0x0f);
  CHECK((*id)[16] == 0x80);
  CHECK((*id)[17] == 0xff);
  CHECK((*id)[18] == '"');
  CHECK((*id)[19] == '\\');
  CHECK_FALSE(DecodeBinaryFixed<20>(read(R"("0123456789012345678")")).has_value());    // 19
  CHECK(DecodeBinaryFixed<20>(read(R"("01234567890123456789")")).has_value());        // 20
  CHECK_FALSE(DecodeBinaryFixed<20>(read(R"("012345678901234567890")")).has_value());  // 21
  // 20 code points, but one is above U+00FF.
  CHECK_FALSE(DecodeBinaryFixed<20>(read("\"0123456789012345678\xe2\x82\xac\"")).has_value());
}

TEST_CASE("json writer: escapes as JSON.stringify does, separators in place") {
  std::array<uint8_t, 256> buf;
  JsonWriter w(buf);
  w.BeginObject();
  w.Key("s");
  w.String("q\"b\\\b\f\n\r\t\x01\x1f\x7f\xc3\xa9/");
  w.Key("n");
  w.Uint(0);
  w.Key("big");
  w.Uint(UINT64_MAX);
  w.Key("a");
  w.BeginArray();
  w.Raw(R"({"type":"offer"})");
  w.Uint(7);
  w.EndArray();
  w.Key("bin");
  const std::array<uint8_t, 5> bin = {0x00, 0x22, 0x41, 0x80, 0xff};
  w.BinaryString(bin);
  w.EndObject();
  auto result = w.Result();
  REQUIRE(result.ok());
  std::string_view out(reinterpret_cast<const char*>(buf.data()), result.length());
  // JSON.stringify({s:'q"b\\\b\f\n\r\t\x01\x1f\x7f\u00e9/', n:0, big:..., a:[...], bin:'\0"A\x80\xff'})
  CHECK(out == "{\"s\":\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9/\",\"n\":0,"
               "\"big\":18446744073709551615,\"a\":[{\"type\":\"offer\"},7],"
               "\"bin\":\"\\u0000\\\"A\xc2\x80\xc3\xbf\"}");
  CHECK(Valid(out));
}

TEST_CASE("json writer: unbalanced output and short buffers are refused") {
  std::array<uint8_t, 64> buf;
  {
    JsonWriter w(buf);
    w.BeginObject();
    CHECK(w.Result().error() == WriteError::kInvalidValue);
  }
  {
    JsonWriter w(buf);
    w.BeginObject();
    w.Key("a");
    w.EndObject();  // a key without a value
    CHECK(w.Result().error() == WriteError::kInvalidValue);
  }
  {
    JsonWriter w(buf);
    w.Uint(1);
    w.Uint(2);
    CHECK(w.Result().error() == WriteError::kInvalidValue);
  }
  for (size_t size = 0; size < 9; ++size) {
    std::vector<uint8_t> small(size);
    JsonWriter w(small);
    w.BeginObject();
    w.Key("a");
    w.String("xy");
    w.EndObject();  // {"a":"xy"} is 10 bytes
    CHECK(w.Result().error() == WriteError::kBufferTooSmall);
  }
}

TEST_CASE("json: validating, reading and writing allocate nothing") {
  std::string_view json = R"({"a":[1,2,{"b":"\u00e9\ud83d\ude00"}],"c":null,"d":1.5e3})";
  std::array<uint8_t, 128> buf;
  testing::AllocationScope scope;
  auto v = ValidateJson(json);
  JsonWriter w(buf);
  w.BeginObject();
  w.Key("x");
  w.Raw(v.value());
  w.EndObject();
  auto written = w.Result();
  CHECK(scope.allocations() == 0);
  CHECK(v.ok());
  CHECK(written.ok());
}

TEST_CASE("json: no read past the input (guard page), for every prefix") {
  const std::string json =
      R"({"a":[1,-2.5e+3,true,false,null,"x\u00e9\ud83d\ude00\n",{"b":{}}],"c":")"
      "\xc3\xa9\"}";
  for (size_t cut = 0; cut <= json.size(); ++cut) {
    testing::GuardedBuffer guarded(std::string_view(json).substr(0, cut));
    auto r = ValidateJson(guarded.view());
    CHECK(r.ok() == (cut == json.size()));
  }
}

}  // namespace
}  // namespace reef::ws
