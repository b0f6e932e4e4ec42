#include "protocol/http/query.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "protocol/common/byte_writer.h"
#include "protocol/common/hex.h"
#include "protocol/common/swar.h"
#include "protocol/http/bencode.h"

namespace reef::http {
namespace {

// HexDigitValue of every byte, one load each: an info_hash is mostly escapes.
constexpr std::array<int8_t, 256> kHexDigitValues = [] {
  std::array<int8_t, 256> table{};
  for (size_t i = 0; i < table.size(); ++i) {
    table[i] = static_cast<int8_t>(HexDigitValue(static_cast<char>(i)));
  }
  return table;
}();

constexpr int HexValue(char c) { return kHexDigitValues[static_cast<unsigned char>(c)]; }

// Calls emit(byte) for each decoded byte; false on a bad escape.
template <typename Emit>
bool DecodeEach(std::string_view encoded, Emit&& emit) {
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%') {
      if (encoded.size() - i < 3) return false;
      int high = HexValue(encoded[i + 1]);
      int low = HexValue(encoded[i + 2]);
      if (high < 0 || low < 0) return false;
      if (!emit(static_cast<uint8_t>((high << 4) | low))) return false;
      i += 2;
    } else if (c == '+') {
      if (!emit(uint8_t{' '})) return false;
    } else {
      if (!emit(static_cast<uint8_t>(c))) return false;
    }
  }
  return true;
}

// Which announce parameters were seen, to refuse repeats.
enum Seen : uint32_t {
  kSeenInfoHash = 1u << 0,
  kSeenPeerId = 1u << 1,
  kSeenPort = 1u << 2,
  kSeenUploaded = 1u << 3,
  kSeenDownloaded = 1u << 4,
  kSeenLeft = 1u << 5,
  kSeenEvent = 1u << 6,
  kSeenCompact = 1u << 7,
  kSeenNoPeerId = 1u << 8,
  kSeenNumwant = 1u << 9,
  kSeenKey = 1u << 10,
  kSeenTrackerId = 1u << 11,
  kSeenIp = 1u << 12,
  kSeenIpv4 = 1u << 13,
  kSeenIpv6 = 1u << 14,
};

// Longest key worth decoding: every known key is shorter.
constexpr size_t kMaxKnownKeyBytes = 16;

// Decodes a key into `buf`; an empty view for keys too long to be known ones.
bool DecodeKey(std::string_view raw, std::array<uint8_t, kMaxKnownKeyBytes>* buf,
               std::string_view* key) {
  // A loop, not find_first_of("%+"), which calls memchr once per byte of the key.
  if (std::none_of(raw.begin(), raw.end(), [](char c) { return c == '%' || c == '+'; })) {
    *key = raw;
    return true;
  }
  std::optional<size_t> len = PercentDecodedLength(raw);
  if (!len) return false;
  if (*len > buf->size()) {
    *key = {};
    return true;
  }
  size_t n = *PercentDecode(raw, *buf);
  *key = std::string_view(reinterpret_cast<const char*>(buf->data()), n);
  return true;
}

enum class NumberStatus { kOk, kNegative, kBad };

// Unsigned decimal, saturating at UINT64_MAX; "-digits" is kNegative.
NumberStatus ParseNumber(std::string_view value, uint64_t* out) {
  bool negative = false;
  if (!value.empty() && value[0] == '-') {
    negative = true;
    value.remove_prefix(1);
  }
  if (value.empty()) return NumberStatus::kBad;
  uint64_t n = 0;
  bool saturated = false;
  for (char c : value) {
    if (c < '0' || c > '9') return NumberStatus::kBad;
    auto digit = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) saturated = true;
    if (!saturated) n = n * 10 + digit;
  }
  if (negative) return NumberStatus::kNegative;
  *out = saturated ? std::numeric_limits<uint64_t>::max() : n;
  return NumberStatus::kOk;
}

// uploaded / downloaded / left: negative reads as 0.
bool ParseCounter(std::string_view value, uint64_t* out) {
  switch (ParseNumber(value, out)) {
    case NumberStatus::kOk:
      return true;
    case NumberStatus::kNegative:
      *out = 0;
      return true;
    case NumberStatus::kBad:
      return false;
  }
  return false;
}

bool ParseBool(std::string_view value, bool* out) {
  if (value == "1") {
    *out = true;
    return true;
  }
  if (value == "0") {
    *out = false;
    return true;
  }
  return false;
}

// A raw value that may be copied into a query as is: unreserved bytes and "%XX".
bool IsRawQueryValue(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool unreserved = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                      (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) continue;
    if (c != '%' || value.size() - i < 3 || HexDigitValue(value[i + 1]) < 0 ||
        HexDigitValue(value[i + 2]) < 0) {
      return false;
    }
    i += 2;
  }
  return true;
}

// Decodes an ip/ipv4/ipv6 value into a NUL-terminated buffer.
bool DecodeAddressText(std::string_view raw, std::array<char, kMaxAddressTextBytes + 1>* buf,
                       std::string_view* text) {
  std::array<uint8_t, kMaxAddressTextBytes> bytes;
  std::optional<size_t> n = PercentDecode(raw, bytes);
  if (!n) return false;
  std::memcpy(buf->data(), bytes.data(), *n);
  (*buf)[*n] = '\0';
  *text = std::string_view(buf->data(), *n);
  return true;
}

bool ParsePort(std::string_view text, uint16_t* port) {
  uint64_t n = 0;
  if (text.size() > 5 || ParseNumber(text, &n) != NumberStatus::kOk || n > 65535) return false;
  *port = static_cast<uint16_t>(n);
  return true;
}

// "a.b.c.d" or "a.b.c.d:port".
std::optional<IpEndpoint> ParseIpv4Endpoint(std::string_view text) {
  IpEndpoint ep;
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    uint16_t port = 0;
    if (!ParsePort(text.substr(colon + 1), &port)) return std::nullopt;
    ep.port = port;
    text = text.substr(0, colon);
  }
  std::optional<IpAddress> a = ParseIpAddress(text);
  if (!a || a->family != IpAddress::Family::kV4) return std::nullopt;
  ep.address = *a;
  return ep;
}

// "addr", "[addr]" or "[addr]:port".
std::optional<IpEndpoint> ParseIpv6Endpoint(std::string_view text) {
  IpEndpoint ep;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      uint16_t port = 0;
      if (after[0] != ':' || !ParsePort(after.substr(1), &port)) return std::nullopt;
      ep.port = port;
    }
    text = text.substr(1, close - 1);
  }
  std::optional<IpAddress> a = ParseIpAddress(text);
  if (!a || a->family != IpAddress::Family::kV6) return std::nullopt;
  ep.address = *a;
  return ep;
}

}  // namespace

// ---- Percent-decoding ------------------------------------------------------------------

std::optional<size_t> PercentDecode(std::string_view encoded, std::span<uint8_t> out) {
  size_t n = 0;
  bool ok = DecodeEach(encoded, [&](uint8_t b) {
    if (n == out.size()) return false;
    out[n++] = b;
    return true;
  });
  if (!ok) return std::nullopt;
  return n;
}

std::optional<size_t> PercentDecodedLength(std::string_view encoded) {
  size_t n = 0;
  if (!DecodeEach(encoded, [&](uint8_t) {
        ++n;
        return true;
      })) {
    return std::nullopt;
  }
  return n;
}

std::optional<ParseError> PercentDecodeExact(std::string_view encoded, std::span<uint8_t> out,
                                             ParseError wrong_length) {
  size_t n = 0;
  bool overflow = false;
  bool ok = DecodeEach(encoded, [&](uint8_t b) {
    if (n == out.size()) {
      overflow = true;  // keep scanning: a bad escape later still counts as one
      return true;
    }
    out[n++] = b;
    return true;
  });
  if (!ok) return ParseError::kBadPercentEncoding;
  if (overflow || n != out.size()) return wrong_length;
  return std::nullopt;
}

bool NextQueryParam(std::string_view* query, QueryParam* param) {
  while (!query->empty()) {
    const size_t amp = swar::FindByte(query->data(), query->size(), '&');
    std::string_view item = query->substr(0, amp);
    query->remove_prefix(amp == query->size() ? amp : amp + 1);
    if (item.empty()) continue;
    // Keys are short: a loop finds the '=' sooner than a call to memchr.
    size_t eq = 0;
    while (eq < item.size() && item[eq] != '=') ++eq;
    if (eq == item.size()) {
      *param = {item, {}};
    } else {
      *param = {item.substr(0, eq), item.substr(eq + 1)};
    }
    return true;
  }
  return false;
}

// ---- Addresses -------------------------------------------------------------------------

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest address text is 45 bytes.
  std::array<char, 64> buf;
  if (text.size() >= buf.size()) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::memcpy(buf.data(), text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, buf.data(), bytes.data()) == 1) {
    return IpAddress::V4({bytes[0], bytes[1], bytes[2], bytes[3]});
  }
  if (inet_pton(AF_INET6, buf.data(), bytes.data()) == 1) return IpAddress::V6(bytes);
  return std::nullopt;
}

size_t FormatIpAddress(const IpAddress& address, std::span<char> out) {
  std::array<char, INET6_ADDRSTRLEN> buf;
  int af = address.family == IpAddress::Family::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, address.bytes.data(), buf.data(), buf.size()) == nullptr) return 0;
  size_t n = std::strlen(buf.data());
  if (n > out.size()) return 0;
  std::memcpy(out.data(), buf.data(), n);
  return n;
}

// ---- Announce --------------------------------------------------------------------------

namespace {

// The announce parameters, found by length first: one or two compares per key instead of
// a chain of up to sixteen.
enum class AnnounceKey : uint8_t {
  kOther, kInfoHash, kPeerId, kPort, kUploaded, kDownloaded, kLeft, kEvent, kCompact,
  kNoPeerId, kNumwant, kKey, kTrackerId, kIp, kIpv4, kIpv6,
};

AnnounceKey ClassifyAnnounceKey(std::string_view key) {
  switch (key.size()) {
    case 2:
      if (key == "ip") return AnnounceKey::kIp;
      break;
    case 3:
      if (key == "key") return AnnounceKey::kKey;
      break;
    case 4:
      if (key == "port") return AnnounceKey::kPort;
      if (key == "left") return AnnounceKey::kLeft;
      if (key == "ipv4") return AnnounceKey::kIpv4;
      if (key == "ipv6") return AnnounceKey::kIpv6;
      break;
    case 5:
      if (key == "event") return AnnounceKey::kEvent;
      break;
    case 7:
      if (key == "peer_id") return AnnounceKey::kPeerId;
      if (key == "compact") return AnnounceKey::kCompact;
      if (key == "numwant") return AnnounceKey::kNumwant;
      break;
    case 8:
      if (key == "uploaded") return AnnounceKey::kUploaded;
      if (key == "num_want") return AnnounceKey::kNumwant;
      break;
    case 9:
      if (key == "info_hash") return AnnounceKey::kInfoHash;
      if (key == "trackerid") return AnnounceKey::kTrackerId;
      break;
    case 10:
      if (key == "downloaded") return AnnounceKey::kDownloaded;
      if (key == "no_peer_id") return AnnounceKey::kNoPeerId;
      break;
    default:
      break;
  }
  return AnnounceKey::kOther;
}

}  // namespace

std::string_view EventName(Event e) {
  switch (e) {
    case Event::kNone:
      return "";
    case Event::kStarted:
      return "started";
    case Event::kStopped:
      return "stopped";
    case Event::kCompleted:
      return "completed";
    case Event::kPaused:
      return "paused";
  }
  return "";
}

namespace {

// ParseAnnounceQuery's work, into the result's value: nullopt, or the error.
std::optional<ParseError> ReadAnnounceQuery(std::string_view query, const QueryLimits& limits,
                                            AnnounceRequest& req) {
  uint32_t seen = 0;
  size_t count = 0;
  std::string_view rest = query;
  QueryParam param;
  std::array<uint8_t, kMaxKnownKeyBytes> key_buf;
  std::array<char, kMaxAddressTextBytes + 1> text_buf;
  while (NextQueryParam(&rest, &param)) {
    if (++count > limits.max_parameters) return ParseError::kTooManyParameters;
    // Real clients send the known keys as they are: a raw key that is one needs no
    // decoding (no known key holds a '%' or a '+', so it decodes to itself).
    AnnounceKey k = ClassifyAnnounceKey(param.key);
    if (k == AnnounceKey::kOther) {
      std::string_view key;
      if (!DecodeKey(param.key, &key_buf, &key)) return ParseError::kBadPercentEncoding;
      k = ClassifyAnnounceKey(key);
    }
    const std::string_view value = param.value;
    // Marks `bit` seen; false if it was already.
    auto first_time = [&seen](uint32_t bit) {
      if (seen & bit) return false;
      seen |= bit;
      return true;
    };
    if (k == AnnounceKey::kInfoHash) {
      if (!first_time(kSeenInfoHash)) return ParseError::kRepeatedParameter;
      if (auto e = PercentDecodeFixed(value, &req.info_hash, ParseError::kBadInfoHash)) {
        return *e;
      }
    } else if (k == AnnounceKey::kPeerId) {
      if (!first_time(kSeenPeerId)) return ParseError::kRepeatedParameter;
      if (auto e = PercentDecodeFixed(value, &req.peer_id, ParseError::kBadPeerId)) {
        return *e;
      }
    } else if (k == AnnounceKey::kPort) {
      if (!first_time(kSeenPort)) return ParseError::kRepeatedParameter;
      if (!ParsePort(value, &req.port)) return ParseError::kBadPort;
    } else if (k == AnnounceKey::kUploaded) {
      if (!first_time(kSeenUploaded)) return ParseError::kRepeatedParameter;
      if (!ParseCounter(value, &req.uploaded)) return ParseError::kBadUploaded;
    } else if (k == AnnounceKey::kDownloaded) {
      if (!first_time(kSeenDownloaded)) return ParseError::kRepeatedParameter;
      if (!ParseCounter(value, &req.downloaded)) {
        return ParseError::kBadDownloaded;
      }
    } else if (k == AnnounceKey::kLeft) {
      if (!first_time(kSeenLeft)) return ParseError::kRepeatedParameter;
      uint64_t left = 0;
      if (!ParseCounter(value, &left)) return ParseError::kBadLeft;
      req.left = left;
    } else if (k == AnnounceKey::kEvent) {
      if (!first_time(kSeenEvent)) return ParseError::kRepeatedParameter;
      if (value.empty() || value == "empty") {
        req.event = Event::kNone;
      } else if (value == "started") {
        req.event = Event::kStarted;
      } else if (value == "stopped") {
        req.event = Event::kStopped;
      } else if (value == "completed") {
        req.event = Event::kCompleted;
      } else if (value == "paused") {
        req.event = Event::kPaused;
      } else {
        return ParseError::kBadEvent;
      }
    } else if (k == AnnounceKey::kCompact) {
      if (!first_time(kSeenCompact)) return ParseError::kRepeatedParameter;
      bool compact = false;
      if (!ParseBool(value, &compact)) return ParseError::kBadCompact;
      req.compact = compact;
    } else if (k == AnnounceKey::kNoPeerId) {
      if (!first_time(kSeenNoPeerId)) return ParseError::kRepeatedParameter;
      // A bare "no_peer_id" (no value) means yes.
      if (value.empty()) {
        req.no_peer_id = true;
      } else if (!ParseBool(value, &req.no_peer_id)) {
        return ParseError::kBadNoPeerId;
      }
    } else if (k == AnnounceKey::kNumwant) {
      if (!first_time(kSeenNumwant)) return ParseError::kRepeatedParameter;
      uint64_t n = 0;
      switch (ParseNumber(value, &n)) {
        case NumberStatus::kOk:
          req.numwant = static_cast<uint32_t>(
              std::min<uint64_t>(n, std::numeric_limits<uint32_t>::max()));
          break;
        case NumberStatus::kNegative:
          req.numwant = std::nullopt;
          break;
        case NumberStatus::kBad:
          return ParseError::kBadNumwant;
      }
    } else if (k == AnnounceKey::kKey) {
      if (!first_time(kSeenKey)) return ParseError::kRepeatedParameter;
      if (value.size() > limits.max_key_bytes) return ParseError::kBadKey;
      req.key = value;
    } else if (k == AnnounceKey::kTrackerId) {
      if (!first_time(kSeenTrackerId)) return ParseError::kRepeatedParameter;
      if (value.size() > limits.max_tracker_id_bytes) {
        return ParseError::kBadTrackerId;
      }
      req.tracker_id = value;
    } else if (k == AnnounceKey::kIp) {
      if (!first_time(kSeenIp)) return ParseError::kRepeatedParameter;
      std::string_view text;
      if (!DecodeAddressText(value, &text_buf, &text)) {
        // Undecodable, or longer than any address: a DNS name at best; not resolved.
        if (!PercentDecodedLength(value)) return ParseError::kBadPercentEncoding;
        continue;
      }
      std::optional<IpAddress> a = ParseIpAddress(text);
      if (a) {
        req.ip = a;
      } else if (text.find_first_not_of("0123456789.") == std::string_view::npos ||
                 text.find(':') != std::string_view::npos) {
        // Looks like an address literal but is not one.
        return ParseError::kBadIp;
      }
      // Otherwise a DNS name: left out.
    } else if (k == AnnounceKey::kIpv4) {
      if (!first_time(kSeenIpv4)) return ParseError::kRepeatedParameter;
      std::string_view text;
      if (!DecodeAddressText(value, &text_buf, &text)) return ParseError::kBadIpv4;
      req.ipv4 = ParseIpv4Endpoint(text);
      if (!req.ipv4) return ParseError::kBadIpv4;
    } else if (k == AnnounceKey::kIpv6) {
      if (!first_time(kSeenIpv6)) return ParseError::kRepeatedParameter;
      std::string_view text;
      if (!DecodeAddressText(value, &text_buf, &text)) return ParseError::kBadIpv6;
      req.ipv6 = ParseIpv6Endpoint(text);
      if (!req.ipv6) return ParseError::kBadIpv6;
    }
    // Anything else (supportcrypto, corrupt, redundant, azudp, ...) is ignored.
  }
  if (!(seen & kSeenInfoHash)) return ParseError::kMissingInfoHash;
  if (!(seen & kSeenPeerId)) return ParseError::kMissingPeerId;
  if (!(seen & kSeenPort)) return ParseError::kMissingPort;
  return std::nullopt;
}

}  // namespace

ParseResult<AnnounceRequest, ParseError> ParseAnnounceQuery(std::string_view query,
                                                            const QueryLimits& limits) {
  return ParseResult<AnnounceRequest, ParseError>::Build(
      query.size(), [&](AnnounceRequest& req) { return ReadAnnounceQuery(query, limits, req); });
}

// ---- Scrape ----------------------------------------------------------------------------

void InfoHashList::Iterator::Load() {
  QueryParam param;
  std::array<uint8_t, kMaxKnownKeyBytes> key_buf;
  while (NextQueryParam(&rest_, &param)) {
    std::string_view key;
    if (DecodeKey(param.key, &key_buf, &key) && key == "info_hash") {
      // Checked by ParseScrapeQuery: cannot fail.
      (void)PercentDecodeFixed(param.value, &current_, ParseError::kBadInfoHash);
      return;
    }
  }
}

ParseResult<ScrapeRequest, ParseError> ParseScrapeQuery(std::string_view query,
                                                        const QueryLimits& limits) {
  using Result = ParseResult<ScrapeRequest, ParseError>;
  size_t hashes = 0;
  size_t count = 0;
  std::string_view rest = query;
  QueryParam param;
  std::array<uint8_t, kMaxKnownKeyBytes> key_buf;
  while (NextQueryParam(&rest, &param)) {
    if (++count > limits.max_parameters) return Result::Fail(ParseError::kTooManyParameters);
    std::string_view key;
    if (!DecodeKey(param.key, &key_buf, &key)) {
      return Result::Fail(ParseError::kBadPercentEncoding);
    }
    if (key != "info_hash") continue;
    if (++hashes > limits.max_scrape_info_hashes) {
      return Result::Fail(ParseError::kTooManyInfoHashes);
    }
    InfoHash h;
    if (auto e = PercentDecodeFixed(param.value, &h, ParseError::kBadInfoHash)) {
      return Result::Fail(*e);
    }
  }
  if (hashes == 0) return Result::Fail(ParseError::kFullScrapeNotSupported);
  ScrapeRequest req;
  req.info_hashes = InfoHashList(query, hashes);
  return Result::Ok(req, query.size());
}

// ---- Writing ---------------------------------------------------------------------------

namespace {

bool WriteEncoded(ByteWriter& w, std::span<const uint8_t> bytes) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (uint8_t b : bytes) {
    bool unreserved = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') ||
                      (b >= 'A' && b <= 'Z') || b == '-' || b == '.' || b == '_' || b == '~';
    if (unreserved) {
      if (!w.WriteU8(b)) return false;
    } else {
      if (!w.WriteU8('%') || !w.WriteU8(static_cast<uint8_t>(kHex[b >> 4])) ||
          !w.WriteU8(static_cast<uint8_t>(kHex[b & 0xf]))) {
        return false;
      }
    }
  }
  return true;
}

bool WriteEncodedText(ByteWriter& w, std::string_view text) {
  return WriteEncoded(
      w, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]:80", percent-encoded.
bool WriteEndpoint(ByteWriter& w, const IpAddress& address, std::optional<uint16_t> port) {
  std::array<char, 64> text;
  size_t n = 0;
  bool v6 = address.family == IpAddress::Family::kV6;
  if (v6 && port) text[n++] = '[';
  size_t len = FormatIpAddress(address, std::span<char>(text).subspan(n));
  if (len == 0) return false;
  n += len;
  if (v6 && port) text[n++] = ']';
  if (!WriteEncodedText(w, std::string_view(text.data(), n))) return false;
  if (port) return w.WriteString("%3A") && WriteUnsignedDecimal(w, *port);
  return true;
}

void WriteParamName(ByteWriter& w, bool* first, std::string_view name) {
  if (!*first) w.WriteU8('&');
  *first = false;
  w.WriteString(name);
  w.WriteU8('=');
}

}  // namespace

WriteResult PercentEncode(std::span<const uint8_t> bytes, std::span<uint8_t> out) {
  ByteWriter w(out);
  WriteEncoded(w, bytes);
  return w.Result();
}

namespace {

bool WriteAnnounceParams(ByteWriter& w, const AnnounceRequest& r) {
  bool first = true;
  WriteParamName(w, &first, "info_hash");
  WriteEncoded(w, r.info_hash.bytes());
  WriteParamName(w, &first, "peer_id");
  WriteEncoded(w, r.peer_id.bytes());
  WriteParamName(w, &first, "port");
  WriteUnsignedDecimal(w, r.port);
  WriteParamName(w, &first, "uploaded");
  WriteUnsignedDecimal(w, r.uploaded);
  WriteParamName(w, &first, "downloaded");
  WriteUnsignedDecimal(w, r.downloaded);
  if (r.left) {
    WriteParamName(w, &first, "left");
    WriteUnsignedDecimal(w, *r.left);
  }
  if (r.event != Event::kNone) {
    WriteParamName(w, &first, "event");
    w.WriteString(EventName(r.event));
  }
  if (r.compact) {
    WriteParamName(w, &first, "compact");
    w.WriteU8(*r.compact ? '1' : '0');
  }
  if (r.no_peer_id) {
    WriteParamName(w, &first, "no_peer_id");
    w.WriteU8('1');
  }
  if (r.numwant) {
    WriteParamName(w, &first, "numwant");
    WriteUnsignedDecimal(w, *r.numwant);
  }
  if (!r.key.empty()) {
    WriteParamName(w, &first, "key");
    w.WriteString(r.key);
  }
  if (!r.tracker_id.empty()) {
    WriteParamName(w, &first, "trackerid");
    w.WriteString(r.tracker_id);
  }
  bool ok = true;
  if (r.ip) {
    WriteParamName(w, &first, "ip");
    ok = WriteEndpoint(w, *r.ip, std::nullopt) && ok;
  }
  if (r.ipv4) {
    WriteParamName(w, &first, "ipv4");
    ok = WriteEndpoint(w, r.ipv4->address, r.ipv4->port) && ok;
  }
  if (r.ipv6) {
    WriteParamName(w, &first, "ipv6");
    ok = WriteEndpoint(w, r.ipv6->address, r.ipv6->port) && ok;
  }
  return ok;
}

bool ValidForWriting(const AnnounceRequest& r) {
  return IsRawQueryValue(r.key) && IsRawQueryValue(r.tracker_id) &&
         (!r.ipv4 || r.ipv4->address.family == IpAddress::Family::kV4) &&
         (!r.ipv6 || r.ipv6->address.family == IpAddress::Family::kV6);
}

void WriteScrapeParams(ByteWriter& w, std::span<const InfoHash> hashes) {
  bool first = true;
  for (const InfoHash& h : hashes) {
    WriteParamName(w, &first, "info_hash");
    WriteEncoded(w, h.bytes());
  }
}

void WriteRequestLineStart(ByteWriter& w, const RequestOptions& options) {
  w.WriteString("GET ");
  w.WriteString(options.path);
  w.WriteU8('?');
}

void WriteRequestLineEnd(ByteWriter& w, const RequestOptions& options) {
  w.WriteString(" HTTP/1.1\r\nHost: ");
  w.WriteString(options.host);
  w.WriteString("\r\n");
  if (!options.user_agent.empty()) {
    w.WriteString("User-Agent: ");
    w.WriteString(options.user_agent);
    w.WriteString("\r\n");
  }
  if (!options.keep_alive) w.WriteString("Connection: close\r\n");
  w.WriteString("\r\n");
}

bool ValidOptions(const RequestOptions& o) {
  auto clean = [](std::string_view s) {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) return false;
    }
    return true;
  };
  return !o.path.empty() && o.path[0] == '/' &&
         o.path.find_first_of(" ?#") == std::string_view::npos && clean(o.path) &&
         clean(o.host) && clean(o.user_agent);
}

}  // namespace

WriteResult WriteAnnounceQuery(const AnnounceRequest& request, std::span<uint8_t> out) {
  if (!ValidForWriting(request)) return WriteResult::Fail(WriteError::kInvalidValue);
  ByteWriter w(out);
  if (!WriteAnnounceParams(w, request) && w.ok()) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  return w.Result();
}

WriteResult WriteScrapeQuery(std::span<const InfoHash> info_hashes, std::span<uint8_t> out) {
  if (info_hashes.empty()) return WriteResult::Fail(WriteError::kInvalidValue);
  ByteWriter w(out);
  WriteScrapeParams(w, info_hashes);
  return w.Result();
}

WriteResult WriteAnnounceRequest(const AnnounceRequest& request, const RequestOptions& options,
                                 std::span<uint8_t> out) {
  if (!ValidForWriting(request) || !ValidOptions(options)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  ByteWriter w(out);
  WriteRequestLineStart(w, options);
  if (!WriteAnnounceParams(w, request) && w.ok()) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  WriteRequestLineEnd(w, options);
  return w.Result();
}

WriteResult WriteScrapeRequest(std::span<const InfoHash> info_hashes,
                               const RequestOptions& options, std::span<uint8_t> out) {
  if (info_hashes.empty() || !ValidOptions(options)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  ByteWriter w(out);
  WriteRequestLineStart(w, options);
  WriteScrapeParams(w, info_hashes);
  WriteRequestLineEnd(w, options);
  return w.Result();
}

}  // namespace reef::http
