// Fuzzes http::ParseRequest, the request head parser.
//
// Properties, not just "does not crash":
//  - ok: consumed() <= size; method is GET; path and query are views into the input,
//    path starts with '/', and target == path ["?" query [...]]; version is 1.0 or 1.1;
//    every header is a view into the input with a non-empty name and no CR or LF in it.
//  - the result depends only on the head: parsing exactly in[0, consumed) gives the same
//    request (same consumed, same header count).
//  - every proper prefix of an accepted head is "incomplete" (checked on a few cut points,
//    so the target stays fast), never ok or an error: a server reading a request in pieces
//    never refuses one that would have been fine.
//  - a failure always has a name and a reason.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/http/request.h"

namespace {

using reef::http::Header;
using reef::http::ParseRequest;

bool Within(std::string_view inner, std::string_view outer) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::array<Header, 16> storage;
  reef::http::RequestLimits limits;
  limits.max_headers = 16;
  auto r = ParseRequest(in, storage, limits);
  if (r.failed()) {
    FUZZ_CHECK(!ErrorReason(r.error()).empty());
    return 0;
  }
  if (r.incomplete()) {
    FUZZ_CHECK(size < limits.max_request_bytes);
    return 0;
  }
  const reef::http::Request& req = r.value();
  FUZZ_CHECK(r.consumed() <= size);
  FUZZ_CHECK(r.consumed() <= limits.max_request_bytes);
  FUZZ_CHECK(req.method == "GET");
  FUZZ_CHECK(req.version_minor == 0 || req.version_minor == 1);
  FUZZ_CHECK(Within(req.target, in) && Within(req.path, in) && Within(req.query, in));
  FUZZ_CHECK(!req.path.empty() && req.path[0] == '/');
  FUZZ_CHECK(req.target.substr(0, req.path.size()) == req.path);
  if (!req.query.empty()) FUZZ_CHECK(req.target[req.path.size()] == '?');
  FUZZ_CHECK(req.headers.size() <= limits.max_headers);
  for (const Header& h : req.headers) {
    FUZZ_CHECK(!h.name.empty());
    FUZZ_CHECK(Within(h.name, in) && Within(h.value, in));
    FUZZ_CHECK(h.name.find_first_of(":\r\n \t") == std::string_view::npos);
    FUZZ_CHECK(h.value.find_first_of("\r\n") == std::string_view::npos);
    FUZZ_CHECK(req.FindHeader(h.name).has_value());
  }

  std::string_view head = in.substr(0, r.consumed());
  std::array<Header, 16> storage2;
  auto again = ParseRequest(head, storage2, limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.consumed() == r.consumed());
  FUZZ_CHECK(again.value().headers.size() == req.headers.size());
  FUZZ_CHECK(again.value().keep_alive == req.keep_alive);
  FUZZ_CHECK(again.value().query == req.query);

  for (size_t cut : {size_t{0}, head.size() / 3, head.size() / 2, head.size() - 1}) {
    if (cut >= head.size()) continue;
    std::array<Header, 16> storage3;
    auto prefix = ParseRequest(head.substr(0, cut), storage3, limits);
    FUZZ_CHECK(prefix.incomplete());
  }
  return 0;
}
