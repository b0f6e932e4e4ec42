// Fuzzes the TCP connection state machine (server/tcp/connection.h): a client's byte
// stream in arbitrary chunkings, with the client reading its answers in arbitrary steps
// and a fake clock moving, over plain TCP or (mode bit 0) after a real TLS handshake with
// an in-memory client, which then encrypts the stream.
//
// Input: 4 control bytes, then the client's byte stream.
//   byte 0: mode. bit 0 TLS; bits 1-2 response padding (0, 100, 3000, 9000 bytes, so that
//           backpressure is reached); bit 3 a small head limit (512 bytes); bit 4 the
//           client closes its side at the end; bit 5 the clock moves during the stream.
//   bytes 1-3: seeds for the chunk sizes, the client's read steps and the clock.
//
// Properties, not just "does not crash":
//  - output stays bounded: pending output never exceeds max_output_bytes, buffered bytes
//    never exceed the three buffers' limits;
//  - what the client receives is a sequence of well-formed HTTP responses, each with a
//    Content-Length and a body that is one canonical bencoded dictionary, with a status a
//    tracker sends (200, or the parser's 400/405/413/414/431/505); once the client has read
//    everything and no write timeout cut a response short, there is no partial response;
//  - one response per answered request plus at most one error response, in order;
//  - the connection never stalls: whenever it takes no input, it has output to send or
//    is closing;
//  - every phase has a timeout: after the clock runs past all of them the connection is
//    closed with no buffer held, and no timer is left armed.
#include <openssl/err.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/tcp/connection.h"
#include "server/tcp/connection_test_util.h"
#include "server/tcp/test_handler.h"
#include "server/tcp/tls_test_util.h"

namespace {

using reef::tcp::Connection;
using reef::tcp::ConnectionContext;
using reef::tcp::ConnectionLimits;
using reef::tcp::Millis;
using reef::tcp::TimerEntry;
using reef::tcp::TimerKind;
using reef::tcp::testing::EchoHandler;
using reef::tcp::testing::MemoryTlsClient;
using reef::tcp::testing::ParseResponses;

constexpr size_t kControlBytes = 4;
constexpr size_t kPaddings[] = {0, 100, 3000, 9000};
constexpr size_t kChunks[] = {1, 2, 7, 64, 300, 1500, 8192, 20000};
constexpr size_t kReadSteps[] = {1, 5, 100, 1000, 4096, 65536, 1 << 20, 1 << 20};

class Rng {
 public:
  explicit Rng(uint8_t seed) : state_(0x9e3779b97f4a7c15ULL ^ (uint64_t{seed} * 0x100000001b3ULL)) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

reef::tcp::SslContext& ServerContext() {
  static reef::tcp::SslContext ctx = [] {
    const auto cert = reef::tcp::testing::MakeSelfSigned();
    return reef::tcp::MakeServerContext(cert.certificate_pem, cert.private_key_pem).value();
  }();
  return ctx;
}

ConnectionLimits FuzzLimits(bool small_head, size_t max_response) {
  ConnectionLimits limits;
  limits.max_head_bytes = small_head ? 512 : 4096;
  limits.max_headers = 8;
  limits.head_timeout_ms = 1000;
  limits.keep_alive_timeout_ms = 2000;
  limits.tls_handshake_timeout_ms = 1000;
  limits.write_timeout_ms = 1500;
  limits.linger_timeout_ms = 500;
  // As small as allowed: one sealed response and the TLS slack.
  limits.max_output_bytes = reef::tcp::TlsSealedSize(std::max(max_response, reef::tcp::kMaxErrorResponseBytes)) +
                            reef::tcp::kTlsOutputSlack;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kControlBytes) return 0;
  const uint8_t mode = data[0];
  const bool tls = (mode & 1) != 0;
  const size_t padding = kPaddings[(mode >> 1) & 3];
  const bool small_head = (mode & 8) != 0;
  const bool client_closes = (mode & 16) != 0;
  const bool clock_moves = (mode & 32) != 0;
  Rng chunks(data[1]);
  Rng reads(data[2]);
  Rng clock(data[3]);
  std::span<const uint8_t> stream(data + kControlBytes, size - kControlBytes);

  EchoHandler handler(padding);
  const ConnectionLimits limits = FuzzLimits(small_head, handler.MaxResponseBytes());
  FUZZ_CHECK(reef::tcp::ValidateLimits(limits, handler.MaxResponseBytes()).ok());
  ConnectionContext ctx(limits, handler);
  Millis now = 1'000'000;
  auto conn = std::make_unique<Connection>(ctx, reef::tcp::testing::TestPeer(),
                                           tls ? ServerContext().get() : nullptr, now);
  std::unique_ptr<MemoryTlsClient> client;
  if (tls) client = std::make_unique<MemoryTlsClient>();

  std::string received;  // what the client read (decrypted under TLS)
  const size_t max_buffered = limits.max_head_bytes + ctx.limits.max_output_bytes +
                              reef::tcp::kTlsReadBytes + reef::tcp::TlsSealedSize(handler.MaxResponseBytes()) +
                              reef::tcp::kTlsOutputSlack;
  auto check_bounds = [&] {
    FUZZ_CHECK(conn->PendingOutput().size() <= std::max(limits.max_output_bytes,
                                                        reef::tcp::TlsSealedSize(handler.MaxResponseBytes()) +
                                                            reef::tcp::kTlsOutputSlack));
    FUZZ_CHECK(conn->BufferedBytes() <= max_buffered);
  };
  auto client_reads = [&](size_t max) {
    size_t taken = 0;
    while (taken < max) {
      std::span<const uint8_t> pending = conn->PendingOutput();
      if (pending.empty()) break;
      const size_t n = std::min(pending.size(), max - taken);
      if (tls) {
        client->Give(pending.first(n));
      } else {
        received.append(reinterpret_cast<const char*>(pending.data()), n);
      }
      conn->Sent(n, now);
      taken += n;
      check_bounds();
    }
    if (tls) received += client->ReadAll();
  };
  auto advance = [&](Millis ms) {
    now += ms;
    ctx.timers.Expire(now, [&](TimerEntry* entry, TimerKind kind) {
      static_cast<Connection*>(entry)->Expire(kind, now);
    });
  };
  bool handshaking = tls;  // the clock stands still until the handshake is done
  auto give = [&](std::span<const uint8_t> bytes) {
    size_t given = 0;
    for (int guard = 0; given < bytes.size() && guard < 100'000; ++guard) {
      if (conn->state() != Connection::State::kOpen &&
          conn->state() != Connection::State::kHandshake) {
        return;
      }
      const size_t budget = conn->ReceiveBudget();
      if (budget == 0) {
        // Backpressure: the client must read before it may send more.
        const size_t before = conn->PendingOutput().size();
        client_reads(kReadSteps[reads.Below(std::size(kReadSteps))]);
        if (conn->PendingOutput().size() == before && before > 0) client_reads(SIZE_MAX);
        if (conn->ReceiveBudget() == 0) {
          // Still no room with nothing left to send: only a closing connection may do that.
          FUZZ_CHECK(!conn->PendingOutput().empty() ||
                     (conn->state() != Connection::State::kOpen &&
                      conn->state() != Connection::State::kHandshake));
          return;
        }
        continue;
      }
      const size_t n = std::min({budget, kChunks[chunks.Below(std::size(kChunks))],
                                 bytes.size() - given});
      conn->Receive(bytes.subspan(given, n), now);
      given += n;
      check_bounds();
      if (reads.Below(4) == 0) client_reads(kReadSteps[reads.Below(std::size(kReadSteps))]);
      if (clock_moves && !handshaking && clock.Below(8) == 0) {
        advance(static_cast<Millis>(clock.Below(400)));
      }
    }
  };

  if (tls) {
    // The handshake, then the stream as application data.
    for (int round = 0; round < 20 && !client->Handshake() && !client->handshake_failed(); ++round) {
      std::vector<uint8_t> hello = client->TakeOutput();
      give(hello);
      client_reads(SIZE_MAX);
    }
    FUZZ_CHECK(client->Handshake());
    std::vector<uint8_t> finished = client->TakeOutput();
    give(finished);
    client_reads(SIZE_MAX);
    handshaking = false;
    client->Write(std::string_view(reinterpret_cast<const char*>(stream.data()), stream.size()));
    std::vector<uint8_t> records = client->TakeOutput();
    give(records);
  } else {
    give(stream);
  }
  if (client_closes && conn->state() != Connection::State::kClosed) conn->ReceiveEnd(now);
  // The client reads everything; requests that waited for room are answered meanwhile.
  for (int guard = 0; guard < 10'000 && !conn->PendingOutput().empty(); ++guard) {
    client_reads(SIZE_MAX);
  }
  check_bounds();

  std::string rest;
  auto responses = ParseResponses(received, &rest);
  FUZZ_CHECK(responses.has_value());
  if (ctx.stats.write_timeouts.load() == 0 && ctx.stats.tls_errors.load() == 0) {
    FUZZ_CHECK(rest.empty());
    FUZZ_CHECK(responses->size() == handler.calls() + ctx.stats.bad_requests.load());
  }
  FUZZ_CHECK(ctx.stats.bad_requests.load() <= 1);
  for (const auto& r : *responses) {
    FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 405 || r.status == 413 ||
               r.status == 414 || r.status == 431 || r.status == 505);
    if (r.status != 200) FUZZ_CHECK(!r.failure_reason.empty());
  }

  // Every phase has a timeout: past all of them, every connection is closed, holding
  // nothing.
  advance(10'000);
  advance(10'000);
  FUZZ_CHECK(conn->state() == Connection::State::kClosed);
  FUZZ_CHECK(conn->BufferedBytes() == 0);
  conn.reset();
  FUZZ_CHECK(ctx.timers.armed() == 0);
  ERR_clear_error();
  return 0;
}
