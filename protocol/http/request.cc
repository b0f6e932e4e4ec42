#include "protocol/http/request.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace reef::http {
namespace {

using Result = ParseResult<Request, ParseError>;

constexpr bool IsTokenChar(char c) {
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
constexpr bool IsTargetChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u > 0x20 && u < 0x7f) || u >= 0x80;
}

// A byte allowed in a header value: visible ASCII, SP, HTAB, obs-text.
constexpr bool IsValueChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
}

constexpr char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

enum class LineStatus { kFound, kIncomplete, kTooLong };

// Finds the line that starts at `pos`: its content [pos, *content_end) and the index just
// past its LF in *next. The content may be at most `max_content` bytes; a CR is allowed
// only right before the LF (a stray CR fails later, in the character checks).
LineStatus FindLine(std::string_view in, size_t pos, size_t max_content, size_t* content_end,
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

bool ParseRequestLine(std::string_view line, Request* req, ParseError* error) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  for (char c : method) {
    if (!IsTokenChar(c)) {
      *error = ParseError::kBadRequestLine;
      return false;
    }
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty()) {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  for (char c : target) {
    if (!IsTargetChar(c)) {
      *error = ParseError::kBadRequestLine;
      return false;
    }
  }
  // "HTTP/" DIGIT "." DIGIT, and nothing after it.
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  if (method != "GET") {
    *error = ParseError::kMethodNotAllowed;
    return false;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    *error = ParseError::kUnsupportedVersion;
    return false;
  }
  if (target[0] != '/') {
    *error = ParseError::kBadTarget;
    return false;
  }
  req->method = method;
  req->target = target;
  req->version_minor = version[7] - '0';
  size_t question = target.find('?');
  if (question == std::string_view::npos) {
    req->path = target;
    req->query = {};
  } else {
    req->path = target.substr(0, question);
    req->query = target.substr(question + 1);
  }
  // A fragment never reaches a server; if one does, it is not part of the query.
  size_t hash = req->query.find('#');
  if (hash != std::string_view::npos) req->query = req->query.substr(0, hash);
  return true;
}

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseHeaderLine(std::string_view line, Header* header) {
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

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool HeaderListContains(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = TrimSpaces(list.substr(0, comma));
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::string_view> Request::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

ParseResult<Request, ParseError> ParseRequest(std::string_view in,
                                              std::span<Header> header_storage,
                                              const RequestLimits& limits) {
  // Only the first max_request_bytes can belong to an acceptable head.
  const bool clipped = in.size() > limits.max_request_bytes;
  std::string_view head = clipped ? in.substr(0, limits.max_request_bytes) : in;
  // Running out of `head` means "incomplete", or "too large" if it was clipped or is
  // already as long as a head may be.
  const auto out_of_bytes = [&]() -> Result {
    return head.size() >= limits.max_request_bytes ? Result::Fail(ParseError::kRequestTooLarge)
                                                   : Result::Incomplete();
  };

  size_t pos = 0;
  // Empty lines before the request line are ignored (RFC 9112 2.2), such as a CRLF a
  // client sent after its previous request.
  while (pos < head.size() && (head[pos] == '\r' || head[pos] == '\n')) {
    if (head[pos] == '\r' && (pos + 1 == head.size() || head[pos + 1] != '\n')) {
      if (pos + 1 == head.size()) return out_of_bytes();
      return Result::Fail(ParseError::kBadRequestLine);
    }
    pos += head[pos] == '\r' ? size_t{2} : size_t{1};
  }

  Request req;
  size_t end = 0;
  size_t next = 0;
  switch (FindLine(head, pos, limits.max_request_line_bytes, &end, &next)) {
    case LineStatus::kIncomplete:
      return out_of_bytes();
    case LineStatus::kTooLong:
      return Result::Fail(ParseError::kRequestLineTooLong);
    case LineStatus::kFound:
      break;
  }
  ParseError error{};
  if (!ParseRequestLine(head.substr(pos, end - pos), &req, &error)) return Result::Fail(error);
  pos = next;

  const size_t max_headers = std::min(limits.max_headers, header_storage.size());
  size_t count = 0;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool saw_content_length = false;
  for (;;) {
    switch (FindLine(head, pos, limits.max_header_line_bytes, &end, &next)) {
      case LineStatus::kIncomplete:
        return out_of_bytes();
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
    header_storage[count++] = header;

    if (EqualsIgnoreCase(header.name, "Connection")) {
      connection_close = connection_close || HeaderListContains(header.value, "close");
      connection_keep_alive =
          connection_keep_alive || HeaderListContains(header.value, "keep-alive");
    } else if (EqualsIgnoreCase(header.name, "Content-Length")) {
      // Digits only; any non-zero digit announces a body. (No overflow: never converted.)
      if (header.value.empty() || saw_content_length) {
        return Result::Fail(ParseError::kBadContentLength);
      }
      saw_content_length = true;
      bool nonzero = false;
      for (char c : header.value) {
        if (c < '0' || c > '9') return Result::Fail(ParseError::kBadContentLength);
        nonzero = nonzero || c != '0';
      }
      if (nonzero) return Result::Fail(ParseError::kBodyNotAllowed);
    } else if (EqualsIgnoreCase(header.name, "Transfer-Encoding")) {
      return Result::Fail(ParseError::kBodyNotAllowed);
    }
  }
  req.headers = std::span<const Header>(header_storage.data(), count);
  req.keep_alive = !connection_close && (req.version_minor == 1 || connection_keep_alive);
  return Result::Ok(req, pos);
}

}  // namespace reef::http
