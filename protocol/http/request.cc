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
  if (!AllOfClass(method, kTokenChar)) {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  // The target runs to its first byte that is not a target char, which must be the space
  // before the version: a control character in the target and a missing space are both
  // a bad request line.
  const size_t sp2 = sp1 + 1 + FindNonTargetChar(line.substr(sp1 + 1));
  if (sp2 == line.size() || line[sp2] != ' ' || sp2 == sp1 + 1) {
    *error = ParseError::kBadRequestLine;
    return false;
  }
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
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
  return FindHeaderIn(headers, name);
}

ParseResult<Request, ParseError> ParseRequest(std::string_view in,
                                              std::span<Header> header_storage,
                                              const RequestLimits& limits) {
  // Only the first max_request_bytes can belong to an acceptable head.
  const HeadWindow window(in, limits);
  const std::string_view head = window.bytes();

  size_t pos = 0;
  // Empty lines before the request line are ignored (RFC 9112 2.2), such as a CRLF a
  // client sent after its previous request.
  while (pos < head.size() && (head[pos] == '\r' || head[pos] == '\n')) {
    if (head[pos] == '\r' && (pos + 1 == head.size() || head[pos + 1] != '\n')) {
      if (pos + 1 == head.size()) return window.OutOfBytes<Result>();
      return Result::Fail(ParseError::kBadRequestLine);
    }
    pos += head[pos] == '\r' ? size_t{2} : size_t{1};
  }

  Request req;
  size_t end = 0;
  size_t next = 0;
  switch (FindLine(head, pos, limits.max_request_line_bytes, &end, &next)) {
    case LineStatus::kIncomplete:
      return window.OutOfBytes<Result>();
    case LineStatus::kTooLong:
      return Result::Fail(ParseError::kRequestLineTooLong);
    case LineStatus::kFound:
      break;
  }
  ParseError error{};
  if (!ParseRequestLine(head.substr(pos, end - pos), &req, &error)) return Result::Fail(error);

  bool saw_content_length = false;
  const auto block = ParseHeaderBlock(
      head, next, limits, header_storage, [&](const Header& header) -> std::optional<ParseError> {
        if (EqualsIgnoreCase(header.name, "Content-Length")) {
          // Digits only; any non-zero digit announces a body. (No overflow: never
          // converted.)
          if (header.value.empty() || saw_content_length) return ParseError::kBadContentLength;
          saw_content_length = true;
          bool nonzero = false;
          for (char c : header.value) {
            if (c < '0' || c > '9') return ParseError::kBadContentLength;
            nonzero = nonzero || c != '0';
          }
          if (nonzero) return ParseError::kBodyNotAllowed;
        } else if (EqualsIgnoreCase(header.name, "Transfer-Encoding")) {
          return ParseError::kBodyNotAllowed;
        }
        return std::nullopt;
      });
  if (block.incomplete()) return window.OutOfBytes<Result>();
  if (block.failed()) return Result::Fail(block.error());
  req.headers = block.value().headers;
  req.keep_alive = block.value().KeepAlive(req.version_minor);
  return Result::Ok(req, block.consumed());
}

}  // namespace reef::http
