// TOML text → a plain tree of values, for the config machinery (config_section.h). This
// is the one place reef includes toml++; sections and their keys see only config::Value.
//
// ParseToml() refuses, before toml++ sees the text, what could hurt the process rather
// than merely be wrong: more than kMaxTomlBytes, a NUL byte, and nesting deeper than
// kMaxTomlDepth (toml++ recurses once per level of tables, dotted keys, arrays and inline
// tables, and a file of `[a.a.a.…]` 100,000 levels deep overflows the stack: test
// "deep nesting is refused before toml++ parses it" in config_toml_test.cc). Every error
// is one or more lines "<source>:<line>: <reason>" (toml++'s syntax errors add
// ":<column>" after the line).
#ifndef REEF_SERVER_COMMON_CONFIG_TOML_H_
#define REEF_SERVER_COMMON_CONFIG_TOML_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace reef::config {

// The largest config text reef reads; a real one is a few KiB.
inline constexpr size_t kMaxTomlBytes = 1 << 20;

// The deepest nesting reef reads: table-header components plus dotted-key components plus
// open arrays and inline tables, counted from the root (`[udp]` then `listen = ["…"]` is
// depth 3). Far above any reef config, far below what overflows toml++'s recursion.
inline constexpr int kMaxTomlDepth = 32;

enum class ValueType : uint8_t {
  kTable,
  kArray,
  kString,
  kInteger,
  kFloat,
  kBool,
  kDate,
  kTime,
  kDateTime,
};

// "an integer", "a table", ...: for messages like "expected a string, got an integer".
std::string_view TypeName(ValueType type);

// One TOML value. Only the member its type names is set.
struct Value {
  ValueType type = ValueType::kTable;
  uint32_t line = 0;  // where it starts in the text; 0 when toml++ did not say
  std::string key;    // its name in the enclosing table; empty for array elements, root

  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string string;
  // The elements of an array, in order; the entries of a table, sorted by key.
  std::vector<Value> children;
};

// Checks the limits above, then parses. The result is the root table. Errors are
// InvalidArgument, each line "<source>:<line>: <reason>"; control characters in toml++'s
// messages are escaped, so a message is always printable lines.
absl::StatusOr<Value> ParseToml(std::string_view text, std::string_view source);

// The limits alone (size, NUL bytes, depth), for tests: OK or the first violation.
absl::Status CheckTomlLimits(std::string_view text, std::string_view source);

// `s` as a TOML basic string: quoted, with quotes, backslashes and control characters
// escaped, so that ParseToml gives back exactly `s`.
std::string TomlString(std::string_view s);

}  // namespace reef::config

#endif  // REEF_SERVER_COMMON_CONFIG_TOML_H_
