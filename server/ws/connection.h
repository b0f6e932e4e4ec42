// WsConnection: one WebSocket connection after its opening handshake, apart from its
// socket. Bytes in -> frames -> messages (to a Handler) -> frames out, with timers driven
// by the caller's clock, so tests and fuzzers drive it directly and any TCP layer (plain
// or TLS, epoll or not) can carry it.
//
// The owner (a socket worker, a test) does four things:
//   - OnBytes(bytes, now): what the socket read. Frames are parsed in place (unmasking
//     writes into `bytes`); a frame that is not complete yet is kept until the rest comes.
//   - output() / ConsumeOutput(n): what to write to the socket, and how much was written.
//   - OnTimer(now) at or after next_deadline(): sends pings, closes dead connections.
//   - done(): the socket may be closed and the connection destroyed.
// and, between reads, checks wants_read(): false while the connection's output is at its
// limit (a client that does not read stops being read, so it cannot make reef queue
// replies without bound) and once it is closing.
//
// Messages (RFC 6455): text messages go to Handler::OnText, whole (fragments are
// reassembled into a buffer allocated only while a fragmented message is in progress);
// pings are answered with pongs carrying the same payload; pongs are noted; a binary
// message is refused with close 1003 (WebTorrent is JSON text). Any frame error closes
// the connection with the code RFC 6455 gives it (frame.h's CloseCodeFor: 1002 protocol
// error, 1007 invalid UTF-8, 1009 for a frame or message over max_message_size, refused
// from the frame header alone, before its payload is buffered).
//
// Closing: a client's close frame is answered with a close frame (its code echoed, or
// 1000) and the connection is done once that is written. A close that reef starts (an
// error, 1001 at shutdown) stops reading data and waits up to kCloseTimeout for the
// client's close before giving up. Handler::OnClosing is called exactly once, when the
// connection stops accepting messages for whatever reason (a close either way, an error,
// a timeout, the socket closing), so the tracker removes the peer's entries at once.
//
// Limits (ConnectionLimits): message size, output queued, ping interval, idle timeout.
// The memory a connection holds is bounded: the partial frame kept between reads
// (< max_message_size + 14 bytes), a fragmented message (<= max_message_size), and the
// output (< max_outbound_bytes plus one reply, since reading stops at the limit). An idle
// connection holds no buffer at all: each is freed when it empties.
//
// Not thread-safe: one worker owns a connection.
#ifndef REEF_SERVER_WS_CONNECTION_H_
#define REEF_SERVER_WS_CONNECTION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "protocol/ws/frame.h"

namespace reef::ws {

// Defaults of the limits ([ws] keys), with the reasons for them.
//
// A WebTorrent announce with 10 offers of ~1 KiB SDP each is about 12 KiB; 64 KiB leaves
// room for larger SDPs (many ICE candidates) and bounds what one message can make reef
// hold.
inline constexpr size_t kDefaultMaxMessageSize = 64 * 1024;
// Frames queued for one client. Relayed offers are ~1.5 KiB each: 256 KiB holds over 150,
// far beyond what a browser that reads receives between two reads.
inline constexpr size_t kDefaultMaxOutboundBytes = 256 * 1024;
// A connection silent this long gets a ping. Browsers re-announce every 120 s (the
// interval reef sends), so a ping goes only to connections idle past that and reaching
// them through NATs whose TCP mappings last a few minutes.
inline constexpr int64_t kDefaultPingIntervalMs = 60'000;
// A connection silent this long (no pong, no message) is closed. Above the ping interval
// plus a slow round trip, and above the announce interval.
inline constexpr int64_t kDefaultIdleTimeoutMs = 150'000;
// After reef sends a close frame, how long it waits for the client's.
inline constexpr int64_t kCloseTimeoutMs = 5'000;

// Bounds on the limits (ValidateConnectionLimits).
inline constexpr size_t kMinMessageSize = 1024;                  // a small announce
inline constexpr size_t kMaxMessageSizeLimit = 16 * 1024 * 1024;
inline constexpr size_t kMaxOutboundBytesLimit = 1024 * 1024 * 1024;

struct ConnectionLimits {
  // The largest frame payload and reassembled message; over it, close 1009.
  size_t max_message_size = kDefaultMaxMessageSize;
  // Output queued for the client. At the limit reef stops reading from the client, and
  // drops relayed messages (offers, answers) that do not fit, counting them.
  size_t max_outbound_bytes = kDefaultMaxOutboundBytes;
  int64_t ping_interval_ms = kDefaultPingIntervalMs;
  int64_t idle_timeout_ms = kDefaultIdleTimeoutMs;
};

// OK, or InvalidArgument naming the limit: sizes in range, max_outbound_bytes at least
// one message frame, 0 < ping interval < idle timeout.
absl::Status ValidateConnectionLimits(const ConnectionLimits& limits);

// Why a connection ended, for counters and logs.
enum class CloseCause : uint8_t {
  kNone,             // still open
  kClientClose,      // the client sent a close frame
  kProtocolError,    // a frame error: closed with 1002, 1007 or 1009
  kUnsupportedData,  // a binary message: closed with 1003
  kIdleTimeout,      // nothing received for idle_timeout_ms
  kServerClose,      // the owner called Close() (shutdown, the handler's decision)
  kSocketClosed,     // the socket ended first (EOF, reset)
};

// Counters of every connection of one worker. Relaxed atomics: the owning worker writes
// (one writer, so Bump is a load and a store, no locked instruction), the metrics page
// reads.
struct ConnectionStats {
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> messages{0};          // text messages handed to the handler
  std::atomic<uint64_t> pings_received{0};
  std::atomic<uint64_t> pongs_received{0};
  std::atomic<uint64_t> pings_sent{0};
  std::atomic<uint64_t> closed_by_client{0};
  std::atomic<uint64_t> protocol_errors{0};   // 1002 and 1007
  std::atomic<uint64_t> too_big{0};           // 1009
  std::atomic<uint64_t> binary_refused{0};    // 1003
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> socket_closed{0};     // ended without a close handshake
  std::atomic<uint64_t> relayed_dropped{0};   // relayed frames over max_outbound_bytes
  // A gauge, not a counter: the worker's WebSocket connections open now (set by its
  // WebTorrentHost as connections open and are released).
  std::atomic<uint64_t> open_now{0};
};

inline void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

class WsConnection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // A whole text message (valid UTF-8, at most max_message_size bytes). The handler
    // may call Send*/Close on `connection`; the view is valid during the call only.
    virtual void OnText(WsConnection& connection, std::string_view message) = 0;
    // Called exactly once, when the connection stops taking messages (see the top).
    virtual void OnClosing(WsConnection& connection) = 0;
  };

  // `limits` must pass ValidateConnectionLimits; `handler` and `stats` outlive the
  // connection. `now_ms` is the owner's monotonic clock in milliseconds.
  WsConnection(const ConnectionLimits& limits, Handler& handler, ConnectionStats& stats,
               int64_t now_ms);
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  // Bytes read from the socket (may be empty). Unmasks frames in place in `bytes`. Call
  // only while wants_read(), except with empty `bytes` to go on with bytes kept from an
  // earlier call once output has drained.
  void OnBytes(std::span<uint8_t> bytes, int64_t now_ms);
  // The socket ended (EOF, error, the owner gave up writing). The connection is done.
  void OnSocketClosed();
  // Pings a silent connection, closes a dead one. Cheap to call early: it does nothing
  // before next_deadline_ms().
  void OnTimer(int64_t now_ms);
  // When OnTimer has something to do next (ms on the owner's clock).
  int64_t next_deadline_ms() const;

  // Output: whole frames, in order.
  std::span<const uint8_t> output() const {
    return {out_.data() + out_begin_, out_.size() - out_begin_};
  }
  size_t output_size() const { return out_.size() - out_begin_; }
  // `n` bytes of output() were written to the socket. May resume processing of input
  // kept while the output was full, which may produce more output.
  void ConsumeOutput(size_t n, int64_t now_ms);

  // Sends a text message as one frame: a reply to this client. Queued even past
  // max_outbound_bytes (reading stops there instead, so the excess is one reply).
  // Ignored once the connection is closing. `text` must be UTF-8.
  void SendText(std::span<const uint8_t> text);
  void SendText(std::string_view text);
  // Queues a whole server frame relayed from another client (an offer, an answer). False
  // (and counted in relayed_dropped) if it does not fit in max_outbound_bytes or the
  // connection is closing: a client that does not read loses relayed messages, it never
  // makes reef grow.
  bool SendRelayed(std::span<const uint8_t> frame);
  // Starts a close from reef's side: sends a close frame with `code` and `reason` (<= 123
  // bytes of UTF-8), stops taking messages, waits up to kCloseTimeoutMs for the client's
  // close frame. No effect if already closing.
  void Close(uint16_t code, std::string_view reason, int64_t now_ms);

  // False while output is at max_outbound_bytes, and once closing.
  bool wants_read() const { return state_ == State::kOpen && !output_full(); }
  // The connection takes messages (no close sent or received, no error).
  bool open() const { return state_ == State::kOpen; }
  // Nothing more is read: what output() holds is the last the client gets.
  bool closed() const { return state_ == State::kClosed; }
  // A ping went out and nothing has come from the client since.
  bool ping_outstanding() const { return ping_outstanding_; }
  // The socket may be closed now (after writing what output() holds, if it can).
  bool done() const;
  CloseCause close_cause() const { return cause_; }

  // Bytes of buffers held now (input kept, message being reassembled, output), for
  // memory tests.
  size_t buffered_bytes() const;

 private:
  enum class State : uint8_t {
    kOpen,
    kClosingSent,  // reef sent a close and waits for the client's
    kClosed,       // no more input; done once the output is written
  };

  bool output_full() const { return output_size() >= limits_.max_outbound_bytes; }
  // Parses and handles frames from `in` until it runs out, the output fills up, or the
  // connection stops reading. Returns the bytes used.
  size_t Process(std::span<uint8_t> in);
  void HandleFrame(const Frame& frame);
  void HandleMessage(Opcode opcode, std::span<const uint8_t> payload);
  void Fail(FrameError error);
  // Sends a close frame and enters `next`; calls OnClosing if that has not happened.
  void SendClose(uint16_t code, std::string_view reason, CloseCause cause, State next);
  void EnterClosing(CloseCause cause);
  void AppendFrame(Opcode opcode, std::span<const uint8_t> payload);
  void AppendBytes(std::span<const uint8_t> bytes);
  void ResumeKeptInput();

  const ConnectionLimits& limits_;
  Handler& handler_;
  ConnectionStats& stats_;
  MessageAssembler assembler_;
  State state_ = State::kOpen;
  CloseCause cause_ = CloseCause::kNone;
  bool closing_reported_ = false;
  bool ping_outstanding_ = false;
  bool in_process_ = false;  // guards against re-entry from the handler
  int64_t now_ms_;  // the owner's clock at its last call
  int64_t last_received_ms_;
  int64_t close_deadline_ms_ = 0;  // set when a close frame is sent
  std::vector<uint8_t> kept_;     // input not yet used: a partial frame, or paused input
  std::vector<uint8_t> message_;  // a fragmented message being reassembled
  std::vector<uint8_t> out_;      // output; bytes before out_begin_ are written
  size_t out_begin_ = 0;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_CONNECTION_H_
