// The fast part of reading a JSON string: skipping the bytes that need no attention.
// Internal to protocol/ws (JsonReader::ScanString); a header so tests can hold the wide
// scans to the byte-by-byte one.
//
// SkipStringBody* start inside a string's body, at `pos`, and return the index of the first
// byte the caller must look at itself: a quote, a control character (U+0000-U+001F), a byte
// of 0x80 or above (UTF-8 to validate), or a backslash that does not begin a two-byte
// escape (\" \\ \/ \b \f \n \r \t), such as \u or a bad escape, or one that is the last
// byte. Two-byte escapes are skipped, escaped quote and backslash included, and *escapes is
// set to true when one was (it is never set to false). in.size() if the text ends first.
// They never read outside `in`.
//
// WebTorrent SDP offers are long strings with a "\r\n" escape every 20-40 bytes, so the
// wide scans skip those escapes without leaving the wide loop.
#ifndef REEF_PROTOCOL_WS_JSON_SCAN_H_
#define REEF_PROTOCOL_WS_JSON_SCAN_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/common/require_cxx20.h"

namespace reef::ws::internal {

// The bytes that may follow a backslash to make a two-byte escape.
inline constexpr std::array<bool, 256> kTwoByteEscapes = [] {
  std::array<bool, 256> table{};
  for (char c : {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'}) table[static_cast<uint8_t>(c)] = true;
  return table;
}();

// The reference: one byte at a time.
size_t SkipStringBodyBytewise(std::string_view in, size_t pos, bool* escapes);

// Eight bytes a step (SWAR), portable; the tail byte by byte.
size_t SkipStringBodySwar(std::string_view in, size_t pos, bool* escapes);

#if defined(__SSE2__)
inline constexpr bool kHaveSse2 = true;
// Sixteen bytes a step with SSE2 (every x86-64 has it); the tail byte by byte.
size_t SkipStringBodySse2(std::string_view in, size_t pos, bool* escapes);
#else
inline constexpr bool kHaveSse2 = false;
#endif

// The widest scan this build has.
inline size_t SkipStringBody(std::string_view in, size_t pos, bool* escapes) {
#if defined(__SSE2__)
  return SkipStringBodySse2(in, pos, escapes);
#else
  return SkipStringBodySwar(in, pos, escapes);
#endif
}

}  // namespace reef::ws::internal

#endif  // REEF_PROTOCOL_WS_JSON_SCAN_H_
