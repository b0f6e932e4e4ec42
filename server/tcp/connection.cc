#include "server/tcp/connection.h"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "protocol/http/response.h"

namespace reef::tcp {
namespace {

// Bounds on the limits themselves, so that a typo in a config cannot make a worker
// allocate gigabytes per connection or time out at once.
constexpr size_t kMinHeadBytes = 256;
constexpr size_t kMaxHeadBytes = 1 << 20;
constexpr size_t kMaxHeaderCount = 1024;
constexpr Millis kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr size_t kMaxOutputBytesLimit = 64 << 20;
// Free blocks a worker keeps per pool for reuse.
constexpr size_t kPooledBlocks = 64;

std::string_view AsChars(std::span<const uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Whether `in` has an empty line (a head's end: "\n\n" or "\n\r\n") that ends at or
// after `from`.
bool MayEndHead(std::string_view in, size_t from) {
  const size_t start = from >= 2 ? from - 2 : 0;
  for (size_t i = in.find('\n', start); i != std::string_view::npos; i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return true;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') return true;
  }
  return false;
}

size_t ResponseRoom(size_t max_response_bytes) {
  return std::max(max_response_bytes, kMaxErrorResponseBytes);
}
size_t TlsResponseRoom(size_t max_response_bytes) {
  return TlsSealedSize(ResponseRoom(max_response_bytes)) + kTlsOutputSlack;
}

}  // namespace

absl::Status ValidateLimits(const ConnectionLimits& limits, size_t max_response_bytes) {
  if (limits.max_head_bytes < kMinHeadBytes || limits.max_head_bytes > kMaxHeadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_head_bytes must be between ",
                                                   kMinHeadBytes, " and ", kMaxHeadBytes,
                                                   ", got ", limits.max_head_bytes));
  }
  if (limits.max_headers < 1 || limits.max_headers > kMaxHeaderCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_headers must be between 1 and ", kMaxHeaderCount, ", got ", limits.max_headers));
  }
  const std::pair<const char*, Millis> timeouts[] = {
      {"head_timeout", limits.head_timeout_ms},
      {"keep_alive_timeout", limits.keep_alive_timeout_ms},
      {"tls_handshake_timeout", limits.tls_handshake_timeout_ms},
      {"write_timeout", limits.write_timeout_ms},
      {"linger_timeout", limits.linger_timeout_ms},
  };
  for (const auto& [name, ms] : timeouts) {
    if (ms < 1 || ms > kMaxTimeoutMs) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be between 1 ms and 24 h, got ", ms, " ms"));
    }
  }
  const size_t needed = TlsResponseRoom(max_response_bytes);
  if (limits.max_output_bytes < needed || limits.max_output_bytes > kMaxOutputBytesLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_output_bytes must be between ", needed,
        " (the largest response, encrypted, with room for TLS messages) and ",
        kMaxOutputBytesLimit, ", got ", limits.max_output_bytes));
  }
  if (limits.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be at least 1");
  }
  return absl::OkStatus();
}

ConnectionContext::ConnectionContext(const ConnectionLimits& connection_limits,
                                     HttpHandler& http_handler)
    : limits(connection_limits),
      handler(http_handler),
      timers(connection_limits),
      response_room(ResponseRoom(http_handler.MaxResponseBytes())),
      tls_response_room(TlsResponseRoom(http_handler.MaxResponseBytes())),
      input_pool(connection_limits.max_head_bytes, kPooledBlocks),
      output_pool(std::max(connection_limits.max_output_bytes,
                           TlsResponseRoom(http_handler.MaxResponseBytes())),
                  kPooledBlocks),
      cipher_pool(kTlsReadBytes, kPooledBlocks),
      headers(connection_limits.max_headers),
      response(ResponseRoom(http_handler.MaxResponseBytes())),
      plaintext(connection_limits.max_head_bytes) {
  request_limits.max_request_bytes = connection_limits.max_head_bytes;
  request_limits.max_request_line_bytes = connection_limits.max_head_bytes;
  request_limits.max_header_line_bytes = connection_limits.max_head_bytes;
  request_limits.max_headers = connection_limits.max_headers;
}

Connection::Connection(ConnectionContext& ctx, const Endpoint& peer, SSL_CTX* tls, Millis now)
    : ctx_(ctx), peer_(peer) {
  if (tls != nullptr) {
    ssl_ = SSL_new(tls);
    BIO* bio = ssl_ == nullptr ? nullptr : NewSpanBio(&ctx_.tls_io);
    if (bio == nullptr) {
      ERR_clear_error();
      if (ssl_ != nullptr) SSL_free(ssl_);
      ssl_ = nullptr;
      state_ = State::kClosed;
      return;
    }
    SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL
    SSL_set_accept_state(ssl_);
    state_ = State::kHandshake;
  }
  UpdateTimer(now, false);
}

Connection::~Connection() {
  ReleaseBuffers();
  ctx_.timers.Disarm(this);
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void Connection::ReleaseBuffers() {
  input_.Release(ctx_.input_pool);
  cipher_in_.Release(ctx_.cipher_pool);
  output_.Release(ctx_.output_pool);
}

size_t Connection::BufferedBytes() const {
  return (input_.has_block() ? ctx_.input_pool.block_size() : 0) +
         (cipher_in_.has_block() ? ctx_.cipher_pool.block_size() : 0) +
         (output_.has_block() ? ctx_.output_pool.block_size() : 0);
}

size_t Connection::PlaintextRoom() const { return ctx_.limits.max_head_bytes - input_.size(); }

bool Connection::Backpressured() const {
  const size_t needed = ssl_ != nullptr ? ctx_.tls_response_room : ctx_.response_room;
  return output_.room(ctx_.output_pool) < needed;
}

size_t Connection::ReceiveBudget() const {
  if (state_ != State::kOpen && state_ != State::kHandshake) return 0;
  if (input_ended_) return 0;  // nothing more will come (and a socket at EOF stays readable)
  if (Backpressured()) return 0;
  if (ssl_ != nullptr) return cipher_in_.empty() ? kTlsReadBytes : 0;
  return PlaintextRoom();
}

void Connection::BindTlsIo(std::span<const uint8_t> in) {
  ctx_.tls_io.in = in;
  ctx_.tls_io.in_used = 0;
  ctx_.tls_io.out = &output_;
  ctx_.tls_io.out_pool = &ctx_.output_pool;
}

void Connection::Receive(std::span<const uint8_t> bytes, Millis now) {
  if (state_ != State::kOpen && state_ != State::kHandshake) return;
  if (ssl_ != nullptr) {
    ReceiveCiphertext(bytes, now);
  } else {
    ReceivePlaintext(bytes, now);
  }
  if (state_ == State::kOpen && input_ended_ && !waiting_for_room_) BeginClose(false);
  UpdateTimer(now, false);
}

void Connection::ReceivePlaintext(std::span<const uint8_t> bytes, Millis now) {
  if (bytes.empty() || state_ != State::kOpen) return;
  if (input_.empty()) {
    // The common case: whole requests in one read, parsed where they were read.
    const size_t used = Serve(AsChars(bytes), now);
    if (state_ == State::kOpen && used < bytes.size() &&
        !input_.Append(bytes.subspan(used), ctx_.input_pool)) {
      // Cannot happen when the caller keeps to ReceiveBudget(); refuse rather than grow.
      BeginClose(false);
    }
    return;
  }
  const size_t checked = input_.size();
  if (!input_.Append(bytes, ctx_.input_pool)) {
    BeginClose(false);
    return;
  }
  // The bytes held were parsed and found to be the start of a head. Unless the new bytes
  // can end it (or reach the size limit), parsing again would say "incomplete" again, so
  // don't: a head sent a byte at a time costs linear, not quadratic, time.
  if (!waiting_for_room_ && input_.size() < ctx_.limits.max_head_bytes &&
      !MayEndHead(AsChars(input_.data()), checked)) {
    return;
  }
  const size_t used = Serve(AsChars(input_.data()), now);
  if (state_ == State::kOpen) input_.Consume(used, ctx_.input_pool);
}

std::span<uint8_t> Connection::ResponseSpace() {
  if (ssl_ != nullptr) return std::span(ctx_.response);
  return output_.Writable(ctx_.output_pool).first(ctx_.response_room);
}

void Connection::GiveBackResponseSpace() {
  // Plain responses are written in place: an empty buffer must not keep the block that
  // ResponseSpace() took for it.
  if (ssl_ == nullptr) output_.Commit(0, ctx_.output_pool);
}

bool Connection::Emit(std::span<const uint8_t> response) {
  if (ssl_ == nullptr) {
    // ResponseSpace() handed out the buffer's own free space: the bytes are in place.
    output_.Commit(response.size(), ctx_.output_pool);
    return true;
  }
  ERR_clear_error();
  const int written = SSL_write(ssl_, response.data(), static_cast<int>(response.size()));
  if (written == static_cast<int>(response.size())) return true;
  // Backpressure keeps room for a sealed response, so this is OpenSSL failing.
  ERR_clear_error();
  ctx_.stats.tls_errors.fetch_add(1, std::memory_order_relaxed);
  return false;
}

size_t Connection::Serve(std::string_view in, Millis now) {
  size_t used = 0;
  waiting_for_room_ = false;
  while (state_ == State::kOpen && used < in.size()) {
    if (Backpressured()) {
      waiting_for_room_ = true;
      ctx_.stats.backpressure_waits.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    auto parsed = http::ParseRequest(in.substr(used), ctx_.headers, ctx_.request_limits);
    if (parsed.incomplete()) break;
    std::span<uint8_t> out = ResponseSpace();
    if (parsed.failed()) {
      ctx_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      const http::ParseError error = parsed.error();
      const WriteResult written = http::WriteFailureResponse(
          http::ErrorReason(error), /*keep_alive=*/false, out, http::HttpStatusFor(error));
      if (!written.ok() || !Emit(out.first(written.length()))) GiveBackResponseSpace();
      used = in.size();  // nothing after a refused head is read
      BeginClose(/*linger=*/true);
      break;
    }
    const http::Request& request = parsed.value();
    used += parsed.consumed();
    ++requests_served_;
    ctx_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    const RequestContext context{peer_, ssl_ != nullptr, now};
    const HandlerResponse response = ctx_.handler.Respond(request, context, request.keep_alive, out);
    if (response.length == 0 || response.length > out.size() ||
        !Emit(out.first(response.length))) {
      // A handler that breaks its contract: nothing of its answer is sent.
      GiveBackResponseSpace();
      BeginClose(/*linger=*/true);
      break;
    }
    if (!request.keep_alive || response.close) {
      // Bytes after a request that closes the connection are never answered; if there
      // are some, linger so that the client reads its answer rather than a reset.
      BeginClose(/*linger=*/used < in.size());
      break;
    }
  }
  return used;
}

void Connection::ReceiveCiphertext(std::span<const uint8_t> bytes, Millis now) {
  const bool from_buffer = !cipher_in_.empty();
  if (from_buffer && !bytes.empty() && !cipher_in_.Append(bytes, ctx_.cipher_pool)) {
    BeginClose(false);
    return;
  }
  const std::span<const uint8_t> source = from_buffer ? cipher_in_.data() : bytes;
  BindTlsIo(source);
  RunTls(now);
  const size_t used = ctx_.tls_io.in_used;
  ctx_.tls_io.in = {};
  ctx_.tls_io.in_used = 0;
  if (state_ != State::kOpen && state_ != State::kHandshake) {
    cipher_in_.Release(ctx_.cipher_pool);
    return;
  }
  if (from_buffer) {
    cipher_in_.Consume(used, ctx_.cipher_pool);
  } else if (used < source.size() && !cipher_in_.Append(source.subspan(used), ctx_.cipher_pool)) {
    BeginClose(false);
  }
}

void Connection::RunTls(Millis now) {
  while (true) {
    if (state_ == State::kHandshake) {
      ERR_clear_error();
      const int result = SSL_do_handshake(ssl_);
      if (result == 1) {
        state_ = State::kOpen;
        ctx_.stats.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
        if (SSL_session_reused(ssl_) == 1) {
          ctx_.stats.tls_resumptions.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      const int error = SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_READ) return;
      if (error == SSL_ERROR_WANT_WRITE) {
        waiting_for_room_ = true;
        return;
      }
      // A client that does not speak TLS, or none of our versions or ciphers. OpenSSL
      // may have queued an alert: send it, then close.
      ERR_clear_error();
      ctx_.stats.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      BeginClose(/*linger=*/false);
      return;
    }
    if (state_ != State::kOpen) return;
    if (Backpressured()) {
      waiting_for_room_ = true;
      return;
    }
    const size_t room = std::min(PlaintextRoom(), ctx_.plaintext.size());
    ERR_clear_error();
    const int n = SSL_read(ssl_, ctx_.plaintext.data(), static_cast<int>(room));
    if (n > 0) {
      ReceivePlaintext(std::span<const uint8_t>(ctx_.plaintext.data(), static_cast<size_t>(n)), now);
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) {
      waiting_for_room_ = false;
      return;
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      waiting_for_room_ = true;
      return;
    }
    ERR_clear_error();
    if (error == SSL_ERROR_ZERO_RETURN) {
      // close_notify: the client will send nothing more.
      input_ended_ = true;
      if (!waiting_for_room_) BeginClose(/*linger=*/false);
      return;
    }
    ctx_.stats.tls_errors.fetch_add(1, std::memory_order_relaxed);
    BeginClose(/*linger=*/false);
    return;
  }
}

void Connection::ReceiveEnd(Millis now) {
  input_ended_ = true;
  switch (state_) {
    case State::kHandshake:
      CloseNow();
      break;
    case State::kOpen:
      // Requests that are complete but wait for output room are still answered (Pump);
      // a partial head never will be.
      if (!waiting_for_room_) BeginClose(/*linger=*/false);
      break;
    case State::kLinger:
      CloseNow();  // what lingering waited for
      break;
    case State::kClosing:
    case State::kClosed:
      break;
  }
  UpdateTimer(now, false);
}

void Connection::Abort() { CloseNow(); }

void Connection::Sent(size_t n, Millis now) {
  n = std::min(n, output_.size());
  output_.Consume(n, ctx_.output_pool);
  if (state_ == State::kClosing && output_.empty()) {
    FinishClose();
  } else if (n > 0 && waiting_for_room_ && !Backpressured()) {
    Pump(now);
  }
  UpdateTimer(now, n > 0);
}

void Connection::Pump(Millis now) {
  waiting_for_room_ = false;
  // Requests that waited in the input buffer first, then (TLS) what OpenSSL and the
  // held-back ciphertext still have.
  if (state_ == State::kOpen && !input_.empty()) {
    if (ssl_ != nullptr) BindTlsIo({});
    const size_t used = Serve(AsChars(input_.data()), now);
    if (state_ == State::kOpen) input_.Consume(used, ctx_.input_pool);
  }
  if (ssl_ != nullptr && !waiting_for_room_ &&
      (state_ == State::kOpen || state_ == State::kHandshake)) {
    ReceiveCiphertext({}, now);
  }
  if (state_ == State::kOpen && input_ended_ && !waiting_for_room_) BeginClose(false);
}

bool Connection::QueueOutput(std::span<const uint8_t> plaintext, Millis now) {
  if (state_ != State::kOpen) return false;
  const size_t room = output_.room(ctx_.output_pool);
  if (ssl_ == nullptr) {
    if (plaintext.size() > room || !output_.Append(plaintext, ctx_.output_pool)) return false;
  } else {
    if (TlsSealedSize(plaintext.size()) > room) return false;
    BindTlsIo({});
    if (!plaintext.empty() && !Emit(plaintext)) {
      BeginClose(false);
      UpdateTimer(now, false);
      return false;
    }
  }
  UpdateTimer(now, false);
  return true;
}

void Connection::Expire(TimerKind kind, Millis /*now*/) {
  switch (kind) {
    case TimerKind::kHandshake:
      ctx_.stats.handshake_timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
    case TimerKind::kHead:
      ctx_.stats.head_timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
    case TimerKind::kIdle:
      ctx_.stats.idle_timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
    case TimerKind::kWrite:
      ctx_.stats.write_timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
    case TimerKind::kLinger:
    case TimerKind::kNumKinds:
      break;
  }
  CloseNow();
}

void Connection::BeginClose(bool linger) {
  if (state_ != State::kOpen && state_ != State::kHandshake) return;
  const bool handshake_done = state_ == State::kOpen;
  state_ = State::kClosing;
  linger_ = linger;
  waiting_for_room_ = false;
  input_.Release(ctx_.input_pool);
  cipher_in_.Release(ctx_.cipher_pool);
  if (ssl_ != nullptr && handshake_done) {
    // close_notify after the last response (RFC 8446 6.1). Its result does not matter:
    // the socket closes either way.
    ctx_.tls_io.out = &output_;
    ctx_.tls_io.out_pool = &ctx_.output_pool;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (output_.empty()) FinishClose();
}

void Connection::FinishClose() {
  if (linger_) {
    state_ = State::kLinger;
    ReleaseBuffers();
  } else {
    CloseNow();
  }
}

void Connection::CloseNow() {
  state_ = State::kClosed;
  ReleaseBuffers();
  ctx_.timers.Disarm(this);
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
}

TimerKind Connection::DesiredPhase() const {
  switch (state_) {
    case State::kHandshake:
      return TimerKind::kHandshake;
    case State::kLinger:
      return TimerKind::kLinger;
    case State::kClosing:
      return TimerKind::kWrite;
    case State::kOpen:
    case State::kClosed:
      break;
  }
  if (!output_.empty()) return TimerKind::kWrite;
  if (!input_.empty() || !cipher_in_.empty() || requests_served_ == 0) return TimerKind::kHead;
  return TimerKind::kIdle;
}

void Connection::UpdateTimer(Millis now, bool output_progress) {
  if (state_ == State::kClosed) {
    ctx_.timers.Disarm(this);
    return;
  }
  const TimerKind want = DesiredPhase();
  if (!armed() || kind() != want || (want == TimerKind::kWrite && output_progress)) {
    ctx_.timers.Arm(this, want, now);
  }
}

}  // namespace reef::tcp
