#include "server/ws/relay_mailbox.h"

#include <doctest/doctest.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace reef::ws {
namespace {

std::vector<uint8_t> FrameOf(uint32_t seq, size_t size) {
  std::vector<uint8_t> f(size);
  for (size_t i = 0; i < size; ++i) f[i] = static_cast<uint8_t>(seq * 31 + i);
  if (size >= 4) std::memcpy(f.data(), &seq, 4);
  return f;
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

TEST_CASE("a ring gives back frames in order, across its wrap, and refuses when full") {
  SpscFrameRing ring(1024);
  CHECK(ring.max_frame() == 512 - 16);
  uint32_t pushed = 0;
  uint32_t drained = 0;
  // Sizes that do not divide the ring, so records land everywhere, wrap markers included.
  const size_t sizes[] = {0, 1, 7, 8, 9, 100, 333, 496};
  for (int round = 0; round < 200; ++round) {
    const size_t size = sizes[round % 8];
    while (ring.TryPush({1, pushed, pushed * 2}, FrameOf(pushed, size))) ++pushed;
    ring.Drain([&](const ConnectionHandle& to, std::span<const uint8_t> frame) {
      CHECK(to.worker == 1);
      CHECK(to.slot == drained);
      CHECK(to.generation == drained * 2);
      const auto want = FrameOf(drained, size);
      CHECK(std::vector<uint8_t>(frame.begin(), frame.end()) == want);
      ++drained;
    });
    CHECK(drained == pushed);
  }
  CHECK(pushed > 1000);
  CHECK_FALSE(ring.TryPush({}, std::vector<uint8_t>(ring.max_frame() + 1)));
  CHECK(ring.TryPush({}, std::vector<uint8_t>(ring.max_frame())));
}

TEST_CASE("a full ring takes more once the consumer has drained") {
  SpscFrameRing ring(256);
  int n = 0;
  while (ring.TryPush({}, std::vector<uint8_t>(40))) ++n;
  CHECK(n == 256 / 56);  // 16 bytes of header + 40 of frame each
  CHECK(ring.Drain([](const ConnectionHandle&, std::span<const uint8_t>) {}) ==
        static_cast<size_t>(n));
  CHECK(ring.TryPush({}, std::vector<uint8_t>(40)));
}

TEST_CASE("one producer and one consumer thread: every frame arrives once, in order") {
  SpscFrameRing ring(4096);
  constexpr uint32_t kFrames = 50'000;
  std::thread producer([&] {
    for (uint32_t i = 0; i < kFrames; ++i) {
      const auto frame = FrameOf(i, 1 + i % 200);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!ring.TryPush({0, i, 0}, frame)) {
        if (std::chrono::steady_clock::now() > deadline) return;
        std::this_thread::yield();
      }
    }
  });
  uint32_t next = 0;
  bool in_order = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (next < kFrames && std::chrono::steady_clock::now() < deadline) {
    ring.Drain([&](const ConnectionHandle& to, std::span<const uint8_t> frame) {
      const auto want = FrameOf(next, 1 + next % 200);
      in_order = in_order && to.slot == next &&
                 std::vector<uint8_t>(frame.begin(), frame.end()) == want;
      ++next;
    });
    std::this_thread::yield();
  }
  producer.join();
  CHECK(in_order);
  CHECK(next == kFrames);
}

TEST_CASE("mailboxes route by worker, wake the receiver once per batch, and drain every sender") {
  auto created = RelayMailboxes::Create(3, 4096, 1000);
  REQUIRE(created.ok());
  RelayMailboxes& boxes = **created;
  CHECK(boxes.ring_bytes() == 4096);
  const auto frame = FrameOf(7, 100);
  CHECK_FALSE(boxes.Push(0, {0, 1, 1}, frame));  // never to itself
  CHECK_FALSE(boxes.Push(0, {3, 1, 1}, frame));  // no such worker
  CHECK(boxes.Push(0, {2, 5, 1}, frame));
  CHECK(boxes.Push(1, {2, 6, 1}, frame));
  CHECK(boxes.Push(0, {2, 7, 1}, frame));
  CHECK_FALSE(Readable(boxes.wake_fd(2)));  // not until the senders' batches end
  boxes.WakePending(0);
  CHECK(Readable(boxes.wake_fd(2)));
  CHECK_FALSE(Readable(boxes.wake_fd(1)));
  boxes.WakePending(1);
  std::vector<uint32_t> slots;
  CHECK(boxes.Drain(2, [&](const ConnectionHandle& to, std::span<const uint8_t> f) {
    CHECK(to.worker == 2);
    CHECK(f.size() == 100);
    slots.push_back(to.slot);
  }) == 3);
  CHECK(slots == std::vector<uint32_t>{5, 7, 6});  // per sender, in order
  CHECK_FALSE(Readable(boxes.wake_fd(2)));
  boxes.WakePending(0);  // nothing pushed since: no wake-up
  CHECK_FALSE(Readable(boxes.wake_fd(2)));
}

TEST_CASE("a full mailbox refuses and the sender goes on") {
  auto created = RelayMailboxes::Create(2, 0, 1000);  // the floor: two of the largest frames
  REQUIRE(created.ok());
  RelayMailboxes& boxes = **created;
  CHECK(boxes.ring_bytes() == 4096);
  int accepted = 0;
  while (boxes.Push(0, {1, 0, 0}, FrameOf(1, 1000))) ++accepted;
  CHECK(accepted == 4);
  CHECK(boxes.Drain(1, [](const ConnectionHandle&, std::span<const uint8_t>) {}) == 4);
  CHECK(boxes.Push(0, {1, 0, 0}, FrameOf(1, 1000)));
}

TEST_CASE("mailbox sizes are validated") {
  CHECK_FALSE(RelayMailboxes::Create(0, 4096, 100).ok());
  CHECK_FALSE(RelayMailboxes::Create(kMaxRelayWorkers + 1, 4096, 100).ok());
  CHECK_FALSE(RelayMailboxes::Create(2, kMaxRelayQueueBytes + 1, 100).ok());
}

}  // namespace
}  // namespace reef::ws
