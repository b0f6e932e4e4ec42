#include "server/common/config_keys.h"

#include <utility>

#include "absl/strings/str_join.h"

namespace reef::config {

std::string Expected(std::string_view what, const Value& value) {
  return StrCat("expected ", what, ", got ", TypeName(value.type));
}

std::optional<std::string> Bool::Read(const Value& value, bool& out) const {
  if (value.type != ValueType::kBool) return Expected("true or false", value);
  out = value.boolean;
  return std::nullopt;
}

std::string Bool::Render(bool value) const { return value ? "true" : "false"; }

std::optional<std::string> Int::Read(const Value& value, int& out) const {
  if (value.type != ValueType::kInteger) return Expected("an integer", value);
  if (value.integer < min_ || value.integer > max_) {
    return StrCat("must be from ", min_, " to ", max_, why_.empty() ? "" : " (", why_,
                  why_.empty() ? "" : ")", ", got ", value.integer);
  }
  out = static_cast<int>(value.integer);
  return std::nullopt;
}

std::string Int::Render(int value) const { return StrCat(value); }

std::optional<std::string> Seconds::Read(const Value& value, absl::Duration& out) const {
  if (value.type != ValueType::kInteger) return Expected("an integer (seconds)", value);
  if (value.integer < min_ || value.integer > max_) {
    return StrCat("must be from ", min_, " to ", max_, " seconds, got ", value.integer);
  }
  out = absl::Seconds(value.integer);
  return std::nullopt;
}

std::string Seconds::Render(absl::Duration value) const {
  return StrCat(absl::ToInt64Seconds(value));
}

std::optional<std::string> String::Read(const Value& value, std::string& out) const {
  if (value.type != ValueType::kString) return Expected("a string", value);
  if (check_ != nullptr) {
    if (std::optional<std::string> why = check_(value.string); why.has_value()) return why;
  }
  out = value.string;
  return std::nullopt;
}

std::string String::Render(const std::string& value) const { return TomlString(value); }

std::optional<std::string> NoNul(const std::string& text) {
  if (text.find('\0') != std::string::npos) return "must not contain NUL characters";
  return std::nullopt;
}

std::optional<std::string> NoControl(const std::string& text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return "must not contain control characters";
    }
  }
  return std::nullopt;
}

std::optional<std::string> SocketAddressList::Read(const Value& value,
                                                   std::vector<SocketAddress>& out) const {
  if (value.type != ValueType::kArray) {
    return Expected("an array of \"ADDRESS:PORT\" strings", value);
  }
  if (value.children.size() > max_count_) {
    return StrCat("must list at most ", max_count_, " addresses, got ", value.children.size());
  }
  std::vector<SocketAddress> addresses;
  for (const Value& element : value.children) {
    if (element.type != ValueType::kString) return Expected("\"ADDRESS:PORT\" strings", element);
    // SocketAddress::Parse quotes what it refuses as it is; control characters would break
    // a problem over lines or reach the terminal, so they are refused here, escaped.
    if (NoControl(element.string).has_value()) {
      return StrCat(TomlString(element.string), " is not an address");
    }
    absl::StatusOr<SocketAddress> address = SocketAddress::Parse(element.string);
    if (!address.ok()) return std::string(address.status().message());
    for (const SocketAddress& seen : addresses) {
      if (seen == *address) return StrCat(TomlString(element.string), " is listed twice");
    }
    addresses.push_back(*address);
  }
  out = std::move(addresses);
  return std::nullopt;
}

std::string SocketAddressList::Render(const std::vector<SocketAddress>& value) const {
  std::vector<std::string> items;
  for (const SocketAddress& address : value) items.push_back(TomlString(address.ToString()));
  return StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::optional<std::string> IntList::Read(const Value& value, std::vector<int>& out) const {
  if (value.type != ValueType::kArray) return Expected("an array of integers", value);
  if (value.children.size() > max_count_) {
    return StrCat("must list at most ", max_count_, " integers, got ", value.children.size());
  }
  std::vector<int> values;
  for (const Value& element : value.children) {
    if (element.type != ValueType::kInteger) {
      return Expected("integers in the array", element);
    }
    if (element.integer < min_ || element.integer > max_) {
      return StrCat("each must be from ", min_, " to ", max_, ", got ", element.integer);
    }
    values.push_back(static_cast<int>(element.integer));
  }
  out = std::move(values);
  return std::nullopt;
}

std::string IntList::Render(const std::vector<int>& value) const {
  return StrCat("[", absl::StrJoin(value, ", "), "]");
}

}  // namespace reef::config
