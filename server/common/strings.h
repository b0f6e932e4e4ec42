// absl::StrCat and absl::StrAppend for std::string_view too.
//
// Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so absl::string_view is
// its own type and absl::StrCat does not take a std::string_view. reef::StrCat converts
// each std::string_view argument and passes everything else through unchanged.
#ifndef REEF_SERVER_COMMON_STRINGS_H_
#define REEF_SERVER_COMMON_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace reef {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

namespace strings_internal {
inline absl::string_view Arg(std::string_view s) { return ToAbsl(s); }
template <typename T>
const T& Arg(const T& value) {
  return value;
}
}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(strings_internal::Arg(args)...);
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  absl::StrAppend(out, strings_internal::Arg(args)...);
}

}  // namespace reef

#endif  // REEF_SERVER_COMMON_STRINGS_H_
