// Fuzzes the WebTorrent message parsers and writers (protocol/ws/webtorrent.h).
//
// Properties, not just "does not crash":
//  - a message either parses with consumed() == its size, or fails; a parsed message is
//    also valid JSON by ValidateJson (the message parser accepts no text the JSON
//    validator rejects);
//  - parse -> write -> parse gives the same message, and writing that again gives the same
//    bytes (the writer is a fixed point after one round);
//  - the same for server messages.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/ws/json.h"
#include "protocol/ws/webtorrent.h"

namespace {

template <typename Message, typename Parse>
void RoundTrip(std::string_view json, Parse parse) {
  auto r = parse(json);
  if (!r.ok()) return;
  FUZZ_CHECK(r.consumed() == json.size());
  FUZZ_CHECK(reef::ws::ValidateJson(json).ok());
  // A message is at most as long as its input, plus escapes: 6 bytes per input byte.
  static std::array<uint8_t, 6 * 64 * 1024 + 1024> first, second;
  auto w1 = reef::ws::WriteMessage(first, r.value());
  FUZZ_CHECK(w1.ok());
  std::string_view written(reinterpret_cast<const char*>(first.data()), w1.length());
  auto again = parse(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == r.value());
  auto w2 = reef::ws::WriteMessage(second, again.value());
  FUZZ_CHECK(w2.ok());
  FUZZ_CHECK(w2.length() == w1.length());
  FUZZ_CHECK(std::memcmp(first.data(), second.data(), w1.length()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  RoundTrip<reef::ws::ClientMessage>(json, reef::ws::ParseClientMessage);
  RoundTrip<reef::ws::ServerMessage>(json, reef::ws::ParseServerMessage);
  return 0;
}
