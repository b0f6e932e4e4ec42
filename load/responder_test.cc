// The do-nothing responder answers each BEP 15 request with a fixed well-formed reply
// carrying the request's transaction id, drops anything else, and serves over loopback.
#include "load/responder.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <thread>
#include <vector>

#include "load/run.h"
#include "protocol/common/byte_reader.h"
#include "protocol/common/byte_writer.h"

namespace reef::load {
namespace {

std::vector<uint8_t> Header(uint64_t connection_id, uint32_t action, uint32_t tid,
                            size_t total) {
  std::vector<uint8_t> out(total);
  ByteWriter w(out);
  w.WriteU64Be(connection_id);
  w.WriteU32Be(action);
  w.WriteU32Be(tid);
  return out;
}

std::vector<uint8_t> Announce(uint32_t tid, int32_t num_want) {
  std::vector<uint8_t> a = Header(kNullConnectionId, 1, tid, 98);
  ByteWriter w(std::span<uint8_t>(a).subspan(92, 4));
  w.WriteI32Be(num_want);
  return a;
}

TEST_CASE("connect: fixed connection id, transaction id echoed") {
  std::array<uint8_t, 1500> out{};
  auto req = Header(0x41727101980ULL, 0, 0xdeadbeef, 16);
  REQUIRE(NullReply(req, false, 0, out) == 16);
  ByteReader r(out);
  uint32_t action = 9;
  uint32_t tid = 0;
  uint64_t cid = 0;
  CHECK((r.ReadU32Be(&action) && r.ReadU32Be(&tid) && r.ReadU64Be(&cid)));
  CHECK(action == 0);
  CHECK(tid == 0xdeadbeef);
  CHECK(cid == kNullConnectionId);
  // Wrong magic: dropped.
  CHECK(NullReply(Header(1, 0, 1, 16), false, 0, out) == 0);
}

TEST_CASE("announce: fixed peers of the socket's family, no more than num_want") {
  std::array<uint8_t, 1500> out{};
  CHECK(NullReply(Announce(5, -1), false, 10, out) == 20 + 10 * 6);
  CHECK(NullReply(Announce(5, -1), true, 10, out) == 20 + 10 * 18);
  CHECK(NullReply(Announce(5, 3), false, 10, out) == 20 + 3 * 6);
  CHECK(NullReply(Announce(5, 0), false, 10, out) == 20);
  ByteReader r(out);
  uint32_t action = 0;
  uint32_t tid = 0;
  int32_t interval = 0;
  CHECK((r.ReadU32Be(&action) && r.ReadU32Be(&tid) && r.ReadI32Be(&interval)));
  CHECK(action == 1);
  CHECK(tid == 5);
  CHECK(interval == kNullInterval);
  // One byte short of an announce: dropped.
  auto short_announce = Announce(5, -1);
  short_announce.pop_back();
  CHECK(NullReply(short_announce, false, 10, out) == 0);
}

TEST_CASE("scrape: one zero entry per hash, limits") {
  std::array<uint8_t, 1500> out{};
  CHECK(NullReply(Header(1, 2, 7, 16 + 20), false, 0, out) == 8 + 12);
  CHECK(NullReply(Header(1, 2, 7, 16 + 74 * 20), false, 0, out) == 8 + 74 * 12);
  CHECK(NullReply(Header(1, 2, 7, 16 + 75 * 20), false, 0, out) == 0);
  CHECK(NullReply(Header(1, 2, 7, 16), false, 0, out) == 0);
  CHECK(NullReply(Header(1, 2, 7, 16 + 21), false, 0, out) == 0);
}

TEST_CASE("garbage is dropped") {
  std::array<uint8_t, 1500> out{};
  CHECK(NullReply(Header(1, 3, 7, 16), false, 0, out) == 0);
  CHECK(NullReply(Header(1, 0xffffffff, 7, 16), false, 0, out) == 0);
  std::vector<uint8_t> tiny(15);
  CHECK(NullReply(tiny, false, 0, out) == 0);
  CHECK(NullReply({}, false, 0, out) == 0);
}

TEST_CASE("serves over loopback until stopped") {
  for (const char* bind : {"127.0.0.1:0", "[::1]:0"}) {
    INFO(bind);
    auto responder = NullResponder::Bind(*ParseEndpoint(bind, true), 2);
    REQUIRE(responder.ok());
    const Endpoint local = (*responder)->local();
    CHECK(local.port() != 0);
    std::atomic<bool> stop{false};
    std::thread server([&] {
      CHECK((*responder)->Serve(stop, NowNs() + 30'000'000'000ull).ok());
    });
    const int fd = socket(local.family(), SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    timeval tv{30, 0};  // generous: only a failing test waits it out
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    REQUIRE(connect(fd, local.sa(), local.len) == 0);
    auto garbage = Header(1, 7, 1, 16);
    CHECK(send(fd, garbage.data(), garbage.size(), 0) == 16);
    for (uint32_t tid = 100; tid < 110; ++tid) {
      auto req = Announce(tid, -1);
      CHECK(send(fd, req.data(), req.size(), 0) == 98);
      std::array<uint8_t, 1500> in{};
      const ssize_t n = recv(fd, in.data(), in.size(), 0);
      CHECK(n == static_cast<ssize_t>(20 + 2 * (local.is_v6() ? 18 : 6)));
      ByteReader r(in);
      uint32_t action = 0;
      uint32_t got_tid = 0;
      CHECK((r.ReadU32Be(&action) && r.ReadU32Be(&got_tid)));
      CHECK(got_tid == tid);
    }
    close(fd);
    stop.store(true);
    server.join();
    CHECK((*responder)->answered() == 10);
    CHECK((*responder)->dropped() == 1);
  }
}

}  // namespace
}  // namespace reef::load
