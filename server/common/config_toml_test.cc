#include "server/common/config_toml.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace reef::config {
namespace {

// The message ParseToml gives for `text`, or "" if it parses.
std::string Error(const std::string& text) {
  absl::StatusOr<Value> parsed = ParseToml(text, "test.toml");
  if (parsed.ok()) return "";
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// Inputs that nest `depth` levels deep, each a different way TOML nests.
std::string DeepHeader(int depth) { return "[a" + Repeat(".a", depth - 1) + "]\n"; }
std::string DeepArrayOfTables(int depth) { return "[[a" + Repeat(".a", depth - 2) + "]]\n"; }
std::string DeepDottedKey(int depth) { return "a" + Repeat(".a", depth - 1) + " = 1\n"; }
std::string DeepKeyUnderHeader(int depth) {
  return "[s]\nx = 1\n\n" + std::string("a") + Repeat(".a", depth - 2) + " = 1\n";
}
std::string DeepArray(int depth) {  // [s] is 1, x is 2, each '[' one more for its elements
  return "[s]\nx = " + Repeat("[", depth - 2) + Repeat("]", depth - 2) + "\n";
}
std::string DeepInlineTable(int depth) {  // [s] is 1, x 2, then a = {...} one each
  return "[s]\nx = " + Repeat("{a = ", depth - 2) + "1" + Repeat("}", depth - 2) + "\n";
}
std::string DeepDottedInlineKey(int depth) {  // dotted keys inside an inline table
  return "[s]\nx = {" + std::string("a") + Repeat(".a", depth - 3) + " = 1}\n";
}
// [s.t] is 2, k 3, then each `[{a.b = ` three more: the array's element, `a`, `b`. As deep
// as `depth` allows, in steps of three.
std::string DeepMixed(int depth) {
  std::string text = "[s.t]\nk = ";
  int level = 3;
  std::string close;
  while (level + 3 <= depth) {
    text += "[{a.b = ";
    close = "}]" + close;
    level += 3;  // the array's element, the inline table's `a`, then `b`
  }
  return text + "1" + close + "\n";
}

using Maker = std::string (*)(int);
const std::vector<std::pair<const char*, Maker>>& Shapes() {
  static const auto* shapes = new std::vector<std::pair<const char*, Maker>>{
      {"table header", &DeepHeader},
      {"array of tables", &DeepArrayOfTables},
      {"dotted key", &DeepDottedKey},
      {"dotted key under a header", &DeepKeyUnderHeader},
      {"arrays", &DeepArray},
      {"inline tables", &DeepInlineTable},
      {"dotted inline-table key", &DeepDottedInlineKey},
  };
  return *shapes;
}

// Found by reading toml++ for issue 11: it builds a table per dotted-key or header
// component and walks the tree recursively (update_region_ends, the destructors), so
// `[a.a.a.…]` 100,000 levels deep (200 KB) overflowed the stack: SIGSEGV in every build
// (under ASan, inside toml++'s recursive parser::update_region_ends). Arrays and inline tables
// alone stop at toml++'s own limit of 256, but dotted keys inside them do not. ParseToml now
// refuses depth past kMaxTomlDepth before toml++ sees the text.
TEST_CASE("deep nesting is refused before toml++ parses it, with file and line") {
  for (const auto& shape : Shapes()) {
    const char* name = shape.first;
    CAPTURE(name);
    const std::string crashed = shape.second(100000);
    const std::string error = Error(crashed);
    CHECK_MESSAGE(error.find("nesting deeper than 32 levels") != std::string::npos, error);
    CHECK(error.rfind("test.toml:", 0) == 0);
  }
  // The line is the one where the limit is passed.
  CHECK(Error("[s]\nx = 1\n" + DeepDottedKey(40)) ==
        "test.toml:3: nesting deeper than 32 levels (table headers, dotted keys, arrays and "
        "inline tables together) is refused");
}

TEST_CASE("nesting exactly at the limit parses; one level more is refused") {
  for (const auto& shape : Shapes()) {
    const char* name = shape.first;
    CAPTURE(name);
    const std::string at_limit = Error(shape.second(kMaxTomlDepth));
    CHECK_MESSAGE(at_limit.empty(), at_limit);
    CHECK(Error(shape.second(kMaxTomlDepth + 1)).find("nesting deeper than") != std::string::npos);
  }
  CHECK(Error(DeepMixed(30)).empty());
  CHECK(Error(DeepMixed(33)).find("nesting deeper than") != std::string::npos);
}

TEST_CASE("what looks like nesting inside strings and comments, or in values, is not") {
  const std::string dots = Repeat(".", 200);
  const std::string brackets = Repeat("[", 200);
  CHECK(Error("[s]\nx = \"" + dots + brackets + "\"\n").empty());
  CHECK(Error("[s]\nx = '" + dots + brackets + "'\n").empty());
  CHECK(Error("[s]\nx = \"\"\"\n" + dots + "\n" + brackets + "\"\"\"\n").empty());
  CHECK(Error("[s]\nx = '''\n" + dots + "\n" + brackets + "'''\n").empty());
  CHECK(Error("[s]\nx = \"\\\"" + brackets + "\"\n").empty());  // an escaped quote
  CHECK(Error("[s]\n# " + dots + brackets + "\nx = 1\n").empty());
  CHECK(Error("[s]\n\"" + dots + "\" = 1\n").empty());  // one quoted key with dots in it
  CHECK(Error("[\"" + dots + "\"]\n").empty());
  // Floats, times and arrays of them: dots in values are not key separators.
  std::string floats = "[s]\nx = [";
  for (int i = 0; i < 200; ++i) floats += "1.5, 07:32:00.999, ";
  CHECK(Error(floats + "2.5]\n").empty());
  // Many shallow arrays and inline tables, one after another.
  CHECK(Error("[s]\nx = [" + Repeat("[1], {a = 2}, ", 200) + "[]]\n").empty());
  // A multi-line array does not end the statement at its newlines.
  CHECK(Error("[s]\nx = [\n  1,\n  [2],\n]\ny.z = 3\n").empty());
}

TEST_CASE("the size limit, and NUL bytes, are refused before parsing") {
  std::string big = "[s]\nx = \"" + std::string(kMaxTomlBytes, 'x') + "\"\n";
  CHECK(Error(big) == "test.toml: larger than 1048576 bytes, got " + std::to_string(big.size()));
  std::string fits = "# " + std::string(kMaxTomlBytes - 3, 'x') + "\n";
  CHECK(fits.size() == kMaxTomlBytes);
  CHECK(Error(fits).empty());
  CHECK(Error(std::string("[\x00", 2)) == "test.toml:1: a NUL byte is not allowed in a TOML file");
  CHECK(Error(std::string("[[\x00", 3)) == "test.toml:1: a NUL byte is not allowed in a TOML file");
  CHECK(Error(std::string("[s]\nenabled = true\n# \x00\n", 23)) ==
        "test.toml:3: a NUL byte is not allowed in a TOML file");
  // The escape \u0000 inside a string is TOML, and fine.
  absl::StatusOr<Value> escaped = ParseToml("[s]\nx = \"a\\u0000b\"\n", "test.toml");
  REQUIRE(escaped.ok());
  CHECK(escaped->children[0].children[0].string == std::string("a\0b", 3));
}

TEST_CASE("the tree: types, keys, lines, order") {
  absl::StatusOr<Value> root = ParseToml(
      "[b]\nz = 1\ny = \"s\"\n\n[a]\nf = 1.5\nt = true\nl = [1, \"x\"]\nd = 1979-05-27\n"
      "tm = 07:32:00\ndt = 1979-05-27T07:32:00Z\nsub.k = -3\n",
      "test.toml");
  REQUIRE_MESSAGE(root.ok(), root.status());
  REQUIRE(root->type == ValueType::kTable);
  REQUIRE(root->children.size() == 2);
  const Value& a = root->children[0];  // sorted by key
  const Value& b = root->children[1];
  CHECK(a.key == "a");
  CHECK(a.line == 5);
  CHECK(b.key == "b");
  CHECK(b.line == 1);
  REQUIRE(b.children.size() == 2);
  CHECK(b.children[0].key == "y");
  CHECK(b.children[0].type == ValueType::kString);
  CHECK(b.children[0].string == "s");
  CHECK(b.children[0].line == 3);
  CHECK(b.children[1].integer == 1);
  std::vector<std::pair<std::string, ValueType>> types;
  for (const Value& v : a.children) types.emplace_back(v.key, v.type);
  CHECK(types == std::vector<std::pair<std::string, ValueType>>{{"d", ValueType::kDate},
                                                                {"dt", ValueType::kDateTime},
                                                                {"f", ValueType::kFloat},
                                                                {"l", ValueType::kArray},
                                                                {"sub", ValueType::kTable},
                                                                {"t", ValueType::kBool},
                                                                {"tm", ValueType::kTime}});
  CHECK(a.children[2].floating == 1.5);
  REQUIRE(a.children[3].children.size() == 2);
  CHECK(a.children[3].children[1].string == "x");
  CHECK(a.children[3].children[1].key.empty());
  CHECK(a.children[4].children[0].integer == -3);
  CHECK(a.children[5].boolean);
  CHECK(TypeName(ValueType::kDateTime) == "a date-time");
}

TEST_CASE("TOML syntax errors give file, line and column, in printable text") {
  CHECK(Error("[s\nenabled = true\n").rfind("test.toml:1:", 0) == 0);
  CHECK(Error("[s]\nenabled = true\nenabled = false\n").rfind("test.toml:3:", 0) == 0);
  CHECK(Error("[s]\nenabled = \n").rfind("test.toml:2:", 0) == 0);
  for (const char* bad : {"[s]\nx = \x01\n", "[\x1b]\n", "x = \"\x7f\"\n", "[s]\nx = 1\r\r\n"}) {
    const std::string error = Error(bad);
    CHECK_FALSE(error.empty());
    for (char c : error) CHECK_MESSAGE(static_cast<unsigned char>(c) >= 0x20, error);
  }
}

// Found by config_proptest: toml++ 3.3.0 aborted on an internal assertion (builds without
// NDEBUG: every test and sanitizer build) when a table header starts with a character that
// cannot start a key, "[\x00" and "[\x1c" first. See the comment at config_toml.cc's
// #include of toml++ for the fix. These must be plain errors with a position, not crashes.
TEST_CASE("toml++'s key assertion does not fire on bad table headers") {
  for (const std::string& bad :
       {std::string("[\x1c", 2), std::string("[!"), std::string("[.udp]\n"), std::string("[[=]]\n"),
        std::string("[ \x7f]\n"), std::string("[udp]\n[\x01"), std::string("[#]\n"),
        std::string("[[\\]]")}) {
    const std::string error = Error(bad);
    CHECK_MESSAGE(error.rfind("test.toml:", 0) == 0, bad, " -> ", error);
  }
  CHECK(Error("[!]\n").find("expected bare key starting character") != std::string::npos);
}

// Found by config_proptest under UBSan: toml++ 3.3.0's is_non_ascii_horizontal_whitespace
// reaches __builtin_unreachable() (undefined behaviour in every build) for most code points
// in U+00A1-U+0499, U+2FAE-U+33A7 and U+FC06-U+FEFE, which it is asked about when such a
// character follows a bare key. See config_toml.cc's #include of toml++ for the fix. Under
// --config=ubsan this test fails without it.
TEST_CASE("non-ASCII characters after a key are a plain error, not undefined behaviour") {
  for (const char* bad : {"[udp]\nenabl\xc3\xa9 = true\n",      // U+00E9
                          "[udp]\nenabled\xc2\xa1= true\n",     // U+00A1
                          "[log]\nlevel\xe3\x81\x82 = 1\n",     // U+3042
                          "[swarm]\nshards\xef\xb9\x90 = 1\n",  // U+FE50
                          "[udp\xd0\x96]\n"}) {                 // U+0416
    const std::string error = Error(bad);
    CHECK_MESSAGE(error.rfind("test.toml:", 0) == 0, bad, " -> ", error);
  }
  // Real non-ASCII whitespace is still whitespace (toml++ then refuses it as TOML does).
  CHECK_FALSE(Error("[udp]\nenabled\xe3\x80\x80= true\n").empty());  // U+3000
}

TEST_CASE("TomlString writes what ParseToml reads back") {
  const std::string tricky = std::string("q\"b\\n\nt\tr\r\x01\x1f\x7f \xc3\xa9#=[]'\0z", 21);
  absl::StatusOr<Value> root = ParseToml("x = " + TomlString(tricky) + "\n", "test.toml");
  REQUIRE_MESSAGE(root.ok(), root.status());
  CHECK(root->children[0].string == tricky);
}

}  // namespace
}  // namespace reef::config
