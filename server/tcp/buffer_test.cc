#include "server/tcp/buffer.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

namespace reef::tcp {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
std::string Text(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST_CASE("a buffer holds a block only while it holds bytes") {
  BufferPool pool(16, 4);
  ByteBuffer buffer;
  CHECK_FALSE(buffer.has_block());
  CHECK(buffer.room(pool) == 16);
  REQUIRE(buffer.Append(Bytes("hello"), pool));
  CHECK(buffer.has_block());
  CHECK(pool.in_use() == 1);
  CHECK(Text(buffer.data()) == "hello");
  buffer.Consume(2, pool);
  CHECK(Text(buffer.data()) == "llo");
  buffer.Consume(3, pool);
  CHECK_FALSE(buffer.has_block());
  CHECK(pool.in_use() == 0);
  CHECK(pool.free_blocks() == 1);  // kept for reuse
}

TEST_CASE("a buffer never grows past its block: an append that does not fit is refused whole") {
  BufferPool pool(8, 4);
  ByteBuffer buffer;
  REQUIRE(buffer.Append(Bytes("12345"), pool));
  CHECK_FALSE(buffer.Append(Bytes("6789"), pool));  // 9 > 8
  CHECK(Text(buffer.data()) == "12345");
  CHECK(buffer.Append(Bytes("678"), pool));  // exactly full
  CHECK(buffer.room(pool) == 0);
  buffer.Release(pool);
}

TEST_CASE("Writable moves the bytes to the front so all the room is usable") {
  BufferPool pool(8, 4);
  ByteBuffer buffer;
  REQUIRE(buffer.Append(Bytes("abcdefgh"), pool));
  buffer.Consume(6, pool);
  std::span<uint8_t> w = buffer.Writable(pool);
  CHECK(w.size() == 6);
  std::memcpy(w.data(), "ijk", 3);
  buffer.Commit(3, pool);
  CHECK(Text(buffer.data()) == "ghijk");
  buffer.Release(pool);
}

TEST_CASE("Commit(0) on an empty buffer gives the block back") {
  BufferPool pool(8, 4);
  ByteBuffer buffer;
  (void)buffer.Writable(pool);
  CHECK(pool.in_use() == 1);
  buffer.Commit(0, pool);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("the pool keeps at most max_free blocks") {
  BufferPool pool(8, 2);
  std::vector<uint8_t*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(pool.Acquire());
  for (uint8_t* b : blocks) pool.Release(b);
  CHECK(pool.free_blocks() == 2);
  CHECK(pool.in_use() == 0);
}

}  // namespace
}  // namespace reef::tcp
