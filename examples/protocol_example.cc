// reef's protocol library used the way another program uses it: through its public
// headers only (protocol/README.md lists them). For each wire format it parses an announce
// from the bytes a real client sends, checks every field, writes the same announce back
// and checks the bytes are identical. It prints one line per check and exits 1 if any
// failed.
//
// One source for both ways of consuming the library (README.md, "Using the protocol
// library"): examples/bazel_consumer builds it as a Bazel workspace of its own, and
// scripts/install_protocol_library.sh's check compiles it against the installed
// libreef-protocol.a with pkg-config. reef's own `bazel test //...` runs it as
// //examples:protocol_example_test.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/handshake.h"
#include "protocol/ws/webtorrent.h"

namespace {

int failures = 0;

void Check(bool ok, std::string_view what) {
  std::printf("%s %.*s\n", ok ? "ok  " : "FAIL", static_cast<int>(what.size()), what.data());
  if (!ok) ++failures;
}

bool SameBytes(std::span<const uint8_t> written, std::span<const uint8_t> expected) {
  return std::equal(written.begin(), written.end(), expected.begin(), expected.end());
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// The torrent and the peer every message below is about.
constexpr reef::InfoHash kInfoHash(std::array<uint8_t, 20>{
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
    0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67});
constexpr std::string_view kPeerIdText = "-RF0100-abcdefghijkl";

// ---- UDP (BEP 15) ---------------------------------------------------------------------

// An announce request as the BEP 15 table lays it out, 98 bytes.
constexpr uint8_t kUdpAnnounce[] = {
    0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80,  // connection_id (from the connect)
    0x00, 0x00, 0x00, 0x01,                          // action: 1, announce
    0x12, 0x34, 0x56, 0x78,                          // transaction_id
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,  // info_hash
    0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
    '-', 'R', 'F', '0', '1', '0', '0', '-', 'a', 'b',  // peer_id
    'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l',
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // downloaded: 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // left: 1000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // uploaded: 0
    0x00, 0x00, 0x00, 0x02,                          // event: 2, started
    0x00, 0x00, 0x00, 0x00,                          // ip: 0, the sender's
    0xde, 0xad, 0xbe, 0xef,                          // key
    0x00, 0x00, 0x00, 0x32,                          // num_want: 50
    0x1a, 0xe1,                                      // port: 6881
};

void UdpAnnounce() {
  // The tracker's side: parse what the client sent.
  reef::udp::RequestResult parsed = reef::udp::ParseRequest(kUdpAnnounce);
  Check(parsed.ok(), "udp: the announce parses");
  if (!parsed.ok()) return;
  const auto* announce = std::get_if<reef::udp::AnnounceRequest>(&parsed.value());
  Check(announce != nullptr, "udp: it is an announce");
  if (announce == nullptr) return;
  Check(announce->connection_id == 0x0000041727101980 && announce->transaction_id == 0x12345678,
        "udp: connection and transaction ids");
  Check(announce->info_hash == kInfoHash, "udp: info_hash");
  Check(announce->peer_id == reef::PeerId::FromString(kPeerIdText), "udp: peer_id");
  Check(announce->downloaded == 0 && announce->left == 1000 && announce->uploaded == 0,
        "udp: downloaded, left, uploaded");
  Check(announce->event == reef::udp::AnnounceEvent::kStarted, "udp: event");
  Check(announce->key == 0xdeadbeef && announce->num_want == 50 && announce->port == 6881,
        "udp: key, num_want, port");

  // The client's side: write the same announce.
  std::array<uint8_t, reef::udp::kMaxRequestSize> datagram{};
  reef::WriteResult written = reef::udp::WriteAnnounceRequest(*announce, datagram);
  Check(written.ok() && SameBytes(std::span(datagram).first(written.length()), kUdpAnnounce),
        "udp: written back byte for byte");
}

// ---- HTTP (BEP 3, 23) -----------------------------------------------------------------

// An announce as an HTTP client sends it: info_hash and peer_id percent-encoded.
constexpr std::string_view kHttpAnnounce =
    "GET /announce?info_hash=%01%23Eg%89%AB%CD%EF%01%23Eg%89%AB%CD%EF%01%23Eg"
    "&peer_id=-RF0100-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=1000"
    "&event=started&compact=1&numwant=50 HTTP/1.1\r\n"
    "Host: tracker.example\r\n"
    "User-Agent: reef\r\n"
    "\r\n";

void HttpAnnounce() {
  // The tracker's side: the request head, then its query.
  std::array<reef::http::Header, 16> headers;
  auto head = reef::http::ParseRequest(kHttpAnnounce, headers);
  Check(head.ok() && head.consumed() == kHttpAnnounce.size(), "http: the request head parses");
  if (!head.ok()) return;
  Check(head.value().path == "/announce", "http: path");
  Check(head.value().FindHeader("host") == "tracker.example", "http: Host header");
  auto query = reef::http::ParseAnnounceQuery(head.value().query);
  Check(query.ok(), "http: the announce query parses");
  if (!query.ok()) return;
  const reef::http::AnnounceRequest& announce = query.value();
  Check(announce.info_hash == kInfoHash, "http: info_hash (percent-decoded)");
  Check(announce.peer_id == reef::PeerId::FromString(kPeerIdText), "http: peer_id");
  Check(announce.port == 6881 && announce.uploaded == 0 && announce.downloaded == 0 &&
            announce.left == 1000u,
        "http: port, uploaded, downloaded, left");
  Check(announce.event == reef::http::Event::kStarted && announce.compact == true &&
            announce.numwant == 50u,
        "http: event, compact, numwant");

  // The client's side: write the same request.
  std::array<uint8_t, 1024> out{};
  reef::WriteResult written = reef::http::WriteAnnounceRequest(
      announce, {.path = "/announce", .host = "tracker.example", .user_agent = "reef"}, out);
  Check(written.ok() && SameBytes(std::span(out).first(written.length()), AsBytes(kHttpAnnounce)),
        "http: written back byte for byte");
}

// ---- WebTorrent (JSON in WebSocket text frames) ---------------------------------------

// An announce with one WebRTC offer, as npm bittorrent-tracker's client sends it. A binary
// string holds one code point per byte: JSON.stringify escapes those under 0x20 as
// \u00XX and writes those from 0x80 as two bytes of UTF-8 (0x89 is U+0089, C2 89).
constexpr std::string_view kWebTorrentAnnounce =
    R"({"action":"announce",)"
    "\"info_hash\":\"\\u0001#Eg\xc2\x89\xc2\xab\xc3\x8d\xc3\xaf"  // 01 23 45 67 89 ab cd ef
    "\\u0001#Eg\xc2\x89\xc2\xab\xc3\x8d\xc3\xaf\\u0001#Eg\","  // 01 23 45 67 89 ab cd ef 01 23 45 67
    R"("peer_id":"-RF0100-abcdefghijkl","event":"started","numwant":5,)"
    R"("uploaded":0,"downloaded":0,"left":1000,)"
    R"("offers":[{"offer":{"type":"offer","sdp":"v=0"},"offer_id":"offer0123456789abcde"}]})";

void WebTorrentAnnounce() {
  // The opening handshake: the accept value for RFC 6455's sample key (section 1.3).
  // (nullopt only if OpenSSL reports a failure.)
  std::optional<std::array<char, reef::ws::kAcceptSize>> accept =
      reef::ws::ComputeAccept("dGhlIHNhbXBsZSBub25jZQ==");
  Check(accept.has_value() &&
            std::string_view(accept->data(), accept->size()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "webtorrent: Sec-WebSocket-Accept (RFC 6455 1.3)");

  // The client's side: the message in a masked text frame, as a browser sends it.
  std::array<uint8_t, 1024> frame_bytes{};
  reef::WriteResult framed =
      reef::ws::WriteMaskedFrame(frame_bytes, reef::ws::Opcode::kText,
                                 AsBytes(kWebTorrentAnnounce), {0x37, 0xfa, 0x21, 0x3d});
  Check(framed.ok(), "webtorrent: the text frame is written");
  if (!framed.ok()) return;

  // The tracker's side: the frame (unmasked in place), then the JSON message.
  auto frame = reef::ws::ParseFrame(std::span(frame_bytes).first(framed.length()),
                                    reef::ws::Role::kServer);
  Check(frame.ok() && frame.value().header.opcode == reef::ws::Opcode::kText,
        "webtorrent: the frame parses");
  if (!frame.ok()) return;
  std::span<const uint8_t> payload = frame.value().payload;
  std::string_view json(reinterpret_cast<const char*>(payload.data()), payload.size());
  Check(json == kWebTorrentAnnounce, "webtorrent: the payload unmasks to the message");

  auto message = reef::ws::ParseClientMessage(json);
  Check(message.ok(), "webtorrent: the announce parses");
  if (!message.ok()) return;
  const auto* announce = std::get_if<reef::ws::AnnounceRequest>(&message.value());
  Check(announce != nullptr, "webtorrent: it is an announce");
  if (announce == nullptr) return;
  Check(announce->info_hash == kInfoHash, "webtorrent: info_hash (binary string)");
  Check(announce->peer_id == reef::PeerId::FromString(kPeerIdText), "webtorrent: peer_id");
  Check(announce->event == reef::ws::AnnounceEvent::kStarted && announce->numwant == 5u &&
            announce->left == 1000u,
        "webtorrent: event, numwant, left");
  Check(announce->offers().size() == 1 &&
            announce->offers()[0].offer == R"({"type":"offer","sdp":"v=0"})" &&
            announce->offers()[0].offer_id == reef::ws::OfferId::FromString("offer0123456789abcde"),
        "webtorrent: the offer, kept as a view of the JSON");

  // The client's side again: write the same message.
  std::array<uint8_t, 1024> out{};
  reef::WriteResult written = reef::ws::WriteMessage(out, *announce);
  Check(written.ok() &&
            SameBytes(std::span(out).first(written.length()), AsBytes(kWebTorrentAnnounce)),
        "webtorrent: written back byte for byte");
}

}  // namespace

int main() {
  UdpAnnounce();
  HttpAnnounce();
  WebTorrentAnnounce();
  if (failures > 0) {
    std::printf("%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
