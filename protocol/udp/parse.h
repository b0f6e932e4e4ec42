// Parsing BEP 15 datagrams: requests on the tracker side, responses on the client side.
//
// A datagram is always whole, so a parse is either ok or an error (never incomplete).
// Parsers read through one ByteReader, never past the span, never allocate, and return
// views into the datagram for its variable parts: keep the datagram alive while you use
// the value.
//
// What is accepted, beyond the BEP 15 tables:
//   - an announce request may carry bytes after its 98 (BEP 41 options): they are
//     accepted and ignored, and consumed() == 98 tells the caller where they start;
//   - a connect request may too (BEP 15: "check whether the packet is at least 16
//     bytes"); consumed() == 16;
//   - a scrape request's length must be exactly 16 + 20 * n, 1 <= n <= kMaxScrapeHashes:
//     its hashes run to the end of the datagram, so a trailing byte is a partial hash;
//   - a connect response may carry trailing bytes (consumed() == 16); announce and scrape
//     responses must be whole entries; an error message is the rest of the datagram;
//   - no request over kMaxRequestSize, no response over kMaxResponseSize.
//
// On the server:
//   RequestResult r = ParseRequest(datagram);
//   if (r.ok()) { ... std::get<AnnounceRequest>(r.value()) ... }
//   else if (r.sendable() && ConnectionIdIsValid(r.connection_id()))
//     WriteErrorResponse({r.transaction_id(), ErrorReason(r.error())}, send_buffer);
//   else drop it.
#ifndef REEF_PROTOCOL_UDP_PARSE_H_
#define REEF_PROTOCOL_UDP_PARSE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "protocol/common/parse_result.h"
#include "protocol/udp/errors.h"
#include "protocol/udp/messages.h"

namespace reef::udp {

// Every reason this library can produce fits in an error response it writes.
static_assert([] {
  for (const ErrorInfo& info : kParseErrors) {
    if (info.reason.size() > kMaxErrorMessageSize) return false;
  }
  return true;
}());

// What parsing one datagram gives: a ParseResult (the message and the bytes it used, or an
// error; never incomplete, a datagram being whole) and, in both cases, the ids from the
// header when they could be read.
template <typename T>
class [[nodiscard]] DatagramResult : public ParseResult<T, ParseError> {
 public:
  static constexpr DatagramResult Ok(T value, size_t consumed, uint64_t connection_id,
                                     uint32_t transaction_id) {
    DatagramResult r;
    r.SetOk(std::move(value), consumed);
    r.SetIds(connection_id, transaction_id);
    return r;
  }
  // An error before the transaction id could be read, or one never to be answered.
  static constexpr DatagramResult Fail(ParseError error) {
    DatagramResult r;
    r.SetFailed(error);
    return r;
  }
  // An error after the header was read. `sendable`: the server should answer it.
  static constexpr DatagramResult Fail(ParseError error, uint64_t connection_id,
                                       uint32_t transaction_id, bool sendable) {
    DatagramResult r;
    r.SetFailed(error);
    r.SetIds(connection_id, transaction_id);
    r.sendable_ = sendable;
    return r;
  }
  static DatagramResult Incomplete() = delete;  // a datagram is always whole

  // A result whose message, a `Message` (one of T's alternatives), is built in place:
  // `fill(Message&)` writes its fields and returns nullopt, or the error that fails the
  // result (with the ids, answered if `sendable`). A 100-byte announce is then written
  // once, not copied through the result twice.
  template <typename Message, typename Fill>
  static constexpr DatagramResult Build(size_t consumed, uint64_t connection_id,
                                        uint32_t transaction_id, bool sendable, Fill&& fill) {
    DatagramResult r;
    r.SetIds(connection_id, transaction_id);
    std::optional<ParseError> error =
        fill(r.SetOkInPlace(consumed).template emplace<Message>());
    if (error) {
      r.SetFailed(*error);
      r.sendable_ = sendable;
    }
    return r;
  }

  // From ParseResult: status(), ok(), failed(), value(), error(), and consumed(): the
  // bytes of the datagram the message used, 0 unless ok(); less than the datagram's size
  // only for connect requests and responses and announce requests (see above).

  // Whether the header's ids were read: always when ok(), sometimes when failed().
  constexpr bool has_transaction_id() const { return has_ids_; }
  constexpr uint32_t transaction_id() const { return transaction_id_; }
  // Requests only: the connection id field (kProtocolId for a connect request); 0 for
  // responses, which have none.
  constexpr uint64_t connection_id() const { return connection_id_; }
  // Failed, and the sender should get a BEP 15 error response (see errors.h).
  constexpr bool sendable() const { return this->failed() && sendable_; }

 private:
  constexpr DatagramResult() = default;
  constexpr void SetIds(uint64_t connection_id, uint32_t transaction_id) {
    has_ids_ = true;
    connection_id_ = connection_id;
    transaction_id_ = transaction_id;
  }

  bool has_ids_ = false;
  bool sendable_ = false;
  uint64_t connection_id_ = 0;
  uint32_t transaction_id_ = 0;
};

using RequestResult = DatagramResult<Request>;
using ResponseResult = DatagramResult<Response>;

// Parses one datagram a client sent to the tracker.
RequestResult ParseRequest(std::span<const uint8_t> datagram);

// Parses one datagram a tracker sent back. `peer_family` is the family of the socket the
// request went out on: it says whether an announce response's peers are 6-byte IPv4 or
// 18-byte IPv6 entries, which the datagram itself does not.
ResponseResult ParseResponse(std::span<const uint8_t> datagram, IpFamily peer_family);

}  // namespace reef::udp

#endif  // REEF_PROTOCOL_UDP_PARSE_H_
