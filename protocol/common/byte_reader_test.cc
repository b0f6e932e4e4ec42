#include "protocol/common/byte_reader.h"

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef {
namespace {

constexpr std::array<uint8_t, 15> kBytes = {
    0x01,                                            // u8
    0x02, 0x03,                                      // u16
    0x04, 0x05, 0x06, 0x07,                          // u32
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,  // u64
};

TEST_CASE("reads big-endian values in order") {
  ByteReader r(kBytes);
  uint8_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  uint64_t d = 0;
  CHECK(r.ReadU8(&a));
  CHECK(r.ReadU16Be(&b));
  CHECK(r.ReadU32Be(&c));
  CHECK(r.ReadU64Be(&d));
  CHECK(a == 0x01);
  CHECK(b == 0x0203);
  CHECK(c == 0x04050607);
  CHECK(d == 0x08090a0b0c0d0e0fULL);
  CHECK(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(r.consumed() == kBytes.size());
}

// Bytes with the high bit set in some and not others, so a wrong swap or sign shows.
constexpr std::array<uint8_t, 16> kMixed = {0x81, 0x02, 0xf3, 0x44, 0x95, 0x06, 0xe7, 0x78,
                                            0x09, 0xda, 0x1b, 0xfc, 0x2d, 0x8e, 0x3f, 0xa0};

// The big-endian value of the n bytes at p, by shifts: the reference for the reader's
// load and byte swap.
uint64_t ShiftedBigEndian(const uint8_t* p, size_t n) {
  uint64_t value = 0;
  for (size_t i = 0; i < n; ++i) value = value << 8 | p[i];
  return value;
}

TEST_CASE("reads (a load and a byte swap) equal the byte shifts at every offset") {
  for (size_t offset = 0; offset < 8; ++offset) {
    CAPTURE(offset);
    const std::span<const uint8_t> in = std::span<const uint8_t>(kMixed).subspan(offset);
    ByteReader r16(in);
    ByteReader r32(in);
    ByteReader r64(in);
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    REQUIRE(r16.ReadU16Be(&u16));
    REQUIRE(r32.ReadU32Be(&u32));
    REQUIRE(r64.ReadU64Be(&u64));
    CHECK(u16 == ShiftedBigEndian(in.data(), 2));
    CHECK(u32 == ShiftedBigEndian(in.data(), 4));
    CHECK(u64 == ShiftedBigEndian(in.data(), 8));
  }
  // And big-endian: two spot checks written out.
  ByteReader r(std::span<const uint8_t>(kMixed).subspan(3));
  uint64_t v = 0;
  REQUIRE(r.ReadU64Be(&v));
  CHECK(v == 0x449506e77809da1bULL);
}

TEST_CASE("signed reads are two's complement") {
  constexpr std::array<uint8_t, 12> bytes = {0xff, 0xff, 0xff, 0xff,  // -1
                                             0x80, 0, 0, 0, 0, 0, 0, 0};
  ByteReader r(bytes);
  int32_t num_want = 0;
  int64_t lowest = 0;
  CHECK(r.ReadI32Be(&num_want));
  CHECK(r.ReadI64Be(&lowest));
  CHECK(num_want == -1);
  CHECK(lowest == INT64_MIN);
}

TEST_CASE("a read past the end fails, consumes nothing, and the failure sticks") {
  ByteReader r(std::span<const uint8_t>(kBytes).first(3));
  uint16_t first = 0;
  CHECK(r.ReadU16Be(&first));
  uint32_t out = 0xdeadbeef;
  CHECK_FALSE(r.ReadU32Be(&out));
  CHECK(out == 0xdeadbeef);  // untouched
  CHECK_FALSE(r.ok());
  CHECK(r.error() == CodecError::kTruncated);
  CHECK(r.consumed() == 2);
  CHECK(r.remaining() == 0);
  CHECK(r.rest().empty());
  // One byte is still there, but the reader has failed for good.
  uint8_t byte = 0;
  CHECK_FALSE(r.ReadU8(&byte));
}

TEST_CASE("views, fixed bytes, skips") {
  std::array<uint8_t, 25> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  ByteReader r(bytes);
  CHECK(r.Skip(2));
  std::span<const uint8_t> view;
  CHECK(r.ReadView(3, &view));
  CHECK(view.data() == bytes.data() + 2);  // a view, not a copy
  CHECK(view.size() == 3);
  FixedBytes<20> fixed;
  CHECK(r.ReadFixed(&fixed));
  CHECK(fixed[0] == 5);
  CHECK(fixed[19] == 24);
  CHECK(r.remaining() == 0);
  CHECK_FALSE(r.ReadFixed(&fixed));
  CHECK(fixed[0] == 5);
}

TEST_CASE("ReadBytes copies exactly the output size") {
  std::array<uint8_t, 4> out{};
  ByteReader r(std::span<const uint8_t>(kBytes).first(5));
  CHECK(r.ReadBytes(out));
  CHECK(out == std::array<uint8_t, 4>{1, 2, 3, 4});
  CHECK_FALSE(r.ReadBytes(out));
  CHECK(out == std::array<uint8_t, 4>{1, 2, 3, 4});
}

TEST_CASE("empty input: every read fails") {
  ByteReader r({});
  uint8_t b = 0;
  CHECK(r.Skip(0));
  CHECK_FALSE(r.ReadU8(&b));
  CHECK_FALSE(r.ok());
}

TEST_CASE("a huge length cannot wrap around the bounds check") {
  ByteReader r(kBytes);
  CHECK(r.Skip(1));
  std::span<const uint8_t> view;
  CHECK_FALSE(r.ReadView(SIZE_MAX, &view));
  CHECK_FALSE(r.ok());
}

TEST_CASE("reads never go past the end of a guarded buffer") {
  testing::GuardedBuffer guarded(kBytes);
  for (size_t n = 0; n <= kBytes.size(); ++n) {
    ByteReader r(guarded.span().last(n));
    uint64_t v = 0;
    while (r.ReadU64Be(&v)) {
    }
    ByteReader r2(guarded.span().last(n));
    uint8_t b = 0;
    size_t count = 0;
    while (r2.ReadU8(&b)) ++count;
    CHECK(count == n);
  }
}

TEST_CASE("reading makes no heap allocation") {
  testing::AllocationScope scope;
  ByteReader r(kBytes);
  uint64_t v = 0;
  FixedBytes<4> f;
  (void)r.ReadU64Be(&v);
  (void)r.ReadFixed(&f);
  CHECK(scope.allocations() == 0);
}

}  // namespace
}  // namespace reef
