#include "load/tls_client.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "server/tcp/tls.h"
#include "server/tcp/tls_test_util.h"

namespace reef::load {
namespace {

// A blocking TLS server on one end of a socket pair: reads one line, answers "echo:"+it.
void Serve(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    char buffer[256];
    const int n = SSL_read(ssl, buffer, sizeof(buffer));
    if (n > 0) {
      const std::string reply = "echo:" + std::string(buffer, static_cast<size_t>(n));
      SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ERR_clear_error();
  close(fd);
}

bool Wait(int fd, TlsStream::Io io) {
  pollfd p{fd, static_cast<short>(io == TlsStream::Io::kWantWrite ? POLLOUT : POLLIN), 0};
  return poll(&p, 1, 5000) == 1;
}

// One connection: handshake, a request, its answer.
std::string RoundTrip(TlsClientContext& context, SSL_CTX* server) {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  std::thread thread(Serve, server, fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  auto stream = TlsStream::Start(context, fds[0]);
  REQUIRE(stream != nullptr);
  TlsStream::Io io;
  while ((io = stream->Handshake()) != TlsStream::Io::kOk) {
    REQUIRE((io == TlsStream::Io::kWantRead || io == TlsStream::Io::kWantWrite));
    REQUIRE(Wait(fds[0], io));
  }
  CHECK(stream->handshake_done());
  size_t written = 0;
  while ((io = stream->Write("hello", 5, &written)) != TlsStream::Io::kOk) REQUIRE(Wait(fds[0], io));
  CHECK(written == 5);
  std::string got;
  char buffer[256];
  while (true) {
    size_t n = 0;
    io = stream->Read(buffer, sizeof(buffer), &n);
    if (io == TlsStream::Io::kOk) {
      got.append(buffer, n);
      continue;
    }
    if (io != TlsStream::Io::kWantRead) break;  // closed
    if (!Wait(fds[0], io)) break;
  }
  stream.reset();
  close(fds[0]);
  thread.join();
  return got;
}

TEST_CASE("a non-blocking TLS client: handshake, write, read; sessions resumed when asked") {
  const auto cert = tcp::testing::MakeSelfSigned();
  tcp::SslContext server =
      tcp::MakeServerContext(cert.certificate_pem, cert.private_key_pem).value();
  SUBCASE("full handshakes") {
    auto context = TlsClientContext::Create(/*resume=*/false);
    REQUIRE(context.ok());
    CHECK(RoundTrip(**context, server.get()) == "echo:hello");
    CHECK(RoundTrip(**context, server.get()) == "echo:hello");
    CHECK((*context)->handshakes() == 2);
    CHECK((*context)->resumed() == 0);
  }
  SUBCASE("resumed") {
    auto context = TlsClientContext::Create(/*resume=*/true);
    REQUIRE(context.ok());
    CHECK(RoundTrip(**context, server.get()) == "echo:hello");
    CHECK(RoundTrip(**context, server.get()) == "echo:hello");
    CHECK((*context)->handshakes() == 2);
    CHECK((*context)->resumed() == 1);
  }
}

}  // namespace
}  // namespace reef::load
