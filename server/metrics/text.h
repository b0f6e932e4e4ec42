// Text helpers shared by the metrics exposition and the statistics page.
#ifndef REEF_SERVER_METRICS_TEXT_H_
#define REEF_SERVER_METRICS_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace reef::metrics {

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if it does not start with one
// (or is empty).
size_t Utf8SequenceLength(std::string_view s);

// `text` with each byte that does not belong to a valid UTF-8 sequence replaced by
// U+FFFD, and each valid sequence passed to `escape_ascii` (single bytes) or copied.
template <typename EscapeAscii>
std::string MapUtf8(std::string_view text, EscapeAscii escape_ascii) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      text.remove_prefix(1);
    } else if (length == 1) {
      escape_ascii(text[0], out);
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, length));
      text.remove_prefix(length);
    }
  }
  return out;
}

// Valid UTF-8, unchanged otherwise.
inline std::string SanitizeUtf8(std::string_view text) {
  return MapUtf8(text, [](char c, std::string& out) { out += c; });
}

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_TEXT_H_
