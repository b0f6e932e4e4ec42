#include "server/ws/connection.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace reef::ws {

absl::Status ValidateConnectionLimits(const ConnectionLimits& limits) {
  if (limits.max_message_size < kMinMessageSize ||
      limits.max_message_size > kMaxMessageSizeLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_size must be ", kMinMessageSize,
                                                   "..", kMaxMessageSizeLimit, " bytes"));
  }
  const size_t one_frame = limits.max_message_size + kMaxFrameHeaderSize;
  if (limits.max_outbound_bytes < one_frame ||
      limits.max_outbound_bytes > kMaxOutboundBytesLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_outbound_bytes must be ", one_frame, " (one message frame)..",
                     kMaxOutboundBytesLimit, " bytes"));
  }
  if (limits.ping_interval_ms <= 0) {
    return absl::InvalidArgumentError("ping interval must be positive");
  }
  if (limits.idle_timeout_ms <= limits.ping_interval_ms) {
    return absl::InvalidArgumentError(
        "idle timeout must be longer than the ping interval (a live client answers the ping)");
  }
  return absl::OkStatus();
}

WsConnection::WsConnection(const ConnectionLimits& limits, Handler& handler,
                           ConnectionStats& stats, int64_t now_ms)
    : limits_(limits),
      handler_(handler),
      stats_(stats),
      assembler_(MessageAssembler::Streaming(limits.max_message_size)),
      now_ms_(now_ms),
      last_received_ms_(now_ms) {
  Bump(stats_.opened);
}

void WsConnection::OnBytes(std::span<uint8_t> bytes, int64_t now_ms) {
  now_ms_ = now_ms;
  if (!bytes.empty()) {
    last_received_ms_ = now_ms;
    ping_outstanding_ = false;
  }
  if (state_ == State::kClosed) return;
  if (kept_.empty()) {
    // The common case: parse straight from the caller's buffer and keep only the tail.
    const size_t used = Process(bytes);
    if (used < bytes.size() && state_ != State::kClosed) {
      kept_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(used), bytes.end());
    }
    return;
  }
  kept_.insert(kept_.end(), bytes.begin(), bytes.end());
  ResumeKeptInput();
}

void WsConnection::ResumeKeptInput() {
  if (kept_.empty() || in_process_) return;
  const size_t used = Process(kept_);
  if (state_ == State::kClosed || used == kept_.size()) {
    std::vector<uint8_t>().swap(kept_);  // give the memory back: idle connections hold none
  } else if (used > 0) {
    kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(used));
  }
}

size_t WsConnection::Process(std::span<uint8_t> in) {
  in_process_ = true;
  size_t used = 0;
  const FrameLimits frame_limits{.max_payload = limits_.max_message_size};
  while (used < in.size() && state_ != State::kClosed && !output_full()) {
    auto frame = ParseFrame(in.subspan(used), Role::kServer, frame_limits);
    if (frame.incomplete()) break;
    if (frame.failed()) {
      Fail(frame.error());
      break;
    }
    used += frame.consumed();
    HandleFrame(frame.value());
  }
  in_process_ = false;
  return used;
}

void WsConnection::HandleFrame(const Frame& frame) {
  auto event = assembler_.OnFrame(frame);
  if (event.failed()) {
    Fail(event.error());
    return;
  }
  const Event& e = event.value();
  switch (e.type) {
    case EventType::kNone:
      return;
    case EventType::kPing:
      Bump(stats_.pings_received);
      if (state_ == State::kOpen) AppendFrame(Opcode::kPong, e.payload);
      return;
    case EventType::kPong:
      Bump(stats_.pongs_received);
      return;
    case EventType::kClose:
      if (state_ == State::kOpen) {
        Bump(stats_.closed_by_client);
        // Echo the client's code (RFC 6455 section 5.5.1); an empty close gets 1000.
        SendClose(e.close.has_code ? e.close.code : kCloseNormal, "", CloseCause::kClientClose,
                  State::kClosed);
      } else {
        state_ = State::kClosed;  // the answer to our close: the handshake is complete
      }
      return;
    case EventType::kMessage:
      if (state_ == State::kOpen) HandleMessage(e.opcode, e.payload);
      return;
    case EventType::kFragment:
      if (state_ != State::kOpen) return;
      message_.insert(message_.end(), e.payload.begin(), e.payload.end());
      if (e.final) {
        std::vector<uint8_t> whole;
        whole.swap(message_);  // message_ is free (and empty) again before the handler runs
        HandleMessage(e.opcode, whole);
      }
      return;
  }
}

void WsConnection::HandleMessage(Opcode opcode, std::span<const uint8_t> payload) {
  if (opcode != Opcode::kText) {
    Bump(stats_.binary_refused);
    SendClose(kCloseUnsupportedData, "text messages only", CloseCause::kUnsupportedData,
              State::kClosed);
    return;
  }
  Bump(stats_.messages);
  handler_.OnText(*this, std::string_view(reinterpret_cast<const char*>(payload.data()),
                                          payload.size()));
}

void WsConnection::Fail(FrameError error) {
  const uint16_t code = CloseCodeFor(error);
  if (code == kCloseMessageTooBig) {
    Bump(stats_.too_big);
  } else {
    Bump(stats_.protocol_errors);
  }
  // After an error the client's frames cannot be trusted to be framed right, so reef
  // does not wait for its close: the close frame is written and the socket closed.
  SendClose(code, ErrorReason(error), CloseCause::kProtocolError, State::kClosed);
}

void WsConnection::SendClose(uint16_t code, std::string_view reason, CloseCause cause,
                             State next) {
  if (state_ != State::kOpen) {
    if (next == State::kClosed) state_ = State::kClosed;
    return;
  }
  std::array<uint8_t, kMaxControlPayload + kMaxFrameHeaderSize> frame;
  auto written = WriteCloseFrame(frame, code, reason.substr(0, kMaxControlPayload - 2));
  if (written.ok()) AppendBytes(std::span<const uint8_t>(frame.data(), written.length()));
  state_ = next;
  // A closed connection waits this long for its client to read the close frame.
  if (close_deadline_ms_ == 0) close_deadline_ms_ = now_ms_ + kCloseTimeoutMs;
  EnterClosing(cause);
}

void WsConnection::EnterClosing(CloseCause cause) {
  if (cause_ == CloseCause::kNone) cause_ = cause;
  std::vector<uint8_t>().swap(message_);
  if (!closing_reported_) {
    closing_reported_ = true;
    handler_.OnClosing(*this);
  }
}

void WsConnection::OnSocketClosed() {
  if (cause_ == CloseCause::kNone) Bump(stats_.socket_closed);
  state_ = State::kClosed;
  EnterClosing(CloseCause::kSocketClosed);
  // Nothing more will be written: free every buffer.
  std::vector<uint8_t>().swap(kept_);
  std::vector<uint8_t>().swap(out_);
  out_begin_ = 0;
}

void WsConnection::Close(uint16_t code, std::string_view reason, int64_t now_ms) {
  now_ms_ = now_ms;
  if (state_ != State::kOpen) return;
  SendClose(code, reason, CloseCause::kServerClose, State::kClosingSent);
}

void WsConnection::OnTimer(int64_t now_ms) {
  now_ms_ = now_ms;
  if (state_ == State::kClosed) {
    // Closed, but the client does not read our last frames: give up on them.
    if (close_deadline_ms_ != 0 && now_ms >= close_deadline_ms_) OnSocketClosed();
    return;
  }
  if (state_ == State::kClosingSent) {
    // The client never answered our close: end without its close frame.
    if (now_ms >= close_deadline_ms_) OnSocketClosed();
    return;
  }
  const int64_t silent = now_ms - last_received_ms_;
  if (silent >= limits_.idle_timeout_ms) {
    // It did not answer the ping: nobody is there to read a close frame, so end at once.
    Bump(stats_.idle_timeouts);
    EnterClosing(CloseCause::kIdleTimeout);
    OnSocketClosed();
    return;
  }
  if (silent >= limits_.ping_interval_ms && !ping_outstanding_) {
    ping_outstanding_ = true;
    Bump(stats_.pings_sent);
    AppendFrame(Opcode::kPing, {});
  }
}

int64_t WsConnection::next_deadline_ms() const {
  switch (state_) {
    case State::kClosingSent:
      return close_deadline_ms_;
    case State::kClosed:
      return close_deadline_ms_;
    case State::kOpen:
      break;
  }
  if (ping_outstanding_) return last_received_ms_ + limits_.idle_timeout_ms;
  return last_received_ms_ + limits_.ping_interval_ms;
}

bool WsConnection::done() const { return state_ == State::kClosed && output_size() == 0; }

void WsConnection::ConsumeOutput(size_t n, int64_t now_ms) {
  n = std::min(n, output_size());
  out_begin_ += n;
  if (out_begin_ == out_.size()) {
    // Drained: free the buffer, so an idle connection holds none.
    std::vector<uint8_t>().swap(out_);
    out_begin_ = 0;
  } else if (out_begin_ >= out_.size() / 2) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_begin_));
    out_begin_ = 0;
  }
  now_ms_ = now_ms;
  if (state_ == State::kOpen && !output_full()) ResumeKeptInput();
}

void WsConnection::SendText(std::span<const uint8_t> text) {
  if (state_ != State::kOpen) return;
  AppendFrame(Opcode::kText, text);
}

void WsConnection::SendText(std::string_view text) {
  SendText(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

bool WsConnection::SendRelayed(std::span<const uint8_t> frame) {
  if (state_ != State::kOpen || frame.size() > limits_.max_outbound_bytes - std::min(
                                                   output_size(), limits_.max_outbound_bytes)) {
    Bump(stats_.relayed_dropped);
    return false;
  }
  AppendBytes(frame);
  return true;
}

void WsConnection::AppendFrame(Opcode opcode, std::span<const uint8_t> payload) {
  std::array<uint8_t, kMaxFrameHeaderSize> header;
  auto written = WriteFrameHeader(header, true, opcode, payload.size());
  if (!written.ok()) return;  // only a control payload over 125 bytes, never passed here
  AppendBytes(std::span<const uint8_t>(header.data(), written.length()));
  AppendBytes(payload);
}

void WsConnection::AppendBytes(std::span<const uint8_t> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

size_t WsConnection::buffered_bytes() const {
  return kept_.capacity() + message_.capacity() + out_.capacity();
}

}  // namespace reef::ws
