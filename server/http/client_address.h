// Which address an HTTP request comes from: the TCP peer's, or, behind a reverse proxy the
// operator trusts, the address the proxy's header names.
//
// Off by default (no header configured): every header is ignored and the TCP peer is the
// client, so nobody can claim another address by sending X-Forwarded-For. When a header
// is configured it is read only on connections from a trusted proxy (an address in one of
// the configured prefixes); from anywhere else it is ignored, as if off.
//
// Reading the header:
//   - X-Forwarded-For (any header whose name ends in "forwarded-for"): a comma-separated
//     list that each proxy appends to. The client is the rightmost address that is not
//     itself a trusted proxy (addresses further left were written by the client or by
//     proxies nobody vouches for); if all of them are trusted proxies, the leftmost.
//   - any other header (X-Real-IP, CF-Connecting-IP, ...): exactly one address.
//   An address may carry a port ("1.2.3.4:5678", "[2001:db8::1]:80"), which is dropped,
//   and an IPv4-mapped IPv6 address is read as the IPv4 address it carries.
// A request from a trusted proxy whose header is missing, repeated or not an address is
// refused with a reason (kProxyHeader*): reef never guesses, and never records the
// proxy's own address as a peer.
#ifndef REEF_SERVER_HTTP_CLIENT_ADDRESS_H_
#define REEF_SERVER_HTTP_CLIENT_ADDRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"

namespace reef::http_server {

// An address prefix: "10.0.0.0/8", "2001:db8::/32", or one address ("127.0.0.1", "::1").
struct AddressPrefix {
  http::IpAddress address;
  int length = 0;  // bits

  // InvalidArgument naming what is wrong.
  static absl::StatusOr<AddressPrefix> Parse(std::string_view text);
  bool Contains(const http::IpAddress& candidate) const;
  std::string ToString() const;
  friend bool operator==(const AddressPrefix&, const AddressPrefix&) = default;
};

struct ProxyPolicy {
  std::string header;                  // empty: off
  std::vector<AddressPrefix> trusted;  // who may set it

  bool enabled() const { return !header.empty(); }
  bool Trusts(const http::IpAddress& peer) const;
};

// Failure reasons, sent to the client as the bencoded failure reason.
inline constexpr std::string_view kProxyHeaderMissing =
    "the reverse proxy did not say which address the request comes from";
inline constexpr std::string_view kProxyHeaderInvalid =
    "the reverse proxy's client address header is not an IP address";

// The client's address, or a failure reason (one of the kProxyHeader* above).
std::variant<http::IpAddress, std::string_view> ResolveClientAddress(
    const http::IpAddress& peer, const http::Request& request, const ProxyPolicy& policy);

// One address as a header writes it: "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
// "[2001:db8::1]", "[2001:db8::1]:80"; spaces around it ignored; IPv4-mapped IPv6 read as
// IPv4. nullopt for anything else.
std::optional<http::IpAddress> ParseHeaderAddress(std::string_view text);

}  // namespace reef::http_server

#endif  // REEF_SERVER_HTTP_CLIENT_ADDRESS_H_
