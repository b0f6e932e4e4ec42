// Fuzzes the WebSocket opening handshake (protocol/ws/handshake.h) over http::ParseRequest.
//
// Properties, not just "does not crash":
//  - ParseUpgradeRequest agrees with http::ParseRequest + ValidateUpgrade, consumes no
//    more than it was given, and the head cut one byte short is incomplete;
//  - an accepted request has a valid key, and its 101 response carries ComputeAccept of
//    that key; a refused one gets a refusal whose status line matches RefusalStatus;
//  - WriteUpgradeRequest with the accepted request's target and key writes a request that
//    is accepted again with the same target and key.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/http/request.h"
#include "protocol/ws/handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::array<reef::http::Header, 32> headers;
  auto r = reef::ws::ParseUpgradeRequest(in, headers);

  std::array<reef::http::Header, 32> headers2;
  auto http = reef::http::ParseRequest(in, headers2);
  FUZZ_CHECK(r.incomplete() == http.incomplete());
  if (http.failed()) FUZZ_CHECK(r.failed() && r.error() == reef::ws::HandshakeError::kBadHttpRequest);
  if (http.ok()) {
    auto v = reef::ws::ValidateUpgrade(http.value());
    FUZZ_CHECK(v.ok() == r.ok());
    if (v.failed()) FUZZ_CHECK(r.error() == v.error());
  }

  std::array<uint8_t, 1024> out;
  if (r.failed()) {
    auto w = reef::ws::WriteHandshakeRefusal(out, r.error());
    FUZZ_CHECK(w.ok());
    const std::string_view response(reinterpret_cast<const char*>(out.data()), w.length());
    const int status = reef::ws::RefusalStatus(r.error());
    FUZZ_CHECK(response.starts_with(status == 426 ? "HTTP/1.1 426 " : "HTTP/1.1 400 "));
    return 0;
  }
  if (!r.ok()) return 0;
  FUZZ_CHECK(r.consumed() <= size);
  FUZZ_CHECK(reef::ws::ParseUpgradeRequest(in.substr(0, r.consumed() - 1), headers).incomplete());
  // Re-parse: the views of `r` point into `in`, and headers was reused; parse again.
  auto ok = reef::ws::ParseUpgradeRequest(in, headers);
  FUZZ_CHECK(ok.ok());
  const std::string key(ok.value().key);
  const std::string target(ok.value().request.target);
  FUZZ_CHECK(reef::ws::IsValidWebSocketKey(key));

  auto w = reef::ws::WriteHandshakeResponse(out, key);
  FUZZ_CHECK(w.ok());
  const std::string_view response(reinterpret_cast<const char*>(out.data()), w.length());
  const auto accept = reef::ws::ComputeAccept(key);
  FUZZ_CHECK(accept.has_value());
  FUZZ_CHECK(response.find(std::string_view(accept->data(), accept->size())) !=
             std::string_view::npos);

  std::array<uint8_t, 16 * 1024 + 256> request;
  auto q = reef::ws::WriteUpgradeRequest(request, "reef.test", target, key);
  if (q.ok()) {  // targets with spaces or tabs are refused by the writer
    const std::string_view written(reinterpret_cast<const char*>(request.data()), q.length());
    auto again = reef::ws::ParseUpgradeRequest(written, headers);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value().key == key);
    FUZZ_CHECK(again.value().request.target == target);
  }
  return 0;
}
