// respond_tool: answers one raw HTTP tracker request, read from stdin, with a response
// written by this library, on stdout. Used by tools/captures/http_capture.py, whose fake
// tracker records what real clients send and answers them through this tool, so a capture run
// checks both directions against real clients: our parser accepts their requests and
// they accept our responses (including the padded Content-Length, see response.h).
//
// An announce gets interval 1800, one seeder, one leecher and the peer 127.0.0.2:6881
// (compact or not, as asked); a scrape gets {complete 1, downloaded 2, incomplete 3} for
// each hash; anything refused gets the error's reason as the failure reason. Exit status
// 0 when the request parsed, 1 when it was refused (the response is written either way).
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"

namespace {

using namespace reef::http;

std::array<uint8_t, 65536> g_in;
std::array<uint8_t, 65536> g_out;

int Emit(reef::WriteResult r) {
  if (!r.ok()) return 2;
  std::fwrite(g_out.data(), 1, r.length(), stdout);
  return 0;
}

int Fail(ParseError e, bool keep_alive) {
  std::fprintf(stderr, "refused: %s (%s)\n", std::string(ErrorName(e)).c_str(),
               std::string(ErrorReason(e)).c_str());
  return Emit(WriteFailureResponse(ErrorReason(e), keep_alive, g_out)) == 0 ? 1 : 2;
}

}  // namespace

int main() {
  size_t n = 0;
  for (;;) {
    ssize_t got = read(0, g_in.data() + n, g_in.size() - n);
    if (got <= 0) break;
    n += static_cast<size_t>(got);
    if (n == g_in.size()) break;
  }
  std::string_view text(reinterpret_cast<const char*>(g_in.data()), n);
  std::array<Header, 64> headers;
  auto req = ParseRequest(text, headers);
  if (req.incomplete()) return Fail(ParseError::kBadRequestLine, false);
  if (req.failed()) return Fail(req.error(), false);
  const Request& r = req.value();
  HttpResponseWriter http(g_out, 200, r.keep_alive);
  if (r.path == "/announce") {
    auto a = ParseAnnounceQuery(r.query);
    if (a.failed()) return Fail(a.error(), r.keep_alive);
    std::array<ResponsePeer, 1> peers = {
        ResponsePeer{IpAddress::V4({127, 0, 0, 2}), 6881, reef::PeerId()}};
    AnnounceResponse response;
    response.counts.interval = 1800;
    response.counts.complete = 1;
    response.counts.incomplete = 1;
    response.peers = peers;
    response.compact = a.value().compact.value_or(true);
    response.include_peer_id = !a.value().no_peer_id;
    return Emit(http.Finish(WriteAnnounceBody(response, http.body())));
  }
  if (r.path == "/scrape") {
    auto s = ParseScrapeQuery(r.query);
    if (s.failed()) return Fail(s.error(), r.keep_alive);
    std::array<reef::InfoHash, kDefaultMaxScrapeInfoHashes> hashes;
    size_t count = 0;
    for (const reef::InfoHash& h : s.value().info_hashes) hashes[count++] = h;
    count = SortUniqueInfoHashes(std::span<reef::InfoHash>(hashes.data(), count));
    ScrapeBodyWriter body(http.body());
    for (size_t i = 0; i < count; ++i) body.AddFile(hashes[i], {1, 2, 3});
    return Emit(http.Finish(body.Finish()));
  }
  return Emit(WriteFailureResponse("unknown path", r.keep_alive, g_out, 404));
}
