// Micro-benchmarks of the WebTorrent hot path: parsing an announce with 10 offers (SDP as
// browsers send it) and writing one forwarded offer; the frame layer around them; and
// the opening handshake's 101 response (SHA-1 and base64 of the key).
// Run by hand: bazel run --config=opt //protocol/ws:webtorrent_benchmark
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/ws/frame.h"
#include "protocol/ws/handshake.h"
#include "protocol/ws/json.h"
#include "protocol/ws/webtorrent.h"

namespace reef::ws {
namespace {

// A Chrome-like data-channel offer (about 600 bytes of SDP, as JSON.stringify writes it).
std::string Sdp(int i) {
  return "v=0\\r\\no=- 46117314004300" + std::to_string(1000 + i) +
         " 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\n"
         "a=extmap-allow-mixed\\r\\na=msid-semantic: WMS\\r\\nm=application 9 UDP/DTLS/SCTP "
         "webrtc-datachannel\\r\\nc=IN IP4 0.0.0.0\\r\\na=candidate:1467250027 1 udp 2113937151 "
         "c0a8011e-5e3e-4f42-9d4f-1b7a3c0e" + std::to_string(1000 + i) +
         ".local 54321 typ host generation 0 network-cost 999\\r\\na=ice-ufrag:Xb8/\\r\\n"
         "a=ice-pwd:E7nNaKq0pQ3Qw2TtS+eFq9Jv\\r\\na=ice-options:trickle\\r\\n"
         "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CB:A0:7B:2C:6E:4A:0B:1F:63:"
         "55:E6:9E:32:1B:D4:37:F6:72:5C:7D\\r\\na=setup:actpass\\r\\na=mid:0\\r\\n"
         "a=sctp-port:5000\\r\\na=max-message-size:262144\\r\\n";
}

std::string AnnounceWithOffers(int n) {
  std::string s =
      R"({"numwant":10,"uploaded":0,"downloaded":0,"left":12345678,"event":"started",)"
      R"("action":"announce","info_hash":"\u0000\u0001\u001f \"A\\~)"
      "\x7f\xc2\x80\xc2\xa0\xc3\x83\xc3\xa9\xc3\xb0\xc3\xbf"
      R"(\n\r\t\b\\","peer_id":"-WW0208-\u0001\u0002\u0003\u0004\u0005)"
      "\xc3\xa9\xc3\xbf"
      R"(\"\\\nxy","offers":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ",";
    s += R"({"offer":{"type":"offer","sdp":")" + Sdp(i) +
         R"("},"offer_id":")" "\xc2\x9a\\u0013" "abcdefghijklmnop" "\xc3\xbf" + std::to_string(i % 10) + R"("})";
  }
  return s + "]}";
}

void BM_ParseAnnounce10Offers(benchmark::State& state) {
  const std::string json = AnnounceWithOffers(10);
  for (auto _ : state) {
    auto r = ParseClientMessage(json);
    benchmark::DoNotOptimize(r);
    if (!r.ok()) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
  state.counters["message_bytes"] = static_cast<double>(json.size());
}
BENCHMARK(BM_ParseAnnounce10Offers);

void BM_WriteForwardedOffer(benchmark::State& state) {
  const std::string json = AnnounceWithOffers(10);
  auto r = ParseClientMessage(json);
  if (!r.ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  const auto& a = std::get<AnnounceRequest>(r.value());
  const OfferMessage offer{a.info_hash, a.peer_id, a.offers()[3].offer_id, a.offers()[3].offer};
  std::array<uint8_t, 4096> out;
  size_t written = 0;
  for (auto _ : state) {
    auto w = WriteMessage(out, offer);
    benchmark::DoNotOptimize(out.data());
    written = w.length();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(written));
  state.counters["message_bytes"] = static_cast<double>(written);
}
BENCHMARK(BM_WriteForwardedOffer);

// The whole server path for one announce: unmask the client's frame, parse the message,
// and write one forwarded offer inside a server frame.
void BM_FrameParseAndForward(benchmark::State& state) {
  const std::string json = AnnounceWithOffers(10);
  std::vector<uint8_t> wire(json.size() + kMaxFrameHeaderSize);
  const MaskKey mask = {0x37, 0xfa, 0x21, 0x3d};
  const auto w = WriteMaskedFrame(
      wire, Opcode::kText,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()), mask);
  wire.resize(w.length());
  std::vector<uint8_t> buffer(wire.size());
  std::array<uint8_t, 4096> out;
  if (!ParseClientMessage(json).ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  for (auto _ : state) {
    std::copy(wire.begin(), wire.end(), buffer.begin());  // ParseFrame unmasks in place
    auto f = ParseFrame(buffer, Role::kServer);
    const auto payload = f.value().payload;
    auto r = ParseClientMessage(
        std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
    const auto& a = std::get<AnnounceRequest>(r.value());
    const OfferMessage offer{a.info_hash, a.peer_id, a.offers()[0].offer_id, a.offers()[0].offer};
    auto m = WriteMessage(std::span<uint8_t>(out).subspan(4), offer);
    auto h = WriteFrameHeader(out, true, Opcode::kText, m.length());
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_FrameParseAndForward);

void BM_ValidateJsonAnnounce10Offers(benchmark::State& state) {
  const std::string json = AnnounceWithOffers(10);
  for (auto _ : state) {
    auto r = ValidateJson(json);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_ValidateJsonAnnounce10Offers);

void BM_WriteHandshakeResponse(benchmark::State& state) {
  std::array<uint8_t, 256> out;
  for (auto _ : state) {
    auto w = WriteHandshakeResponse(out, "dGhlIHNhbXBsZSBub25jZQ==");
    benchmark::DoNotOptimize(w);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_WriteHandshakeResponse);

}  // namespace
}  // namespace reef::ws
