#include "protocol/http/request.h"

#include "protocol/http/head_internal.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace reef::http {
namespace {

using Result = ParseResult<Request, ParseError>;
using namespace internal;

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
