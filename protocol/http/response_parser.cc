#include "protocol/http/response_parser.h"

#include <cstring>

#include "protocol/http/head_internal.h"

namespace reef::http {
namespace {

using namespace internal;

// Next(), turning "no token" into the reader's error.
std::optional<ParseError> Expect(BencodeReader& r, BencodeToken* t) {
  if (r.Next(t)) return std::nullopt;
  return r.error().value_or(ParseError::kBadResponse);
}

#define REEF_TRY(expr)                                    \
  do {                                                    \
    if (std::optional<ParseError> e_ = (expr)) return e_; \
  } while (false)

// For a key the caller does not know: skips its value.
std::optional<ParseError> SkipUnknown(BencodeReader& r, const BencodeToken& value) {
  if (r.SkipValue(value)) return std::nullopt;
  return r.error().value_or(ParseError::kBadResponse);
}

// After a kDictBegin, through the dict's end: for each entry, on_entry(key, value,
// value_start) gets the key, the first token of the value and where the value starts; it
// reads the rest of the value (SkipUnknown for keys it does not know) and returns an
// error to stop, or nullopt.
template <typename OnEntry>
std::optional<ParseError> ReadEntries(BencodeReader& r, OnEntry&& on_entry) {
  BencodeToken key;
  BencodeToken value;
  for (;;) {
    REEF_TRY(Expect(r, &key));
    if (key.type == BencodeType::kEnd) return std::nullopt;
    const size_t value_start = r.consumed();
    REEF_TRY(Expect(r, &value));
    REEF_TRY(on_entry(key.string, value, value_start));
  }
}

// A whole body that must be one bencoded dict and nothing after it: ReadEntries over it.
template <typename OnEntry>
std::optional<ParseError> ReadDict(BencodeReader& r, std::string_view body, OnEntry&& on_entry) {
  BencodeToken t;
  REEF_TRY(Expect(r, &t));
  if (t.type != BencodeType::kDictBegin) return ParseError::kBadResponse;
  REEF_TRY(ReadEntries(r, on_entry));
  if (r.consumed() != body.size()) return ParseError::kBencodeTrailingBytes;
  return std::nullopt;
}

// After the kDictBegin of a non-compact peer: reads through its end.
std::optional<ParseError> ReadPeerDict(BencodeReader& r, ParsedPeer* out) {
  bool have_ip = false;
  bool have_port = false;
  *out = ParsedPeer{};
  REEF_TRY(ReadEntries(r, [&](std::string_view key, const BencodeToken& value,
                              size_t) -> std::optional<ParseError> {
    if (key == "ip") {
      if (value.type != BencodeType::kString) return ParseError::kBadResponse;
      have_ip = true;
      out->ip_text = value.string;
      out->address = ParseIpAddress(value.string);
    } else if (key == "port") {
      if (value.type != BencodeType::kInteger || value.integer < 0 || value.integer > 65535) {
        return ParseError::kBadResponse;
      }
      have_port = true;
      out->port = static_cast<uint16_t>(value.integer);
    } else if (key == "peer id") {
      if (value.type != BencodeType::kString) return ParseError::kBadResponse;
      out->peer_id = PeerId::FromString(value.string);
      if (!out->peer_id) return ParseError::kBadResponse;
    } else {
      return SkipUnknown(r, value);
    }
    return std::nullopt;
  }));
  if (!have_ip || !have_port) return ParseError::kBadResponse;
  return std::nullopt;
}

// After the kDictBegin of one scrape file's stats: reads through its end.
std::optional<ParseError> ReadScrapeStats(BencodeReader& r, ScrapeStats* stats) {
  *stats = ScrapeStats{};
  return ReadEntries(r, [&](std::string_view key, const BencodeToken& value,
                            size_t) -> std::optional<ParseError> {
    int64_t* field = nullptr;
    if (key == "complete") field = &stats->complete;
    if (key == "downloaded") field = &stats->downloaded;
    if (key == "incomplete") field = &stats->incomplete;
    if (field == nullptr) return SkipUnknown(r, value);
    if (value.type != BencodeType::kInteger) return ParseError::kBadScrapeFile;
    *field = value.integer;
    return std::nullopt;
  });
}

std::optional<ParseError> ReadScrapeFile(BencodeReader& r, const BencodeToken& key,
                                         ScrapeFile* file) {
  std::optional<InfoHash> hash = InfoHash::FromString(key.string);
  if (!hash) return ParseError::kBadScrapeFile;
  file->info_hash = *hash;
  BencodeToken value;
  REEF_TRY(Expect(r, &value));
  if (value.type != BencodeType::kDictBegin) return ParseError::kBadScrapeFile;
  return ReadScrapeStats(r, &file->stats);
}

bool ParseStatusLine(std::string_view line, ResponseHead* head) {
  // "HTTP/1.x" SP 3DIGIT [SP reason]
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return false;
  if (line[7] != '0' && line[7] != '1') return false;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return false;
  std::string_view rest = line.substr(12);
  if (!rest.empty() && rest[0] != ' ') return false;
  if (!rest.empty()) rest.remove_prefix(1);
  for (char c : rest) {
    if (!IsValueChar(c)) return false;
  }
  head->version_minor = line[7] - '0';
  head->status = status;
  head->reason = rest;
  return true;
}

}  // namespace

std::optional<std::string_view> ResponseHead::FindHeader(std::string_view name) const {
  return FindHeaderIn(headers, name);
}

ParseResult<ResponseHead, ParseError> ParseResponseHead(std::string_view in,
                                                        std::span<Header> header_storage,
                                                        const RequestLimits& limits) {
  using Result = ParseResult<ResponseHead, ParseError>;
  const HeadWindow window(in, limits);
  const std::string_view head_bytes = window.bytes();
  ResponseHead head;
  size_t end = 0;
  size_t next = 0;
  switch (FindLine(head_bytes, 0, limits.max_request_line_bytes, &end, &next)) {
    case LineStatus::kIncomplete:
      return window.OutOfBytes<Result>();
    case LineStatus::kTooLong:
      return Result::Fail(ParseError::kBadStatusLine);
    case LineStatus::kFound:
      break;
  }
  if (!ParseStatusLine(head_bytes.substr(0, end), &head)) {
    return Result::Fail(ParseError::kBadStatusLine);
  }
  const auto block = ParseHeaderBlock(
      head_bytes, next, limits, header_storage,
      [&](const Header& header) -> std::optional<ParseError> {
        if (!EqualsIgnoreCase(header.name, "Content-Length")) return std::nullopt;
        if (header.value.empty() || header.value.size() > 19 || head.content_length) {
          return ParseError::kBadContentLength;
        }
        uint64_t n = 0;
        for (char c : header.value) {
          if (c < '0' || c > '9') return ParseError::kBadContentLength;
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        head.content_length = n;
        return std::nullopt;
      });
  if (block.incomplete()) return window.OutOfBytes<Result>();
  if (block.failed()) return Result::Fail(block.error());
  head.headers = block.value().headers;
  head.keep_alive = block.value().KeepAlive(head.version_minor);
  return Result::Ok(head, block.consumed());
}

ParseResult<AnnounceResponseView, ParseError> ParseAnnounceResponse(
    std::string_view body, const BencodeLimits& limits) {
  using Result = ParseResult<AnnounceResponseView, ParseError>;
  AnnounceResponseView view;
  BencodeReader r(body, limits);
  bool have_peers = false;
  const auto entry = [&](std::string_view k, BencodeToken t,
                         size_t value_start) -> std::optional<ParseError> {
    std::optional<int64_t>* integer = nullptr;
    std::optional<std::string_view>* text = nullptr;
    if (k == "interval") integer = &view.interval;
    if (k == "min interval") integer = &view.min_interval;
    if (k == "complete") integer = &view.complete;
    if (k == "incomplete") integer = &view.incomplete;
    if (k == "failure reason") text = &view.failure_reason;
    if (k == "warning message") text = &view.warning_message;
    if (k == "tracker id") text = &view.tracker_id;
    if (integer != nullptr) {
      if (t.type != BencodeType::kInteger) return ParseError::kBadResponse;
      *integer = t.integer;
    } else if (text != nullptr) {
      if (t.type != BencodeType::kString) return ParseError::kBadResponse;
      *text = t.string;
    } else if (k == "peers") {
      have_peers = true;
      view.peers = {};
      view.peer_list = {};
      view.peer_list_size = 0;
      if (t.type == BencodeType::kString) {
        if (t.string.size() % kCompactPeerBytes != 0) return ParseError::kBadPeers;
        view.peers = t.string;
      } else if (t.type == BencodeType::kListBegin) {
        for (;;) {
          REEF_TRY(Expect(r, &t));
          if (t.type == BencodeType::kEnd) break;
          if (t.type != BencodeType::kDictBegin) return ParseError::kBadResponse;
          ParsedPeer peer;
          REEF_TRY(ReadPeerDict(r, &peer));
          ++view.peer_list_size;
        }
        view.peer_list = body.substr(value_start, r.consumed() - value_start);
      } else {
        return ParseError::kBadResponse;
      }
    } else if (k == "peers6") {
      if (t.type != BencodeType::kString) return ParseError::kBadResponse;
      if (t.string.size() % kCompactPeer6Bytes != 0) return ParseError::kBadPeers;
      view.peers6 = t.string;
    } else {
      return SkipUnknown(r, t);
    }
    return std::nullopt;
  };
  if (std::optional<ParseError> e = ReadDict(r, body, entry)) return Result::Fail(*e);
  if (!view.failure_reason && (!have_peers || !view.interval)) {
    return Result::Fail(ParseError::kBadResponse);
  }
  return Result::Ok(view, body.size());
}

PeerCursor::PeerCursor(const AnnounceResponseView& view)
    : peers_(view.peers), peers6_(view.peers6), list_(view.peer_list) {}

bool PeerCursor::Next(ParsedPeer* peer) {
  auto take = [&](std::string_view* from, size_t address_bytes) {
    *peer = ParsedPeer{};
    const auto* b = reinterpret_cast<const uint8_t*>(from->data());
    IpAddress a;
    a.family = address_bytes == 4 ? IpAddress::Family::kV4 : IpAddress::Family::kV6;
    std::memcpy(a.bytes.data(), b, address_bytes);
    peer->address = a;
    peer->port = static_cast<uint16_t>((b[address_bytes] << 8) | b[address_bytes + 1]);
    from->remove_prefix(address_bytes + 2);
    return true;
  };
  if (peers_.size() >= kCompactPeerBytes) return take(&peers_, 4);
  if (peers6_.size() >= kCompactPeer6Bytes) return take(&peers6_, 16);
  BencodeToken t;
  if (!list_started_) {
    list_started_ = true;
    if (!list_.Next(&t) || t.type != BencodeType::kListBegin) return false;
  }
  if (!list_.Next(&t) || t.type != BencodeType::kDictBegin) return false;
  return !ReadPeerDict(list_, peer).has_value();
}

ParseResult<ScrapeResponseView, ParseError> ParseScrapeResponse(std::string_view body,
                                                                const BencodeLimits& limits) {
  using Result = ParseResult<ScrapeResponseView, ParseError>;
  ScrapeResponseView view;
  BencodeReader r(body, limits);
  bool have_files = false;
  const auto entry = [&](std::string_view k, BencodeToken t,
                         size_t value_start) -> std::optional<ParseError> {
    if (k == "failure reason") {
      if (t.type != BencodeType::kString) return ParseError::kBadResponse;
      view.failure_reason = t.string;
    } else if (k == "files") {
      if (t.type != BencodeType::kDictBegin) return ParseError::kBadResponse;
      have_files = true;
      view.file_count = 0;
      for (;;) {
        BencodeToken file_key;
        REEF_TRY(Expect(r, &file_key));
        if (file_key.type == BencodeType::kEnd) break;
        ScrapeFile file;
        REEF_TRY(ReadScrapeFile(r, file_key, &file));
        ++view.file_count;
      }
      view.files = body.substr(value_start, r.consumed() - value_start);
    } else {
      return SkipUnknown(r, t);
    }
    return std::nullopt;
  };
  if (std::optional<ParseError> e = ReadDict(r, body, entry)) return Result::Fail(*e);
  if (!view.failure_reason && !have_files) return Result::Fail(ParseError::kBadResponse);
  return Result::Ok(view, body.size());
}

ScrapeFileCursor::ScrapeFileCursor(const ScrapeResponseView& view) : reader_(view.files) {}

bool ScrapeFileCursor::Next(ScrapeFile* file) {
  BencodeToken t;
  if (!started_) {
    started_ = true;
    if (!reader_.Next(&t) || t.type != BencodeType::kDictBegin) return false;
  }
  if (!reader_.Next(&t) || t.type != BencodeType::kString) return false;
  return !ReadScrapeFile(reader_, t, file).has_value();
}

}  // namespace reef::http
