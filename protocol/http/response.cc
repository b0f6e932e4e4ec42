#include "protocol/http/response.h"

#include <algorithm>

namespace reef::http {

std::string_view StatusReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

HttpResponseWriter::HttpResponseWriter(std::span<uint8_t> out, int status, bool keep_alive,
                                       std::string_view content_type)
    : out_(out) {
  ByteWriter w(out);
  w.WriteString("HTTP/1.1 ");
  WriteUnsignedDecimal(w, static_cast<uint64_t>(std::clamp(status, 100, 999)));
  w.WriteU8(' ');
  w.WriteString(StatusReason(status));
  w.WriteString("\r\nContent-Type: ");
  w.WriteString(content_type);
  w.WriteString("\r\nConnection: ");
  w.WriteString(keep_alive ? "keep-alive" : "close");
  if (status == 405) w.WriteString("\r\nAllow: GET");
  w.WriteString("\r\nContent-Length:");
  length_field_ = w.written();
  for (size_t i = 0; i < kContentLengthWidth; ++i) w.WriteU8(' ');
  w.WriteString("\r\n\r\n");
  ok_ = w.ok();
  if (ok_) {
    head_length_ = w.written();
    body_ = out.subspan(head_length_);
  }
}

WriteResult HttpResponseWriter::Finish(WriteResult body_result) {
  if (!ok_) return WriteResult::Fail(WriteError::kBufferTooSmall);
  if (!body_result.ok()) return body_result;
  uint64_t length = body_result.length();
  if (length > body_.size()) return WriteResult::Fail(WriteError::kInvalidValue);
  if (DecimalDigits(length) > kContentLengthWidth) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  // Right-aligned digits; the spaces before them are optional whitespace.
  size_t at = length_field_ + kContentLengthWidth;
  do {
    out_[--at] = static_cast<uint8_t>('0' + length % 10);
    length /= 10;
  } while (length != 0);
  return WriteResult::Ok(head_length_ + body_result.length());
}

// ---- Announce --------------------------------------------------------------------------

AnnounceBodyWriter::AnnounceBodyWriter(std::span<uint8_t> out, const AnnounceCounts& counts)
    : w_(out), counts_(counts) {
  w_.BeginDict();
  w_.String("complete");
  w_.Int(counts.complete);
  w_.String("incomplete");
  w_.Int(counts.incomplete);
  w_.String("interval");
  w_.Int(counts.interval);
  if (counts.min_interval) {
    w_.String("min interval");
    w_.Int(*counts.min_interval);
  }
}

void AnnounceBodyWriter::BeginPeers(size_t count) {
  if (state_ != State::kCounts) {
    state_ = State::kInvalid;
    return;
  }
  w_.String("peers");
  w_.StringHeader(count * kCompactPeerBytes);
  remaining_ = count;
  state_ = State::kPeers;
}

void AnnounceBodyWriter::AddPeer(std::span<const uint8_t, 4> address, uint16_t port) {
  AddCompactPeer(State::kPeers, address, port);
}

void AnnounceBodyWriter::AddCompactPeer(State list, std::span<const uint8_t> address,
                                        uint16_t port) {
  if (state_ != list || remaining_ == 0) {
    state_ = State::kInvalid;
    return;
  }
  --remaining_;
  ByteWriter& b = w_.bytes();
  b.WriteBytes(address);
  b.WriteU16Be(port);
}

void AnnounceBodyWriter::BeginPeers6(size_t count) {
  if (state_ == State::kCounts) {
    w_.String("peers");
    w_.StringHeader(0);
  } else if (state_ != State::kPeers || remaining_ != 0) {
    state_ = State::kInvalid;
    return;
  }
  w_.String("peers6");
  w_.StringHeader(count * kCompactPeer6Bytes);
  remaining_ = count;
  state_ = State::kPeers6;
}

void AnnounceBodyWriter::AddPeer6(std::span<const uint8_t, 16> address, uint16_t port) {
  AddCompactPeer(State::kPeers6, address, port);
}

void AnnounceBodyWriter::BeginPeerList() {
  if (state_ != State::kCounts) {
    state_ = State::kInvalid;
    return;
  }
  w_.String("peers");
  w_.BeginList();
  state_ = State::kList;
}

void AnnounceBodyWriter::AddPeerDict(const IpAddress& address, uint16_t port,
                                     const PeerId* peer_id) {
  if (state_ != State::kList) {
    state_ = State::kInvalid;
    return;
  }
  std::array<char, 64> text;
  size_t n = FormatIpAddress(address, text);
  if (n == 0) {
    state_ = State::kInvalid;
    return;
  }
  w_.BeginDict();
  w_.String("ip");
  w_.String(std::string_view(text.data(), n));
  if (peer_id != nullptr) {
    w_.String("peer id");
    w_.Bytes(peer_id->bytes());
  }
  w_.String("port");
  w_.Int(port);
  w_.End();
}

void AnnounceBodyWriter::EndPeerList() {
  if (state_ != State::kList) {
    state_ = State::kInvalid;
    return;
  }
  w_.End();
  state_ = State::kAfterList;
}

WriteResult AnnounceBodyWriter::Finish() {
  switch (state_) {
    case State::kCounts:
      w_.String("peers");
      w_.StringHeader(0);
      break;
    case State::kPeers:
    case State::kPeers6:
      if (remaining_ != 0) return WriteResult::Fail(WriteError::kInvalidValue);
      break;
    case State::kAfterList:
      break;
    case State::kList:
    case State::kInvalid:
      return WriteResult::Fail(WriteError::kInvalidValue);
  }
  state_ = State::kInvalid;  // Finish once
  if (!counts_.tracker_id.empty()) {
    w_.String("tracker id");
    w_.String(counts_.tracker_id);
  }
  if (!counts_.warning_message.empty()) {
    w_.String("warning message");
    w_.String(counts_.warning_message);
  }
  w_.End();
  return w_.Result();
}

WriteResult WriteAnnounceBody(const AnnounceResponse& response, std::span<uint8_t> out) {
  AnnounceBodyWriter body(out, response.counts);
  if (response.compact) {
    size_t v4 = 0;
    for (const ResponsePeer& p : response.peers) v4 += p.address.family == IpAddress::Family::kV4;
    size_t v6 = response.peers.size() - v4;
    body.BeginPeers(v4);
    for (const ResponsePeer& p : response.peers) {
      if (p.address.family == IpAddress::Family::kV4) {
        body.AddPeer(std::span<const uint8_t, 16>(p.address.bytes).first<4>(), p.port);
      }
    }
    if (v6 > 0) {
      body.BeginPeers6(v6);
      for (const ResponsePeer& p : response.peers) {
        if (p.address.family == IpAddress::Family::kV6) {
          body.AddPeer6(std::span<const uint8_t, 16>(p.address.bytes), p.port);
        }
      }
    }
  } else {
    body.BeginPeerList();
    for (const ResponsePeer& p : response.peers) {
      body.AddPeerDict(p.address, p.port, response.include_peer_id ? &p.peer_id : nullptr);
    }
    body.EndPeerList();
  }
  return body.Finish();
}

// ---- Scrape ----------------------------------------------------------------------------

ScrapeBodyWriter::ScrapeBodyWriter(std::span<uint8_t> out) : w_(out) {
  w_.BeginDict();
  w_.String("files");
  w_.BeginDict();
}

void ScrapeBodyWriter::AddFile(const InfoHash& info_hash, const ScrapeStats& stats) {
  if (last_ && !(*last_ < info_hash)) in_order_ = false;
  last_ = info_hash;
  w_.Bytes(info_hash.bytes());
  w_.BeginDict();
  w_.String("complete");
  w_.Int(stats.complete);
  w_.String("downloaded");
  w_.Int(stats.downloaded);
  w_.String("incomplete");
  w_.Int(stats.incomplete);
  w_.End();
}

WriteResult ScrapeBodyWriter::Finish() {
  if (!in_order_) return WriteResult::Fail(WriteError::kInvalidValue);
  w_.End();
  w_.End();
  return w_.Result();
}

size_t SortUniqueInfoHashes(std::span<InfoHash> hashes) {
  std::sort(hashes.begin(), hashes.end());
  return static_cast<size_t>(std::unique(hashes.begin(), hashes.end()) - hashes.begin());
}

// ---- Failure ---------------------------------------------------------------------------

WriteResult WriteFailureBody(std::string_view reason, std::span<uint8_t> out) {
  BencodeWriter w(out);
  w.BeginDict();
  w.String("failure reason");
  w.String(reason);
  w.End();
  return w.Result();
}

WriteResult WriteFailureResponse(std::string_view reason, bool keep_alive,
                                 std::span<uint8_t> out, int status) {
  HttpResponseWriter http(out, status, keep_alive);
  return http.Finish(WriteFailureBody(reason, http.body()));
}

}  // namespace reef::http
