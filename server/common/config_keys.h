// The kinds of value a config key can hold: how each reads a config::Value, with its
// range, and writes it back as TOML. A section names one per key (config_section.h):
//
//   section.Key("socket_workers", &UdpConfig::socket_workers,
//               config::Int(1, kMaxSocketWorkers), "Threads that ...");
//
// A kind is any type with
//   using Type = <the field's type>;
//   std::optional<std::string> Read(const Value& value, Type& out) const;  // why not, or
//                                                  // nullopt and `out` set
//   std::string Render(const Type& value) const;   // TOML text that Read takes back
// so a section that needs a new kind writes one beside itself; the ones here are those
// more than one section uses. Read leaves `out` untouched when it refuses, and
// Read(Render(x)) == x for every x Read can produce: config_section_test checks both for
// every kind here.
#ifndef REEF_SERVER_COMMON_CONFIG_KEYS_H_
#define REEF_SERVER_COMMON_CONFIG_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/common/config_toml.h"
#include "server/common/socket_address.h"
#include "server/common/strings.h"

namespace reef::config {

// The longest interval any key takes: a week. Longer is a typo, not a plan.
inline constexpr int64_t kMaxIntervalSeconds = 7 * 24 * 3600;

// "expected <what>, got <the value's type>".
std::string Expected(std::string_view what, const Value& value);

// true / false.
class Bool {
 public:
  using Type = bool;
  std::optional<std::string> Read(const Value& value, bool& out) const;
  std::string Render(bool value) const;
};

// An integer from min to max. `why`, if given, says where the range comes from, in the
// message for a value outside it: "must be from 1 to 9 (<why>), got 10".
class Int {
 public:
  using Type = int;
  Int(int min, int max, std::string_view why = {}) : min_(min), max_(max), why_(why) {}
  std::optional<std::string> Read(const Value& value, int& out) const;
  std::string Render(int value) const;

 private:
  int min_;
  int max_;
  std::string_view why_;
};

// A duration, written as whole seconds, from min to max seconds.
class Seconds {
 public:
  using Type = absl::Duration;
  explicit Seconds(int64_t min, int64_t max = kMaxIntervalSeconds) : min_(min), max_(max) {}
  std::optional<std::string> Read(const Value& value, absl::Duration& out) const;
  std::string Render(absl::Duration value) const;

 private:
  int64_t min_;
  int64_t max_;
};

// Any string, or only those `check` passes (it returns why not).
class String {
 public:
  using Type = std::string;
  using Check = std::optional<std::string> (*)(const std::string&);
  explicit String(Check check = nullptr) : check_(check) {}
  std::optional<std::string> Read(const Value& value, std::string& out) const;
  std::string Render(const std::string& value) const;

 private:
  Check check_;
};

// A check for String: names (paths, users) cannot hold a NUL, which the system calls
// they go to would cut short.
std::optional<std::string> NoNul(const std::string& text);
// A check for String: no control characters (U+0000-U+001F, U+007F), for names that no
// system allows them in and that messages quote as they are (user and group names).
std::optional<std::string> NoControl(const std::string& text);

// One of a fixed set of names, each an enumerator:
//   config::Enum<LogLevel>({LogLevel::kDebug, ...}, &LogLevelName)
template <typename E>
class Enum {
 public:
  using Type = E;
  Enum(std::vector<E> values, std::string_view (*name)(E))
      : values_(std::move(values)), name_(name) {}

  std::optional<std::string> Read(const Value& value, E& out) const {
    if (value.type != ValueType::kString) return Expected(StrCat("one of ", Choices()), value);
    for (E candidate : values_) {
      if (name_(candidate) == value.string) {
        out = candidate;
        return std::nullopt;
      }
    }
    return StrCat("must be one of ", Choices(), ", got ", TomlString(value.string));
  }
  std::string Render(E value) const { return TomlString(name_(value)); }

 private:
  std::string Choices() const {
    std::string out;
    for (E candidate : values_) {
      StrAppend(&out, out.empty() ? "" : ", ", TomlString(name_(candidate)));
    }
    return out;
  }

  std::vector<E> values_;
  std::string_view (*name_)(E);
};

// An array of up to max_count distinct "IPV4:PORT" / "[IPV6]:PORT" strings.
class SocketAddressList {
 public:
  using Type = std::vector<SocketAddress>;
  explicit SocketAddressList(size_t max_count) : max_count_(max_count) {}
  std::optional<std::string> Read(const Value& value, std::vector<SocketAddress>& out) const;
  std::string Render(const std::vector<SocketAddress>& value) const;

 private:
  size_t max_count_;
};

// An array of up to max_count integers, each from min to max.
class IntList {
 public:
  using Type = std::vector<int>;
  IntList(int min, int max, size_t max_count) : min_(min), max_(max), max_count_(max_count) {}
  std::optional<std::string> Read(const Value& value, std::vector<int>& out) const;
  std::string Render(const std::vector<int>& value) const;

 private:
  int min_;
  int max_;
  size_t max_count_;
};

}  // namespace reef::config

#endif  // REEF_SERVER_COMMON_CONFIG_KEYS_H_
