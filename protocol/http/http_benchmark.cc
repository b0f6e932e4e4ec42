// Micro-benchmarks of the HTTP tracker hot path. Run by hand:
//   bazel run --config=opt //protocol/http:http_benchmark
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"

namespace reef::http {
namespace {

// python3-libtorrent 2.0.8's announce, as captured in testdata/captures.
constexpr std::string_view kAnnounce =
    "GET /announce?info_hash=%94%9cL%91%e0%c5%eb%e3_%9evAOb%80%3a%ff%9f%0e%1f"
    "&peer_id=-LT2080-ueSUaXwbLtx1&port=37401&uploaded=0&downloaded=0&left=0&corrupt=0"
    "&key=424E99DB&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1"
    "&redundant=0 HTTP/1.1\r\n"
    "Host: 127.0.0.1:44045\r\n"
    "User-Agent: libtorrent/2.0.8.0\r\n"
    "Accept-Encoding: gzip\r\n"
    "Connection: close\r\n"
    "\r\n";

void BM_ParseAnnounceRequest(benchmark::State& state) {
  std::array<Header, 32> headers;
  for (auto _ : state) {
    auto req = ParseRequest(kAnnounce, headers);
    auto query = ParseAnnounceQuery(req.value().query);
    benchmark::DoNotOptimize(query);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kAnnounce.size()));
}
BENCHMARK(BM_ParseAnnounceRequest);

// Peers as a store would hold them: address and port side by side.
struct StoredPeer {
  std::array<uint8_t, 4> address;
  uint16_t port;
};

void BM_WriteCompactResponse(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::array<StoredPeer, 200> store;
  for (size_t i = 0; i < store.size(); ++i) {
    store[i] = {{10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
                static_cast<uint16_t>(6881 + i)};
  }
  std::array<uint8_t, 4096> buf;
  AnnounceCounts counts;
  counts.interval = 1800;
  counts.min_interval = 900;
  counts.complete = 120;
  counts.incomplete = 80;
  for (auto _ : state) {
    HttpResponseWriter http(buf, 200, true);
    AnnounceBodyWriter body(http.body(), counts);
    body.BeginPeers(n);
    for (size_t i = 0; i < n; ++i) body.AddPeer(store[i].address, store[i].port);
    WriteResult total = http.Finish(body.Finish());
    benchmark::DoNotOptimize(total);
    benchmark::DoNotOptimize(buf.data());
  }
}
BENCHMARK(BM_WriteCompactResponse)->Arg(50)->Arg(200);

void BM_WriteAnnounceRequest(benchmark::State& state) {
  std::array<Header, 32> headers;
  AnnounceRequest announce =
      ParseAnnounceQuery(ParseRequest(kAnnounce, headers).value().query).value();
  std::array<uint8_t, 1024> buf;
  for (auto _ : state) {
    WriteResult w = WriteAnnounceRequest(announce, {}, buf);
    benchmark::DoNotOptimize(w);
    benchmark::DoNotOptimize(buf.data());
  }
}
BENCHMARK(BM_WriteAnnounceRequest);

}  // namespace
}  // namespace reef::http
