// ParseResult and WriteResult: what parsers and serializers return.
//
// A parser says one of three things: here is a value and how many bytes it used (ok);
// the input is a valid beginning but more bytes are needed (incomplete); the input can
// never become valid (error, with the protocol's error enum). A value never doubles as
// an error. A serializer says how many bytes it wrote, or why it wrote nothing.
#ifndef REEF_PROTOCOL_COMMON_PARSE_RESULT_H_
#define REEF_PROTOCOL_COMMON_PARSE_RESULT_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "protocol/common/errors.h"

namespace reef {

enum class ParseStatus : uint8_t { kOk, kIncomplete, kError };

template <typename T, typename Error>
class [[nodiscard]] ParseResult {
 public:
  using value_type = T;
  using error_type = Error;

  static constexpr ParseResult Ok(T value, size_t consumed) {
    ParseResult r;
    r.SetOk(std::move(value), consumed);
    return r;
  }
  static constexpr ParseResult Incomplete() {
    ParseResult r;
    r.status_ = ParseStatus::kIncomplete;
    return r;
  }
  static constexpr ParseResult Fail(Error error) {
    ParseResult r;
    r.SetFailed(error);
    return r;
  }

  // A result whose value is built in place: `fill(T&)` writes it and returns nullopt, or
  // the error that fails the result. A large value is written once, not copied in twice.
  template <typename Fill>
  static constexpr ParseResult Build(size_t consumed, Fill&& fill) {
    ParseResult r;
    if (std::optional<Error> error = fill(r.SetOkInPlace(consumed))) r.SetFailed(*error);
    return r;
  }

  constexpr ParseStatus status() const { return status_; }
  constexpr bool ok() const { return status_ == ParseStatus::kOk; }
  constexpr bool incomplete() const { return status_ == ParseStatus::kIncomplete; }
  constexpr bool failed() const { return status_ == ParseStatus::kError; }

  // Bytes of input the value used; 0 unless ok().
  constexpr size_t consumed() const { return consumed_; }

  // The value; only meaningful when ok().
  constexpr const T& value() const& {
    assert(ok());
    return value_;
  }
  constexpr T& value() & {
    assert(ok());
    return value_;
  }

  // The error; only meaningful when failed().
  constexpr Error error() const {
    assert(failed());
    return error_;
  }

 protected:
  // For a result type that adds fields (udp::DatagramResult): it starts from an empty
  // result and fills it in place, so the value is not copied twice.
  constexpr ParseResult() = default;
  constexpr void SetOk(T value, size_t consumed) {
    status_ = ParseStatus::kOk;
    value_ = std::move(value);
    consumed_ = consumed;
  }
  // The same, for a value built in place: marks the result ok and returns its value for
  // the caller to fill, so a large message is written once instead of copied in.
  constexpr T& SetOkInPlace(size_t consumed) {
    status_ = ParseStatus::kOk;
    consumed_ = consumed;
    return value_;
  }
  constexpr void SetFailed(Error error) {
    status_ = ParseStatus::kError;
    consumed_ = 0;
    error_ = error;
  }

 private:
  // The one-byte fields last: a derived result's small fields go into the tail padding
  // after them, so udp::DatagramResult is no larger than when it stood alone.
  size_t consumed_ = 0;
  T value_{};
  ParseStatus status_ = ParseStatus::kError;
  Error error_{};
};

class [[nodiscard]] WriteResult {
 public:
  static constexpr WriteResult Ok(size_t length) { return WriteResult(length, {}, true); }
  static constexpr WriteResult Fail(WriteError error) { return WriteResult(0, error, false); }

  constexpr bool ok() const { return ok_; }
  // Bytes written; 0 unless ok().
  constexpr size_t length() const { return length_; }
  constexpr WriteError error() const {
    assert(!ok_);
    return error_;
  }

 private:
  constexpr WriteResult(size_t length, WriteError error, bool ok)
      : length_(length), error_(error), ok_(ok) {}

  size_t length_;
  WriteError error_;
  bool ok_;
};

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_PARSE_RESULT_H_
