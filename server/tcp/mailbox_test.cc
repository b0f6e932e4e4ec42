#include "server/tcp/mailbox.h"

#include <doctest/doctest.h>
#include <poll.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace reef::tcp {
namespace {

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

TEST_CASE("messages come out in order; the fd is readable only while some wait") {
  auto box = Mailbox<std::string>::Create(4);
  REQUIRE(box.ok());
  Mailbox<std::string>& m = **box;
  CHECK(m.capacity() == 4);
  CHECK_FALSE(Readable(m.fd(), 0));
  CHECK(m.TryPush("a"));
  CHECK(m.TryPush("b"));
  CHECK(Readable(m.fd(), 0));
  std::vector<std::string> got;
  CHECK(m.Drain([&](std::string&& s) { got.push_back(std::move(s)); }) == 2);
  CHECK(got == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(Readable(m.fd(), 0));
}

TEST_CASE("a full mailbox drops and counts; it never blocks") {
  auto box = Mailbox<int>::Create(3);  // rounded up to 4
  REQUIRE(box.ok());
  Mailbox<int>& m = **box;
  for (int i = 0; i < 4; ++i) CHECK(m.TryPush(int{i}));
  CHECK_FALSE(m.TryPush(99));
  CHECK(m.dropped() == 1);
  int sum = 0;
  m.Drain([&](int&& v) { sum += v; });
  CHECK(sum == 0 + 1 + 2 + 3);
  CHECK(m.TryPush(5));  // room again
}

TEST_CASE("Drain stops at max and leaves the fd readable") {
  auto box = Mailbox<int>::Create(8);
  REQUIRE(box.ok());
  Mailbox<int>& m = **box;
  for (int i = 0; i < 5; ++i) m.TryPush(int{i});
  CHECK(m.Drain([](int&&) {}, 2) == 2);
  CHECK(Readable(m.fd(), 0));
  CHECK(m.Drain([](int&&) {}) == 3);
  CHECK_FALSE(Readable(m.fd(), 0));
}

TEST_CASE("undelivered messages are destroyed with the mailbox") {
  auto counter = std::make_shared<int>(0);
  {
    auto box = Mailbox<std::shared_ptr<int>>::Create(4);
    REQUIRE(box.ok());
    (*box)->TryPush(counter);
    (*box)->TryPush(counter);
    CHECK(counter.use_count() == 3);
  }
  CHECK(counter.use_count() == 1);
}

TEST_CASE("several producers, one consumer sleeping on the fd: nothing lost, nothing twice") {
  auto box = Mailbox<uint64_t>::Create(64);
  REQUIRE(box.ok());
  Mailbox<uint64_t>& m = **box;
  constexpr int kProducers = 3;
  constexpr uint64_t kPerProducer = 20'000;
  std::atomic<uint64_t> pushed{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        const uint64_t value = (static_cast<uint64_t>(p) << 32) | i;
        while (!m.TryPush(uint64_t{value})) std::this_thread::yield();
        pushed.fetch_add(1);
      }
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t received = 0;
  bool in_order = true;
  std::thread consumer([&] {
    while (received < kProducers * kPerProducer) {
      if (!Readable(m.fd(), 5000)) break;  // a lost wake-up would stall here
      m.Drain([&](uint64_t&& v) {
        const size_t p = static_cast<size_t>(v >> 32);
        if ((v & 0xffffffffu) != next[p]) in_order = false;
        next[p] = (v & 0xffffffffu) + 1;
        ++received;
      });
    }
    done = true;
  });
  for (auto& t : producers) t.join();
  consumer.join();
  CHECK(done.load());
  CHECK(received == kProducers * kPerProducer);
  CHECK(in_order);  // each producer's messages in its order
}

}  // namespace
}  // namespace reef::tcp
