// The hiredis-epoll adapter against a fake Redis server on loopback (a listening socket
// this test reads and writes by hand), so the bytes on the wire are seen exactly.
#include "server/redis/async_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "doctest/doctest.h"

namespace reef::redis {
namespace {

constexpr uint64_t kToken = 77;

// A listening socket on 127.0.0.1; Accept() takes the client's connection.
class FakeServer {
 public:
  FakeServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(listen_fd_, 4) == 0);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~FakeServer() {
    if (client_fd_ >= 0) close(client_fd_);
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  NodeAddress node() const { return {"127.0.0.1", port_}; }
  void Accept() {
    pollfd p{listen_fd_, POLLIN, 0};
    REQUIRE(poll(&p, 1, 5000) == 1);
    client_fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(client_fd_ >= 0);
  }
  // One read(2) of what the client sent, waiting up to 5 s for it.
  std::string ReadOnce() {
    pollfd p{client_fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return "";
    char buffer[65536];
    const ssize_t n = read(client_fd_, buffer, sizeof(buffer));
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }
  void Write(std::string_view bytes) {
    REQUIRE(write(client_fd_, bytes.data(), bytes.size()) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void CloseClient() {
    close(client_fd_);
    client_fd_ = -1;
  }

 private:
  int listen_fd_ = -1;
  int client_fd_ = -1;
  uint16_t port_ = 0;
};

// Runs the loop for the one connection until `done` holds; false after 5 s or 10000
// wakeups.
bool RunUntil(int epoll_fd, AsyncConnection& connection, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int i = 0; i < 10000 && !done(); ++i) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    epoll_event events[4];
    const int n = epoll_wait(epoll_fd, events, 4, 50);
    for (int e = 0; e < n; ++e) {
      const uint64_t token = events[e].data.u64;
      CHECK(token == kToken);
      connection.HandleEvents(events[e].events);
    }
  }
  return done();
}

std::string Format(std::vector<std::string> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* command = nullptr;
  const int length = redisFormatCommandArgv(&command, static_cast<int>(argv.size()),
                                            argv.data(), lengths.data());
  std::string out(command, static_cast<size_t>(length));
  redisFreeCommand(command);
  return out;
}

// What a callback saw: each reply as text ("nil" for a null reply, "lost" for nullptr).
struct Seen {
  std::vector<std::string> replies;
};
void Record(redisAsyncContext*, void* reply, void* privdata) {
  auto* seen = static_cast<Seen*>(privdata);
  const auto* r = static_cast<const redisReply*>(reply);
  if (r == nullptr) {
    seen->replies.push_back("lost");
  } else if (r->type == REDIS_REPLY_NIL) {
    seen->replies.push_back("nil");
  } else if (r->type == REDIS_REPLY_INTEGER) {
    seen->replies.push_back(std::to_string(r->integer));
  } else {
    seen->replies.push_back(std::string(r->str, r->len));
  }
}

struct Epoll {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  ~Epoll() { close(fd); }
};

// A fake server, an epoll fd and a connection to the server on it, accepted.
struct Connected {
  FakeServer server;
  Epoll epoll;
  std::unique_ptr<AsyncConnection> connection;
  Connected() {
    auto made = AsyncConnection::Connect(server.node(), epoll.fd, kToken);
    REQUIRE(made.ok());
    connection = *std::move(made);
    server.Accept();
  }
};

TEST_CASE("commands queued before the connect completes leave in one write; replies in order") {
  FakeServer server;
  Epoll epoll;
  auto connection = AsyncConnection::Connect(server.node(), epoll.fd, kToken);
  REQUIRE(connection.ok());
  AsyncConnection& c = **connection;
  CHECK(c.alive());
  server.Accept();
  Seen seen;
  const std::string get = Format({"GET", "a"});
  const std::string incr = Format({"INCR", "b"});
  const std::string ping = Format({"PING"});
  REQUIRE(c.Send(get, Record, &seen));
  REQUIRE(c.Send(incr, Record, &seen));
  REQUIRE(c.Send(ping, Record, &seen));
  // Nothing is written until the loop sees the socket writable.
  REQUIRE(RunUntil(epoll.fd, c, [&] { return c.connected() && (c.interest() & EPOLLOUT) == 0; }));
  CHECK(server.ReadOnce() == get + incr + ping);  // one read: they were pipelined
  CHECK(c.interest() == EPOLLIN);                  // no write interest left: no spinning
  epoll_event idle;
  CHECK(epoll_wait(epoll.fd, &idle, 1, 100) == 0);  // nothing to do, nothing reported
  server.Write("$5\r\nhello\r\n:7\r\n+PONG\r\n");
  REQUIRE(RunUntil(epoll.fd, c, [&] { return seen.replies.size() == 3; }));
  CHECK(seen.replies == std::vector<std::string>{"hello", "7", "PONG"});
}

TEST_CASE("Flush writes a batch at once, without waiting for the loop") {
  Connected setup;
  FakeServer& server = setup.server;
  Epoll& epoll = setup.epoll;
  AsyncConnection& c = *setup.connection;
  REQUIRE(RunUntil(epoll.fd, c, [&] { return c.connected(); }));
  Seen seen;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string command = Format({"GET", "key" + std::to_string(i)});
    expected += command;
    REQUIRE(c.Send(command, Record, &seen));
  }
  CHECK((c.interest() & EPOLLOUT) != 0);
  c.Flush();
  CHECK((c.interest() & EPOLLOUT) == 0);
  std::string received;
  while (received.size() < expected.size()) {
    const std::string more = server.ReadOnce();
    REQUIRE_FALSE(more.empty());
    received += more;
  }
  CHECK(received == expected);
  std::string replies;
  for (int i = 0; i < 100; ++i) replies += ":" + std::to_string(i) + "\r\n";
  server.Write(replies);
  REQUIRE(RunUntil(epoll.fd, c, [&] { return seen.replies.size() == 100; }));
  for (int i = 0; i < 100; ++i) CHECK(seen.replies[static_cast<size_t>(i)] == std::to_string(i));
}

TEST_CASE("a reply split across reads is put together; a partial reply waits") {
  Connected setup;
  FakeServer& server = setup.server;
  Epoll& epoll = setup.epoll;
  AsyncConnection& c = *setup.connection;
  Seen seen;
  REQUIRE(c.Send(Format({"GET", "x"}), Record, &seen));
  REQUIRE(RunUntil(epoll.fd, c, [&] { return c.connected() && c.interest() == EPOLLIN; }));
  server.ReadOnce();
  server.Write("$10\r\n01234");
  // Half a reply: one round of events, and no callback yet.
  epoll_event event;
  if (epoll_wait(epoll.fd, &event, 1, 200) == 1) c.HandleEvents(event.events);
  CHECK(seen.replies.empty());
  server.Write("56789\r\n");
  REQUIRE(RunUntil(epoll.fd, c, [&] { return seen.replies.size() == 1; }));
  CHECK(seen.replies[0] == "0123456789");
}

TEST_CASE("the server closing the connection: every pending callback gets nullptr once") {
  Connected setup;
  FakeServer& server = setup.server;
  Epoll& epoll = setup.epoll;
  AsyncConnection& c = *setup.connection;
  Seen seen;
  REQUIRE(c.Send(Format({"GET", "a"}), Record, &seen));
  REQUIRE(c.Send(Format({"GET", "b"}), Record, &seen));
  REQUIRE(RunUntil(epoll.fd, c, [&] { return c.connected() && c.interest() == EPOLLIN; }));
  server.ReadOnce();
  server.Write("$1\r\n1\r\n");  // the first reply, then the server goes away
  server.CloseClient();
  REQUIRE(RunUntil(epoll.fd, c, [&] { return !c.alive(); }));
  CHECK(seen.replies == std::vector<std::string>{"1", "lost"});
  CHECK_FALSE(c.error().empty());
  CHECK_FALSE(c.Send(Format({"PING"}), Record, &seen));  // closed: refused, no callback
  CHECK(seen.replies.size() == 2);
  // The socket is out of the epoll set: nothing more is reported.
  epoll_event event;
  CHECK(epoll_wait(epoll.fd, &event, 1, 50) == 0);
}

TEST_CASE("a refused connect ends the connection without a crash") {
  int port = 0;
  {
    FakeServer closed;  // a port that was free a moment ago and is closed now
    port = closed.port();
  }
  Epoll epoll;
  auto connection =
      AsyncConnection::Connect({"127.0.0.1", static_cast<uint16_t>(port)}, epoll.fd, kToken);
  if (!connection.ok()) {
    // Linux may refuse a loopback connect at once; that is a clear error too.
    CHECK(absl::IsUnavailable(connection.status()));
    return;
  }
  AsyncConnection& c = **connection;
  Seen seen;
  REQUIRE(c.Send(Format({"PING"}), Record, &seen));
  REQUIRE(RunUntil(epoll.fd, c, [&] { return !c.alive(); }));
  CHECK(seen.replies == std::vector<std::string>{"lost"});
  CHECK(c.error().find("refused") != std::string::npos);
}

TEST_CASE("Close and the destructor fail pending callbacks and leave the epoll set empty") {
  FakeServer server;
  Epoll epoll;
  Seen seen;
  {
    auto connection = AsyncConnection::Connect(server.node(), epoll.fd, kToken);
    REQUIRE(connection.ok());
    server.Accept();
    REQUIRE((*connection)->Send(Format({"GET", "a"}), Record, &seen));
    (*connection)->Close();
    CHECK_FALSE((*connection)->alive());
    CHECK(seen.replies == std::vector<std::string>{"lost"});
    connection = AsyncConnection::Connect(server.node(), epoll.fd, kToken);
    REQUIRE(connection.ok());
    REQUIRE((*connection)->Send(Format({"GET", "b"}), Record, &seen));
  }
  CHECK(seen.replies == std::vector<std::string>{"lost", "lost"});
  epoll_event event;
  CHECK(epoll_wait(epoll.fd, &event, 1, 50) == 0);
}

TEST_CASE("a context closed from inside its own callback is freed after the callback") {
  Connected setup;
  FakeServer& server = setup.server;
  Epoll& epoll = setup.epoll;
  AsyncConnection& c = *setup.connection;
  struct State {
    AsyncConnection* connection;
    int calls = 0;
    bool alive_inside = false;
  } state{&c};
  auto close_inside = [](redisAsyncContext*, void*, void* privdata) {
    auto* s = static_cast<State*>(privdata);
    ++s->calls;
    s->alive_inside = s->connection->alive();
    s->connection->Close();  // deferred by hiredis
  };
  REQUIRE(c.Send(Format({"PING"}), close_inside, &state));
  REQUIRE(c.Send(Format({"PING"}), close_inside, &state));
  REQUIRE(RunUntil(epoll.fd, c, [&] { return c.connected() && c.interest() == EPOLLIN; }));
  server.ReadOnce();
  server.Write("+PONG\r\n");
  REQUIRE(RunUntil(epoll.fd, c, [&] { return !c.alive(); }));
  CHECK(state.calls == 2);  // the reply, then nullptr for the second as it is freed
  CHECK(state.alive_inside);
}

}  // namespace
}  // namespace reef::redis
