// Fuzzes the access-list file parser (server/common/access_list.h) with arbitrary bytes.
//
// Properties, not just "does not crash":
//  - accepted: every hash in the set is written in the text (its 40 hex digits, in either
//    case); every line that holds something besides whitespace and a comment is a hash,
//    and it is in the set; the set is no larger than CountHashLines, what the parser
//    reserves;
//  - refused: the error names a line, "line N: ...", N a line of the text (1-based, as an
//    editor counts), that line is the first that holds something other than a hash, and
//    the message quotes at most kQuoteLimit bytes of it.
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_check.h"
#include "protocol/common/fixed_bytes.h"
#include "server/common/access_list.h"

namespace {

// An error message is "line N: expected 40 hex digits, got \"<escaped, at most 60 bytes>...\"";
// escaping makes each byte at most 4 characters.
constexpr size_t kQuoteLimit = 60;
constexpr size_t kMaxMessageSize = 64 + 4 * kQuoteLimit;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The text's lines as the file format defines them: split at '\n', without the '\n'.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// What a line holds once its comment and surrounding whitespace are gone, written
// independently of the parser: char by char.
std::string Content(std::string_view line) {
  std::string out;
  for (char c : line) {
    if (c == '#') break;
    out.push_back(c);
  }
  while (!out.empty() && IsBlank(out.back())) out.pop_back();
  size_t first = 0;
  while (first < out.size() && IsBlank(out[first])) ++first;
  return out.substr(first);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<reef::InfoHashSet> parsed = reef::ParseAccessList(text);
  const std::vector<std::string_view> lines = Lines(text);
  const std::string lower_text = Lower(text);

  if (parsed.ok()) {
    FUZZ_CHECK(parsed->size() <= reef::CountHashLines(text));
    for (const reef::InfoHash& hash : *parsed) {
      const std::array<char, 40> hex = hash.ToHex();  // lowercase
      FUZZ_CHECK(lower_text.find(std::string_view(hex.data(), hex.size())) != std::string::npos);
    }
    for (std::string_view line : lines) {
      const std::string content = Content(line);
      if (content.empty()) continue;
      std::optional<reef::InfoHash> hash = reef::InfoHash::FromHex(content);
      FUZZ_CHECK(hash.has_value());
      FUZZ_CHECK(parsed->contains(*hash));
    }
    return 0;
  }

  const std::string message(parsed.status().message());
  FUZZ_CHECK(message.size() <= kMaxMessageSize);
  FUZZ_CHECK(message.rfind("line ", 0) == 0);
  size_t digits_end = 5;
  while (digits_end < message.size() && std::isdigit(static_cast<unsigned char>(message[digits_end]))) {
    ++digits_end;
  }
  FUZZ_CHECK(digits_end > 5 && digits_end - 5 <= 19);  // fits in 64 bits
  FUZZ_CHECK(message.compare(digits_end, 2, ": ") == 0);
  size_t line_number = 0;
  for (size_t i = 5; i < digits_end; ++i) {
    line_number = line_number * 10 + static_cast<size_t>(message[i] - '0');
  }
  FUZZ_CHECK(line_number >= 1 && line_number <= lines.size());
  for (size_t i = 0; i + 1 < line_number; ++i) {
    const std::string content = Content(lines[i]);
    FUZZ_CHECK(content.empty() || reef::InfoHash::FromHex(content).has_value());
  }
  const std::string bad = Content(lines[line_number - 1]);
  FUZZ_CHECK(!bad.empty() && !reef::InfoHash::FromHex(bad).has_value());
  return 0;
}
