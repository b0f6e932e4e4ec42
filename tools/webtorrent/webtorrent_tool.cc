// webtorrent_tool: protocol/ws as a line-oriented filter, so a Node script can put reef's
// handshake, frame and message code between npm bittorrent-tracker's real clients
// (tools/webtorrent/compat_test.mjs). Test tooling, not part of the server.
//
// One command a line on stdin, one or more answer lines on stdout. Byte strings are hex.
//   upgrade HEX                   -> "101 CONSUMED HEX(response)" | "incomplete"
//                                    | "STATUS 0 HEX(refusal)"
//   client-frames HEX             -> one line per complete message or control frame, then
//                                    "end CONSUMED":
//                                    "message HEX(summary json) HEX(payload) HEX(rewritten)"
//                                    "invalid REASON HEX(payload)" (a message we refuse)
//                                    "ping" | "pong" | "close CODE"
//                                    "fail REASON" (a frame error: close the connection)
//   announce-response IH C I INTERVAL           -> "frame HEX"
//   offer IH PEER OFFER_ID HEX(offer json)      -> "frame HEX"
//   answer IH PEER OFFER_ID HEX(answer json)    -> "frame HEX"
//   scrape-response MIN_INTERVAL IH:C:I:D ...   -> "frame HEX"
//   error HEX(reason) [announce|scrape IH]      -> "frame HEX"
//   close CODE HEX(reason)                      -> "frame HEX"
// Every "frame" is an unmasked server frame holding our serialization. Errors in the
// command itself print "usage ..." and exit 2.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/hex.h"
#include "protocol/http/request.h"
#include "protocol/ws/frame.h"
#include "protocol/ws/handshake.h"
#include "protocol/ws/webtorrent.h"

namespace {

using reef::InfoHash;
using reef::PeerId;
namespace ws = reef::ws;

[[noreturn]] void Usage(const std::string& why) {
  std::cout << "usage " << why << std::endl;
  std::exit(2);
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  if (!reef::HexDecode(hex, out)) Usage("bad hex");
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2, '\0');
  reef::HexEncode(bytes, out);
  return out;
}

std::string ToHex(std::string_view s) {
  return ToHex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

template <size_t N>
std::string Hex(const reef::FixedBytes<N>& b) {
  auto h = b.ToHex();
  return std::string(h.data(), h.size());
}

reef::FixedBytes<20> Id(const std::string& hex) {
  auto v = reef::FixedBytes<20>::FromHex(hex);
  if (!v) Usage("an id must be 40 hex digits");
  return *v;
}

uint64_t Number(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

// Wraps our JSON in a server text frame and prints it.
template <typename Message>
void PrintFrame(const Message& m) {
  std::vector<uint8_t> json(256 * 1024);
  auto w = ws::WriteMessage(json, m);
  if (!w.ok()) Usage("message not writable: " + std::string(ErrorReason(w.error())));
  std::vector<uint8_t> frame(json.size() + ws::kMaxFrameHeaderSize);
  auto f = ws::WriteFrame(frame, ws::Opcode::kText,
                          std::span<const uint8_t>(json.data(), w.length()));
  if (!f.ok()) Usage("frame not writable");
  std::cout << "frame " << ToHex(std::span<const uint8_t>(frame.data(), f.length())) << "\n";
}

// A one-line JSON summary of a client message, ids in hex, SDP objects as they came.
std::string Summary(const ws::ClientMessage& m) {
  std::ostringstream s;
  if (const auto* a = std::get_if<ws::AnnounceRequest>(&m)) {
    s << "{\"action\":\"announce\",\"info_hash\":\"" << Hex(a->info_hash) << "\",\"peer_id\":\""
      << Hex(a->peer_id) << "\",\"event\":\"" << ws::EventName(a->event) << "\"";
    if (a->numwant) s << ",\"numwant\":" << *a->numwant;
    if (a->uploaded) s << ",\"uploaded\":" << *a->uploaded;
    if (a->downloaded) s << ",\"downloaded\":" << *a->downloaded;
    if (a->left) s << ",\"left\":" << *a->left;
    if (a->has_offers) {
      s << ",\"offers\":[";
      for (size_t i = 0; i < a->offers().size(); ++i) {
        s << (i ? "," : "") << "{\"offer_id\":\"" << Hex(a->offers()[i].offer_id)
          << "\",\"offer\":" << a->offers()[i].offer << "}";
      }
      s << "]";
    }
    if (a->to_peer_id) s << ",\"to_peer_id\":\"" << Hex(*a->to_peer_id) << "\"";
    if (a->offer_id) s << ",\"offer_id\":\"" << Hex(*a->offer_id) << "\"";
    if (!a->answer.empty()) s << ",\"answer\":" << a->answer;
    s << "}";
  } else {
    const auto& sc = std::get<ws::ScrapeRequest>(m);
    s << "{\"action\":\"scrape\",\"as_array\":" << (sc.as_array ? "true" : "false")
      << ",\"info_hash\":[";
    for (size_t i = 0; i < sc.info_hashes().size(); ++i) {
      s << (i ? "," : "") << "\"" << Hex(sc.info_hashes()[i]) << "\"";
    }
    s << "]}";
  }
  return s.str();
}

void ClientFrames(std::vector<uint8_t> bytes) {
  std::span<uint8_t> rest(bytes);
  size_t consumed = 0;
  // One message a frame is what every WebTorrent client sends; fragments are reassembled.
  static std::array<uint8_t, ws::kDefaultMaxPayload> storage;
  ws::MessageAssembler assembler(storage);
  while (!rest.empty()) {
    auto r = ws::ParseFrame(rest, ws::Role::kServer);
    if (r.incomplete()) break;
    if (r.failed()) {
      std::cout << "fail " << ErrorReason(r.error()) << "\n";
      break;
    }
    auto e = assembler.OnFrame(r.value());
    if (e.failed()) {
      std::cout << "fail " << ErrorReason(e.error()) << "\n";
      break;
    }
    // A fragmented message must arrive whole within one call.
    if (e.value().type == ws::EventType::kNone) break;
    consumed += r.consumed();
    rest = rest.subspan(r.consumed());
    const auto& event = e.value();
    switch (event.type) {
      case ws::EventType::kPing: std::cout << "ping\n"; break;
      case ws::EventType::kPong: std::cout << "pong\n"; break;
      case ws::EventType::kClose: std::cout << "close " << event.close.code << "\n"; break;
      default: {
        std::string_view text(reinterpret_cast<const char*>(event.payload.data()),
                              event.payload.size());
        auto m = ws::ParseClientMessage(text);
        if (!m.ok()) {
          std::string reason(ErrorReason(m.error()));
          for (char& c : reason) c = c == ' ' ? '_' : c;
          std::cout << "invalid " << reason << " " << ToHex(text) << "\n";
          break;
        }
        std::vector<uint8_t> rewritten(256 * 1024);
        auto w = ws::WriteMessage(rewritten, m.value());
        if (!w.ok()) Usage("cannot rewrite a parsed message");
        std::cout << "message " << ToHex(Summary(m.value())) << " " << ToHex(text) << " "
                  << ToHex(std::span<const uint8_t>(rewritten.data(), w.length())) << "\n";
      }
    }
  }
  std::cout << "end " << consumed << "\n";
}

void Upgrade(const std::vector<uint8_t>& bytes) {
  std::string_view in(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::array<reef::http::Header, 64> headers;
  auto r = ws::ParseUpgradeRequest(in, headers);
  std::array<uint8_t, 1024> out;
  if (r.incomplete()) {
    std::cout << "incomplete\n";
    return;
  }
  if (r.failed()) {
    auto w = ws::WriteHandshakeRefusal(out, r.error());
    std::cout << ws::RefusalStatus(r.error()) << " 0 "
              << ToHex(std::span<const uint8_t>(out.data(), w.length())) << "\n";
    return;
  }
  auto w = ws::WriteHandshakeResponse(out, r.value().key);
  std::cout << "101 " << r.consumed() << " "
            << ToHex(std::span<const uint8_t>(out.data(), w.length())) << "\n";
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    std::vector<std::string> args;
    for (std::string a; in >> a;) args.push_back(a);
    auto need = [&](size_t n) {
      if (args.size() < n) Usage(command + " needs " + std::to_string(n) + " arguments");
    };
    if (command == "upgrade") {
      need(1);
      Upgrade(FromHex(args[0]));
    } else if (command == "client-frames") {
      need(1);
      ClientFrames(FromHex(args[0]));
    } else if (command == "announce-response") {
      need(4);
      PrintFrame(ws::AnnounceResponse{Id(args[0]), Number(args[1]), Number(args[2]),
                                      Number(args[3])});
    } else if (command == "offer" || command == "answer") {
      need(4);
      const auto sdp_bytes = FromHex(args[3]);
      const std::string_view sdp(reinterpret_cast<const char*>(sdp_bytes.data()), sdp_bytes.size());
      if (command == "offer") {
        PrintFrame(ws::OfferMessage{Id(args[0]), Id(args[1]), Id(args[2]), sdp});
      } else {
        PrintFrame(ws::AnswerMessage{Id(args[0]), Id(args[1]), Id(args[2]), sdp});
      }
    } else if (command == "scrape-response") {
      need(1);
      ws::ScrapeResponse s;
      s.min_request_interval = Number(args[0]);
      for (size_t i = 1; i < args.size(); ++i) {
        std::istringstream f(args[i]);
        std::string ih, c, n, d;
        std::getline(f, ih, ':');
        std::getline(f, c, ':');
        std::getline(f, n, ':');
        std::getline(f, d, ':');
        if (!s.Add(ws::ScrapeFile{Id(ih), Number(c), Number(n), Number(d)})) Usage("too many");
      }
      PrintFrame(s);
    } else if (command == "error") {
      need(1);
      ws::ErrorResponse e;
      const auto reason = FromHex(args[0]);
      if (!e.SetFailureReason(std::string_view(reinterpret_cast<const char*>(reason.data()),
                                               reason.size()))) {
        Usage("reason too long");
      }
      if (args.size() >= 3) {
        e.action = args[1] == "scrape" ? ws::Action::kScrape : ws::Action::kAnnounce;
        e.info_hash = Id(args[2]);
      }
      PrintFrame(e);
    } else if (command == "close") {
      need(2);
      const auto reason = FromHex(args[1]);
      std::array<uint8_t, 256> frame;
      auto f = ws::WriteCloseFrame(
          frame, static_cast<uint16_t>(Number(args[0])),
          std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size()));
      if (!f.ok()) Usage("bad close frame");
      std::cout << "frame " << ToHex(std::span<const uint8_t>(frame.data(), f.length())) << "\n";
    } else if (!command.empty()) {
      Usage("unknown command " + command);
    }
    std::cout.flush();
  }
  return 0;
}
