#include "protocol/common/byte_writer.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>

#include "protocol/common/byte_reader.h"
#include "testing/alloc_counter.h"

namespace reef {
namespace {

TEST_CASE("writes big-endian values that the reader reads back") {
  std::array<uint8_t, 32> buf{};
  ByteWriter w(buf);
  CHECK(w.WriteU8(0x01));
  CHECK(w.WriteU16Be(0x0203));
  CHECK(w.WriteU32Be(0x04050607));
  CHECK(w.WriteU64Be(0x08090a0b0c0d0e0fULL));
  CHECK(w.WriteI32Be(-1));
  CHECK(w.WriteString("ab"));
  CHECK(w.ok());
  CHECK(w.written() == 1 + 2 + 4 + 8 + 4 + 2);
  CHECK(buf[0] == 0x01);
  CHECK(buf[1] == 0x02);
  CHECK(buf[2] == 0x03);
  CHECK(buf[14] == 0x0f);
  CHECK(buf[15] == 0xff);
  CHECK(buf[19] == 'a');

  ByteReader r(w.view());
  uint8_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  uint64_t d = 0;
  int32_t e = 0;
  CHECK((r.ReadU8(&a) && r.ReadU16Be(&b) && r.ReadU32Be(&c) && r.ReadU64Be(&d) &&
         r.ReadI32Be(&e)));
  CHECK(a == 0x01);
  CHECK(b == 0x0203);
  CHECK(c == 0x04050607);
  CHECK(d == 0x08090a0b0c0d0e0fULL);
  CHECK(e == -1);
  CHECK(r.remaining() == 2);
}

TEST_CASE("a write that does not fit writes nothing, and the failure sticks") {
  std::array<uint8_t, 6> buf{};
  ByteWriter w(buf);
  CHECK(w.WriteU32Be(0xaabbccdd));
  CHECK_FALSE(w.WriteU32Be(0x11223344));
  CHECK(buf[4] == 0);  // nothing partial
  CHECK_FALSE(w.ok());
  CHECK_FALSE(w.WriteU8(1));  // one byte would fit, but the writer has failed
  CHECK(buf[4] == 0);
  WriteResult result = w.Result();
  CHECK_FALSE(result.ok());
  CHECK(result.error() == WriteError::kBufferTooSmall);
  CHECK(ErrorReason(result.error()) == "output buffer too small");
}

TEST_CASE("Result gives the length on success") {
  std::array<uint8_t, 8> buf{};
  ByteWriter w(buf);
  (void)w.WriteU64Be(7);
  WriteResult result = w.Result();
  REQUIRE(result.ok());
  CHECK(result.length() == 8);
  CHECK(w.room() == 0);
}

TEST_CASE("fixed bytes") {
  std::array<uint8_t, 20> buf{};
  auto h = FixedBytes<20>::FromHex("00112233445566778899aabbccddeeff00112233");
  REQUIRE(h.has_value());
  ByteWriter w(buf);
  CHECK(w.WriteFixed(*h));
  CHECK(buf[1] == 0x11);
  CHECK(buf[19] == 0x33);
  ByteWriter full(std::span<uint8_t>(buf).first(19));
  CHECK_FALSE(full.WriteFixed(*h));
}

TEST_CASE("decimal numbers, whole or not at all") {
  std::array<uint8_t, 32> buf{};
  const auto text = [&](const ByteWriter& w) {
    return std::string(reinterpret_cast<const char*>(buf.data()), w.written());
  };
  ByteWriter w(buf);
  CHECK(w.WriteDecimal(0));
  CHECK(text(w) == "0");
  ByteWriter max(buf);
  CHECK(max.WriteDecimal(18446744073709551615ull));
  CHECK(text(max) == "18446744073709551615");
  ByteWriter negative(buf);
  CHECK(negative.WriteSignedDecimal(-42));
  CHECK(text(negative) == "-42");
  ByteWriter min(buf);
  CHECK(min.WriteSignedDecimal(INT64_MIN));
  CHECK(text(min) == "-9223372036854775808");
  ByteWriter positive(buf);
  CHECK(positive.WriteSignedDecimal(7));
  CHECK(text(positive) == "7");
  // "-100" needs 4 bytes: with 3 nothing is written, and the writer has failed.
  ByteWriter small(std::span<uint8_t>(buf).first(3));
  CHECK_FALSE(small.WriteSignedDecimal(-100));
  CHECK(small.written() == 0);
  CHECK_FALSE(small.ok());
  ByteWriter exact(std::span<uint8_t>(buf).first(3));
  CHECK(exact.WriteDecimal(100));
  CHECK(exact.room() == 0);
}

TEST_CASE("writing makes no heap allocation") {
  std::array<uint8_t, 64> buf{};
  testing::AllocationScope scope;
  ByteWriter w(buf);
  (void)w.WriteU64Be(1);
  (void)w.WriteString("announce");
  (void)w.Result();
  CHECK(scope.allocations() == 0);
}

}  // namespace
}  // namespace reef
