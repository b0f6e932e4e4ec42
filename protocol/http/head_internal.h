// Pieces of HTTP/1.x head parsing shared by the request and response parsers.
// Internal to protocol/http.
#ifndef REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_
#define REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "protocol/http/request.h"

namespace reef::http::internal {


inline constexpr bool IsTokenChar(char c) {
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
inline constexpr bool IsTargetChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u > 0x20 && u < 0x7f) || u >= 0x80;
}

// A byte allowed in a header value: visible ASCII, SP, HTAB, obs-text.
inline constexpr bool IsValueChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
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
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view name = line.substr(0, colon);
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  std::string_view value = line.substr(colon + 1);
  for (char c : value) {
    if (!IsValueChar(c)) return false;
  }
  header->name = name;
  header->value = TrimSpaces(value);
  return true;
}

}  // namespace reef::http::internal

#endif  // REEF_PROTOCOL_HTTP_HEAD_INTERNAL_H_
