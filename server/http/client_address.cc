#include "server/http/client_address.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "server/common/strings.h"

namespace reef::http_server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         http::EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

http::IpAddress Unmapped(const http::IpAddress& a) {
  if (a.family != http::IpAddress::Family::kV6) return a;
  for (size_t i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return a;
  }
  if (a.bytes[10] != 0xff || a.bytes[11] != 0xff) return a;
  return http::IpAddress::V4({a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]});
}

}  // namespace

absl::StatusOr<AddressPrefix> AddressPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  std::optional<http::IpAddress> address = http::ParseIpAddress(address_text);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(StrCat("\"", text, "\": not an IP address or prefix"));
  }
  const int max_length = address->family == http::IpAddress::Family::kV4 ? 32 : 128;
  int length = max_length;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    const auto [end, error] = std::from_chars(bits.data(), bits.data() + bits.size(), length);
    if (bits.empty() || error != std::errc() || end != bits.data() + bits.size() || length < 0 ||
        length > max_length) {
      return absl::InvalidArgumentError(
          StrCat("\"", text, "\": the prefix length must be 0 to ", max_length));
    }
  }
  // Bits past the prefix must be zero, so that "10.1.2.3/8" is not mistaken for a host.
  for (int bit = length; bit < max_length; ++bit) {
    if ((address->bytes[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return absl::InvalidArgumentError(
          StrCat("\"", text, "\": has bits set past the prefix length"));
    }
  }
  return AddressPrefix{*address, length};
}

bool AddressPrefix::Contains(const http::IpAddress& candidate) const {
  if (candidate.family != address.family) return false;
  const size_t full = static_cast<size_t>(length / 8);
  for (size_t i = 0; i < full; ++i) {
    if (candidate.bytes[i] != address.bytes[i]) return false;
  }
  const int rest = length % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (candidate.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string AddressPrefix::ToString() const {
  char text[64];
  const size_t n = http::FormatIpAddress(address, text);
  const int full = address.family == http::IpAddress::Family::kV4 ? 32 : 128;
  std::string out(text, n);
  if (length != full) absl::StrAppend(&out, "/", length);
  return out;
}

bool ProxyPolicy::Trusts(const http::IpAddress& peer) const {
  for (const AddressPrefix& prefix : trusted) {
    if (prefix.Contains(peer)) return true;
  }
  return false;
}

std::optional<http::IpAddress> ParseHeaderAddress(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && !(after.front() == ':' && AllDigits(after.substr(1)))) {
      return std::nullopt;
    }
    std::optional<http::IpAddress> a = http::ParseIpAddress(text.substr(1, close - 1));
    if (!a.has_value() || a->family != http::IpAddress::Family::kV6) return std::nullopt;
    return Unmapped(*a);
  }
  // "a.b.c.d:port": exactly one colon means IPv4 with a port.
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    if (!AllDigits(text.substr(colon + 1))) return std::nullopt;
    std::optional<http::IpAddress> a = http::ParseIpAddress(text.substr(0, colon));
    if (!a.has_value() || a->family != http::IpAddress::Family::kV4) return std::nullopt;
    return a;
  }
  std::optional<http::IpAddress> a = http::ParseIpAddress(text);
  if (!a.has_value()) return std::nullopt;
  return Unmapped(*a);
}

std::variant<http::IpAddress, std::string_view> ResolveClientAddress(
    const http::IpAddress& peer, const http::Request& request, const ProxyPolicy& policy) {
  if (!policy.enabled() || !policy.Trusts(peer)) return peer;
  std::optional<std::string_view> value;
  for (const http::Header& h : request.headers) {
    if (!http::EqualsIgnoreCase(h.name, policy.header)) continue;
    if (value.has_value()) return kProxyHeaderInvalid;  // two of them: which one counts?
    value = h.value;
  }
  if (!value.has_value() || Trim(*value).empty()) return kProxyHeaderMissing;
  if (!EndsWithIgnoreCase(policy.header, "forwarded-for")) {
    std::optional<http::IpAddress> a = ParseHeaderAddress(*value);
    if (!a.has_value()) return kProxyHeaderInvalid;
    return *a;
  }
  // Right to left: skip the trusted proxies, the first other address is the client.
  std::string_view list = *value;
  std::optional<http::IpAddress> leftmost;
  while (true) {
    const size_t comma = list.rfind(',');
    const std::string_view item = comma == std::string_view::npos ? list : list.substr(comma + 1);
    std::optional<http::IpAddress> a = ParseHeaderAddress(item);
    if (!a.has_value()) return kProxyHeaderInvalid;
    if (!policy.Trusts(*a)) return *a;
    leftmost = a;
    if (comma == std::string_view::npos) break;
    list = list.substr(0, comma);
  }
  return *leftmost;
}

}  // namespace reef::http_server
