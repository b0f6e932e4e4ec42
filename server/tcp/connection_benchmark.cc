// The connection state machine's cost per request, without sockets. Run by hand:
//   bazel run --config=opt //server/tcp:connection_benchmark
// Each iteration gives one kept-alive connection a request, takes the response and tells
// the connection it was sent: parsing, the (echo) handler, buffers and timers; plain,
// pipelined 16 at a time, and over TLS (records encrypted by an in-memory client, which
// is measured too).
#include <benchmark/benchmark.h>

#include <string>

#include "server/tcp/connection.h"
#include "server/tcp/connection_test_util.h"
#include "server/tcp/tls_test_util.h"

namespace reef::tcp {
namespace {

constexpr std::string_view kRequest =
    "GET /announce?info_hash=%94%9cL%91%e0%c5%eb%e3_%9evAOb%80%3a%ff%9f%0e%1f"
    "&peer_id=-LT2080-ueSUaXwbLtx1&port=37401&uploaded=0&downloaded=0&left=0&corrupt=0"
    "&key=424E99DB&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1"
    "&redundant=0 HTTP/1.1\r\n"
    "Host: 127.0.0.1:44045\r\n"
    "User-Agent: libtorrent/2.0.8.0\r\n"
    "Accept-Encoding: gzip\r\n"
    "\r\n";

void BM_PlainKeepAlive(benchmark::State& state) {
  const size_t pipelined = static_cast<size_t>(state.range(0));
  std::string batch;
  for (size_t i = 0; i < pipelined; ++i) batch += kRequest;
  testing::EchoHandler handler;
  ConnectionContext ctx(ConnectionLimits{}, handler);
  Connection conn(ctx, testing::TestPeer(), nullptr, 0);
  Millis now = 0;
  for (auto _ : state) {
    conn.Receive(testing::AsBytes(batch), ++now);
    benchmark::DoNotOptimize(conn.PendingOutput().data());
    conn.Sent(conn.PendingOutput().size(), now);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(pipelined));
}
BENCHMARK(BM_PlainKeepAlive)->Arg(1)->Arg(16);

void BM_TlsKeepAlive(benchmark::State& state) {
  const testing::TestCertificate cert = testing::MakeSelfSigned();
  SslContext server = MakeServerContext(cert.certificate_pem, cert.private_key_pem).value();
  testing::ConnectionHarness h(ConnectionLimits{}, 0, server.get());
  testing::MemoryTlsClient client;
  for (int round = 0; round < 10 && !client.Handshake(); ++round) {
    std::vector<uint8_t> out = client.TakeOutput();
    h.Feed(std::span<const uint8_t>(out));
    client.Give(testing::AsBytes(h.Drain()));
  }
  std::vector<uint8_t> finished = client.TakeOutput();
  h.Feed(std::span<const uint8_t>(finished));
  client.Give(testing::AsBytes(h.Drain()));
  client.ReadAll();
  for (auto _ : state) {
    client.Write(kRequest);
    std::vector<uint8_t> records = client.TakeOutput();
    h.Feed(std::span<const uint8_t>(records));
    client.Give(testing::AsBytes(h.Drain()));
    benchmark::DoNotOptimize(client.ReadAll());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsKeepAlive);

void BM_TlsFullHandshake(benchmark::State& state) {
  const testing::TestCertificate cert = testing::MakeSelfSigned();
  SslContext server = MakeServerContext(cert.certificate_pem, cert.private_key_pem).value();
  for (auto _ : state) {
    testing::ConnectionHarness h(ConnectionLimits{}, 0, server.get());
    testing::MemoryTlsClient client;
    for (int round = 0; round < 10 && !client.Handshake(); ++round) {
      std::vector<uint8_t> out = client.TakeOutput();
      h.Feed(std::span<const uint8_t>(out));
      client.Give(testing::AsBytes(h.Drain()));
    }
    benchmark::DoNotOptimize(h.state());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsFullHandshake);

}  // namespace
}  // namespace reef::tcp
