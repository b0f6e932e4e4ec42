// Pieces of HTTP/1.x head parsing shared by the request and response parsers.
// Internal to protocol/http.
#ifndef REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_
#define REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/parse_result.h"
#include "protocol/common/swar.h"
#include "protocol/http/errors.h"
#include "protocol/http/request.h"

namespace reef::http::internal {

// The character rules, one predicate each. The parsers use them through kCharClasses (one
// load per byte instead of a chain of compares); char_class_test checks the table
// against these for all 256 bytes.
inline constexpr bool IsTokenCharRule(char c) {
  // RFC 9110 tchar.
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// A byte allowed in a request target: visible ASCII, or obs-text (some old clients send
// raw bytes; the query parser takes them as themselves).
inline constexpr bool IsTargetCharRule(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u > 0x20 && u < 0x7f) || u >= 0x80;
}

// A byte allowed in a header value: visible ASCII, SP, HTAB, obs-text.
inline constexpr bool IsValueCharRule(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
}

enum CharClass : uint8_t { kTokenChar = 1, kTargetChar = 2, kValueChar = 4 };

inline constexpr std::array<uint8_t, 256> kCharClasses = [] {
  std::array<uint8_t, 256> table{};
  for (size_t i = 0; i < table.size(); ++i) {
    const char c = static_cast<char>(i);
    table[i] = static_cast<uint8_t>((IsTokenCharRule(c) ? kTokenChar : 0) |
                                    (IsTargetCharRule(c) ? kTargetChar : 0) |
                                    (IsValueCharRule(c) ? kValueChar : 0));
  }
  return table;
}();

inline constexpr bool HasClass(char c, CharClass k) {
  return (kCharClasses[static_cast<unsigned char>(c)] & k) != 0;
}
inline constexpr bool IsTokenChar(char c) { return HasClass(c, kTokenChar); }
inline constexpr bool IsTargetChar(char c) { return HasClass(c, kTargetChar); }
inline constexpr bool IsValueChar(char c) { return HasClass(c, kValueChar); }

// Whether every byte of `s` is in class k.
inline constexpr bool AllOfClass(std::string_view s, CharClass k) {
  for (char c : s) {
    if (!HasClass(c, k)) return false;
  }
  return true;
}

// Whether every byte of `s` may be in a header value: eight bytes a step (SWAR) while none
// is a control character or DEL, the table for a word that holds one (a tab is allowed).
inline bool AllValueChars(std::string_view s) {
  size_t i = 0;
  for (; s.size() - i >= swar::kWordSize; i += swar::kWordSize) {
    const uint64_t w = swar::LoadWord(s.data() + i);
    if ((swar::LanesBelow(w, 0x20) | swar::LanesEqual(w, 0x7f)) != 0 &&
        !AllOfClass(s.substr(i, swar::kWordSize), kValueChar)) {
      return false;
    }
  }
  return AllOfClass(s.substr(i), kValueChar);
}

// The index of the first byte of `s` that is not a target char, or s.size(): eight bytes
// a step (SWAR), the tail byte by byte. A request target is most of a request line.
inline size_t FindNonTargetChar(std::string_view s) {
  size_t i = 0;
  for (; s.size() - i >= swar::kWordSize; i += swar::kWordSize) {
    const uint64_t w = swar::LoadWord(s.data() + i);
    const uint64_t bad = swar::LanesBelow(w, 0x21) | swar::LanesEqual(w, 0x7f);
    if (bad != 0) return i + swar::FirstLane(bad);
  }
  for (; i < s.size(); ++i) {
    if (!IsTargetChar(s[i])) return i;
  }
  return s.size();
}

inline constexpr char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

enum class LineStatus { kFound, kIncomplete, kTooLong };

// Finds the line that starts at `pos`: its content [pos, *content_end) and the index just
// past its LF in *next. The content may be at most `max_content` bytes; a CR is allowed
// only right before the LF (a stray CR fails later, in the character checks).
inline LineStatus FindLine(std::string_view in, size_t pos, size_t max_content, size_t* content_end,
                    size_t* next) {
  // Search at most max_content + 2 bytes: the content, a CR and the LF.
  size_t window = std::min(in.size() - pos, max_content + 2);
  const char* start = in.data() + pos;
  const void* lf = window == 0 ? nullptr : std::memchr(start, '\n', window);
  if (lf == nullptr) {
    return window == max_content + 2 ? LineStatus::kTooLong : LineStatus::kIncomplete;
  }
  size_t nl = pos + static_cast<size_t>(static_cast<const char*>(lf) - start);
  size_t end = (nl > pos && in[nl - 1] == '\r') ? nl - 1 : nl;
  if (end - pos > max_content) return LineStatus::kTooLong;
  *content_end = end;
  *next = nl + 1;
  return LineStatus::kFound;
}

inline bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

inline bool ParseHeaderLine(std::string_view line, Header* header) {
  if (line.empty() || IsSpaceOrTab(line[0])) return false;  // obs-fold
  const size_t colon = swar::FindByte(line.data(), line.size(), ':');
  if (colon == line.size() || colon == 0) return false;
  std::string_view name = line.substr(0, colon);
  if (!AllOfClass(name, kTokenChar)) return false;
  std::string_view value = line.substr(colon + 1);
  if (!AllValueChars(value)) return false;
  header->name = name;
  header->value = TrimSpaces(value);
  return true;
}

// Value of the first header named `name` (case-insensitive), or nullopt.
inline std::optional<std::string_view> FindHeaderIn(std::span<const Header> headers,
                                                    std::string_view name) {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

// The bytes a head may occupy: `in` clipped to max_request_bytes. Running out of them
// means "incomplete", or kRequestTooLarge once they are as long as a head may be (the
// input was clipped, or is already that long).
class HeadWindow {
 public:
  HeadWindow(std::string_view in, const RequestLimits& limits)
      : bytes_(in.size() > limits.max_request_bytes ? in.substr(0, limits.max_request_bytes)
                                                    : in),
        full_(bytes_.size() >= limits.max_request_bytes) {}

  std::string_view bytes() const { return bytes_; }

  template <typename Result>
  Result OutOfBytes() const {
    return full_ ? Result::Fail(ParseError::kRequestTooLarge) : Result::Incomplete();
  }

 private:
  std::string_view bytes_;
  bool full_;
};

// The header lines of a head, through the empty line that ends it.
struct HeaderBlock {
  std::span<const Header> headers;  // views into the caller's storage
  bool connection_close = false;       // a Connection header lists "close"
  bool connection_keep_alive = false;  // a Connection header lists "keep-alive"

  // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless asked
  // to keep it.
  bool KeepAlive(int version_minor) const {
    return !connection_close && (version_minor == 1 || connection_keep_alive);
  }
};

// Reads header lines from `pos` (just past the start line) through the empty line. Each
// header is checked (ParseHeaderLine), stored in `storage` (at most
// min(limits.max_headers, storage.size()) of them), then handed to `on_header`, which
// returns a ParseError to refuse the head or nullopt to go on. Ok with consumed() = the
// index in `head` just past the empty line; incomplete if `head` ends first (the caller
// tells incomplete from too large, see HeadWindow); errors kHeaderLineTooLong, kBadHeader,
// kTooManyHeaders, or on_header's, whichever comes first.
template <typename OnHeader>
ParseResult<HeaderBlock, ParseError> ParseHeaderBlock(std::string_view head, size_t pos,
                                                      const RequestLimits& limits,
                                                      std::span<Header> storage,
                                                      OnHeader&& on_header) {
  using Result = ParseResult<HeaderBlock, ParseError>;
  const size_t max_headers = std::min(limits.max_headers, storage.size());
  HeaderBlock block;
  size_t count = 0;
  size_t end = 0;
  size_t next = 0;
  for (;;) {
    switch (FindLine(head, pos, limits.max_header_line_bytes, &end, &next)) {
      case LineStatus::kIncomplete:
        return Result::Incomplete();
      case LineStatus::kTooLong:
        return Result::Fail(ParseError::kHeaderLineTooLong);
      case LineStatus::kFound:
        break;
    }
    std::string_view line = head.substr(pos, end - pos);
    pos = next;
    if (line.empty()) break;  // the end of the head
    Header header;
    if (!ParseHeaderLine(line, &header)) return Result::Fail(ParseError::kBadHeader);
    if (count == max_headers) return Result::Fail(ParseError::kTooManyHeaders);
    storage[count++] = header;
    if (EqualsIgnoreCase(header.name, "Connection")) {
      block.connection_close =
          block.connection_close || HeaderListContains(header.value, "close");
      block.connection_keep_alive =
          block.connection_keep_alive || HeaderListContains(header.value, "keep-alive");
    }
    if (std::optional<ParseError> refused = on_header(header)) return Result::Fail(*refused);
  }
  block.headers = std::span<const Header>(storage.data(), count);
  return Result::Ok(block, pos);
}

}  // namespace reef::http::internal

#endif  // REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_
