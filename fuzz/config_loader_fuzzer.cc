// Fuzzes reef's config loader: ParseConfig (what LoadConfigFile runs on a file's bytes)
// on any input, with the limits of server/common/config_toml.h in force (1 MiB, nesting
// 32 levels deep, no NUL), so toml++ and every section's keys and checks see it.
//
// Properties, not just "does not crash":
//  - a config that parses renders (RenderConfig, what --print-config prints) and parses
//    back to the same value, and renders again to the same bytes;
//  - a refusal is InvalidArgument: at most kMaxListedProblems + 1 lines, each printable
//    and of the form "fuzz.toml: ...", "fuzz.toml:LINE: ..." or "fuzz.toml:LINE:COLUMN:
//    ...", with LINE within the input (1 to its newlines + 1);
//  - the limits and the parser agree: input that CheckTomlLimits refuses is refused with
//    exactly that message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/common/config_section.h"
#include "server/common/config_toml.h"
#include "server/config.h"

namespace reef {
namespace {

constexpr std::string_view kSource = "fuzz.toml";

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "fuzz.toml[:LINE[:COLUMN]]: reason", LINE from 1 to `max_line`.
void CheckProblemLine(std::string_view line, uint64_t max_line) {
  for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
  FUZZ_CHECK(line.substr(0, kSource.size()) == kSource);
  std::string_view rest = line.substr(kSource.size());
  size_t colon_space = rest.find(": ");
  FUZZ_CHECK(colon_space != std::string_view::npos);
  FUZZ_CHECK(colon_space + 2 < rest.size());  // a reason follows
  std::string_view where = rest.substr(0, colon_space);
  if (where.empty()) return;  // no line: a problem with a key the file did not set
  FUZZ_CHECK(where[0] == ':');
  where.remove_prefix(1);
  const size_t column_colon = where.find(':');
  const std::string_view line_number = where.substr(0, column_colon);
  FUZZ_CHECK(AllDigits(line_number));
  FUZZ_CHECK(line_number.size() <= 10);
  const uint64_t n = std::stoull(std::string(line_number));
  FUZZ_CHECK(n >= 1 && n <= max_line);
  if (column_colon != std::string_view::npos) FUZZ_CHECK(AllDigits(where.substr(column_colon + 1)));
}

void FuzzOne(std::string_view text) {
  absl::StatusOr<Config> parsed = ParseConfig(text, kSource);
  if (parsed.ok()) {
    const std::string rendered = RenderConfig(*parsed);
    absl::StatusOr<Config> again = ParseConfig(rendered, "rendered.toml");
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *parsed);
    FUZZ_CHECK(RenderConfig(*again) == rendered);
    return;
  }
  FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string_view message = ToStd(parsed.status().message());
  const absl::Status limits = config::CheckTomlLimits(text, kSource);
  if (!limits.ok()) FUZZ_CHECK(limits.message() == parsed.status().message());

  uint64_t max_line = 1;
  for (char c : text) max_line += c == '\n';
  size_t lines = 0;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    CheckProblemLine(message.substr(start, end - start), max_line);
    ++lines;
    start = end + 1;
  }
  FUZZ_CHECK(lines <= config::kMaxListedProblems + 1);
}

}  // namespace
}  // namespace reef

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reef::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
