// Error values shared by every parser and serializer in the protocol library.
//
// Each protocol has its own error enum (udp::ParseError, http::ParseError, ...) in the
// same shape as CodecError below: `enum class E : uint8_t { ..., kNumErrors }`, plus
// constexpr ErrorName(E) ("kTruncated") and ErrorReason(E) ("packet ended early"), found
// by argument-dependent lookup. A reason is short, lowercase and fit to send to a client
// as a failure reason. ParseResult (parse_result.h) carries one of them.
#ifndef REEF_PROTOCOL_COMMON_ERRORS_H_
#define REEF_PROTOCOL_COMMON_ERRORS_H_

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "protocol/common/require_cxx20.h"

namespace reef {

// One row of an error table: the enumerator's name and the human reason.
struct ErrorInfo {
  std::string_view name;
  std::string_view reason;
};

// What every protocol error enum provides.
template <typename E>
concept ProtocolError = std::is_enum_v<E> && requires(E e) {
  { E::kNumErrors };
  { ErrorName(e) } -> std::same_as<std::string_view>;
  { ErrorReason(e) } -> std::same_as<std::string_view>;
};

// Looks `e` up in a table with one row per enumerator, in declaration order. The table
// size is checked against kNumErrors where it is declared (see CodecError below).
template <typename E, size_t N>
constexpr const ErrorInfo& LookUpError(const std::array<ErrorInfo, N>& table, E e) {
  static_assert(N == static_cast<size_t>(E::kNumErrors), "one row per error");
  size_t index = static_cast<size_t>(e);
  return index < N ? table[index] : table[N - 1];
}

// Errors of the byte-level pieces: the reader, the writer, hex.
enum class CodecError : uint8_t {
  kTruncated,     // the input ended before the value did
  kNoRoom,        // the output buffer is too small
  kBadHex,        // not an even number of hex digits
  kWrongLength,   // a fixed-size value got another number of bytes
  kTrailingBytes, // bytes left after a complete value where none may follow
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(CodecError::kNumErrors)>
    kCodecErrors = {{
        {"kTruncated", "input ended early"},
        {"kNoRoom", "output buffer too small"},
        {"kBadHex", "not a hex string"},
        {"kWrongLength", "wrong length"},
        {"kTrailingBytes", "unexpected trailing bytes"},
    }};

constexpr std::string_view ErrorName(CodecError e) { return LookUpError(kCodecErrors, e).name; }
constexpr std::string_view ErrorReason(CodecError e) {
  return LookUpError(kCodecErrors, e).reason;
}

static_assert(ProtocolError<CodecError>);

// Why a serializer wrote nothing.
enum class WriteError : uint8_t {
  kBufferTooSmall,  // the caller's buffer cannot hold the message
  kInvalidValue,    // the message cannot be encoded (a field out of its wire range)
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(WriteError::kNumErrors)>
    kWriteErrors = {{
        {"kBufferTooSmall", "output buffer too small"},
        {"kInvalidValue", "value cannot be encoded"},
    }};

constexpr std::string_view ErrorName(WriteError e) { return LookUpError(kWriteErrors, e).name; }
constexpr std::string_view ErrorReason(WriteError e) {
  return LookUpError(kWriteErrors, e).reason;
}

static_assert(ProtocolError<WriteError>);

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_ERRORS_H_
