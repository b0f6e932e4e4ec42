// Differential check of our JSON validator (protocol/ws/json.h) against Debian's simdjson.
//
// For any input of at most kMaxInput bytes that stays within our depth limit, ValidateJson
// and simdjson's DOM parser must agree on whether it is valid JSON. The one documented
// exception: simdjson refuses numbers it cannot represent (integers outside int64/uint64,
// values beyond the range of a double) with NUMBER_ERROR, where RFC 8259's grammar, and we,
// accept them; such an input is excused only if it really holds such a number.
//
// Also: a valid document's raw view is the whole input minus surrounding whitespace, and
// validates again on its own.
#include <simdjson.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/ws/json.h"

namespace {

constexpr size_t kMaxInput = 64 * 1024;

// Whether simdjson 3 can hold this number (the grammar is already checked).
bool SimdjsonCanRepresent(std::string_view raw) {
  const bool integer = raw.find_first_of(".eE") == std::string_view::npos;
  std::string text(raw);
  if (integer) {
    errno = 0;
    if (raw.front() == '-') {
      (void)std::strtoll(text.c_str(), nullptr, 10);
    } else {
      (void)std::strtoull(text.c_str(), nullptr, 10);
    }
    return errno != ERANGE;
  }
  return std::isfinite(std::strtod(text.c_str(), nullptr));
}

// True if some number in the (valid) document is one simdjson cannot represent.
bool HasUnrepresentableNumber(reef::ws::JsonReader& r) {
  reef::ws::JsonType type;
  if (!r.Peek(&type)) return false;
  switch (type) {
    case reef::ws::JsonType::kObject: {
      bool found = false;
      reef::ws::JsonString key;
      r.EnterObject();
      while (r.NextMember(&key)) found = HasUnrepresentableNumber(r) || found;
      return found;
    }
    case reef::ws::JsonType::kArray: {
      bool found = false;
      r.EnterArray();
      while (r.NextElement()) found = HasUnrepresentableNumber(r) || found;
      return found;
    }
    case reef::ws::JsonType::kNumber: {
      std::string_view raw;
      return r.ReadNumber(&raw) && !SimdjsonCanRepresent(raw);
    }
    default:
      r.SkipValue();
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return 0;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto ours = reef::ws::ValidateJson(json);
  if (ours.failed() && ours.error() == reef::ws::JsonError::kTooDeep) return 0;

  static simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  auto theirs = parser.parse(padded);
  const bool simdjson_ok = theirs.error() == simdjson::SUCCESS;

  if (ours.ok() && !simdjson_ok) {
    FUZZ_CHECK(theirs.error() == simdjson::NUMBER_ERROR);
    reef::ws::JsonReader reader(json);
    FUZZ_CHECK(HasUnrepresentableNumber(reader));
    FUZZ_CHECK(reader.Finish());
  } else {
    if (ours.ok() != simdjson_ok) {
      std::fprintf(stderr, "ours: %s, simdjson: %s\n",
                   ours.ok() ? "valid" : std::string(ErrorName(ours.error())).c_str(),
                   simdjson::error_message(theirs.error()));
    }
    FUZZ_CHECK(ours.ok() == simdjson_ok);
  }

  if (ours.ok()) {
    FUZZ_CHECK(ours.consumed() == size);
    const std::string_view raw = ours.value();
    FUZZ_CHECK(!raw.empty());
    FUZZ_CHECK(raw.data() >= json.data() && raw.data() + raw.size() <= json.data() + size);
    FUZZ_CHECK(reef::ws::ValidateJson(raw).ok());
  }
  return 0;
}
