#include "protocol/udp/write.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "protocol/common/byte_writer.h"

namespace reef::udp {
namespace {

WriteResult Invalid() { return WriteResult::Fail(WriteError::kInvalidValue); }

void WriteRequestHeader(ByteWriter& w, uint64_t connection_id, Action action,
                        uint32_t transaction_id) {
  w.WriteU64Be(connection_id);
  w.WriteU32Be(static_cast<uint32_t>(action));
  w.WriteU32Be(transaction_id);
}

void WriteResponseHeader(ByteWriter& w, Action action, uint32_t transaction_id) {
  w.WriteU32Be(static_cast<uint32_t>(action));
  w.WriteU32Be(transaction_id);
}

}  // namespace

WriteResult WriteConnectRequest(const ConnectRequest& request, std::span<uint8_t> out) {
  ByteWriter w(out);
  WriteRequestHeader(w, kProtocolId, Action::kConnect, request.transaction_id);
  return w.Result();
}

WriteResult WriteAnnounceRequest(const AnnounceRequest& request, std::span<uint8_t> out) {
  if (static_cast<uint32_t>(request.event) > kMaxEventValue) return Invalid();
  ByteWriter w(out);
  WriteRequestHeader(w, request.connection_id, Action::kAnnounce, request.transaction_id);
  w.WriteFixed(request.info_hash);
  w.WriteFixed(request.peer_id);
  w.WriteI64Be(request.downloaded);
  w.WriteI64Be(request.left);
  w.WriteI64Be(request.uploaded);
  w.WriteU32Be(static_cast<uint32_t>(request.event));
  w.WriteBytes(request.ip);
  w.WriteU32Be(request.key);
  w.WriteI32Be(request.num_want);
  w.WriteU16Be(request.port);
  return w.Result();
}

WriteResult WriteScrapeRequest(const ScrapeRequest& request, std::span<uint8_t> out) {
  const size_t n = request.info_hashes.size();
  if (n == 0 || n > kMaxScrapeHashes) return Invalid();
  ByteWriter w(out);
  WriteRequestHeader(w, request.connection_id, Action::kScrape, request.transaction_id);
  w.WriteBytes(request.info_hashes.bytes());
  return w.Result();
}

WriteResult WriteScrapeRequest(uint64_t connection_id, uint32_t transaction_id,
                               std::span<const InfoHash> info_hashes, std::span<uint8_t> out) {
  if (info_hashes.empty() || info_hashes.size() > kMaxScrapeHashes) return Invalid();
  ByteWriter w(out);
  WriteRequestHeader(w, connection_id, Action::kScrape, transaction_id);
  for (const InfoHash& hash : info_hashes) w.WriteFixed(hash);
  return w.Result();
}

WriteResult WriteRequest(const Request& request, std::span<uint8_t> out) {
  struct Visitor {
    std::span<uint8_t> out;
    WriteResult operator()(const ConnectRequest& r) const { return WriteConnectRequest(r, out); }
    WriteResult operator()(const AnnounceRequest& r) const { return WriteAnnounceRequest(r, out); }
    WriteResult operator()(const ScrapeRequest& r) const { return WriteScrapeRequest(r, out); }
  };
  return std::visit(Visitor{out}, request);
}

WriteResult WriteConnectResponse(const ConnectResponse& response, std::span<uint8_t> out) {
  ByteWriter w(out);
  WriteResponseHeader(w, Action::kConnect, response.transaction_id);
  w.WriteU64Be(response.connection_id);
  return w.Result();
}

WriteResult WriteAnnounceResponse(const AnnounceResponse& response, std::span<uint8_t> out) {
  AnnounceResponseWriter w(
      out, response.peers.family(),
      {response.transaction_id, response.interval, response.leechers, response.seeders});
  w.AddCompactPeers(response.peers.bytes());
  return w.Finish();
}

WriteResult WriteScrapeResponse(const ScrapeResponse& response, std::span<uint8_t> out) {
  if (ScrapeResponseSize(response.stats.size()) > kMaxResponseSize) return Invalid();
  ByteWriter w(out);
  WriteResponseHeader(w, Action::kScrape, response.transaction_id);
  w.WriteBytes(response.stats.bytes());
  return w.Result();
}

WriteResult WriteErrorResponse(const ErrorResponse& response, std::span<uint8_t> out) {
  if (response.message.size() > kMaxErrorMessageSize) return Invalid();
  ByteWriter w(out);
  WriteResponseHeader(w, Action::kError, response.transaction_id);
  w.WriteString(response.message);
  return w.Result();
}

WriteResult WriteResponse(const Response& response, std::span<uint8_t> out) {
  struct Visitor {
    std::span<uint8_t> out;
    WriteResult operator()(const ConnectResponse& r) const { return WriteConnectResponse(r, out); }
    WriteResult operator()(const AnnounceResponse& r) const {
      return WriteAnnounceResponse(r, out);
    }
    WriteResult operator()(const ScrapeResponse& r) const { return WriteScrapeResponse(r, out); }
    WriteResult operator()(const ErrorResponse& r) const { return WriteErrorResponse(r, out); }
  };
  return std::visit(Visitor{out}, response);
}

}  // namespace reef::udp
