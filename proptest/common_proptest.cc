// Properties of protocol/common: hex, FixedBytes, and the reader/writer pair.
#include <cctype>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "protocol/common/byte_reader.h"
#include "protocol/common/byte_writer.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/hex.h"

namespace reef {
namespace {

TEST_CASE("hex: encode then decode is the identity") {
  proptest::Check("decode(encode(bytes)) == bytes", [](const std::vector<uint8_t>& bytes) {
    std::string hex(2 * bytes.size(), '\0');
    RC_ASSERT(HexEncode(bytes, hex));
    for (char c : hex) RC_ASSERT((std::isdigit(c) || (c >= 'a' && c <= 'f')));
    std::vector<uint8_t> back(bytes.size());
    RC_ASSERT(HexDecode(hex, back));
    RC_ASSERT(back == bytes);
  });
}

TEST_CASE("hex: decode accepts exactly the even-length strings of hex digits") {
  proptest::Check("decode succeeds iff the input is hex", [](const std::string& s) {
    bool all_hex = true;
    for (char c : s) all_hex = all_hex && HexDigitValue(c) >= 0;
    std::vector<uint8_t> out(s.size() / 2);
    RC_ASSERT(HexDecode(s, out) == (all_hex && s.size() % 2 == 0));
  });
}

TEST_CASE("FixedBytes: FromSpan succeeds exactly for 20 bytes, and keeps them") {
  proptest::Check("FromSpan", [](const std::vector<uint8_t>& bytes) {
    auto h = InfoHash::FromSpan(bytes);
    RC_ASSERT(h.has_value() == (bytes.size() == 20));
    if (h) {
      RC_ASSERT(std::vector<uint8_t>(h->bytes().begin(), h->bytes().end()) == bytes);
      auto hex = h->ToHex();
      RC_ASSERT(InfoHash::FromHex(std::string_view(hex.data(), hex.size())) == h);
    }
  });
}

// A value of one of the reader's types.
using Field = std::variant<uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t>;

bool WriteField(ByteWriter& w, const Field& f) {
  return std::visit(
      [&](auto v) {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, uint8_t>) return w.WriteU8(v);
        if constexpr (std::is_same_v<T, uint16_t>) return w.WriteU16Be(v);
        if constexpr (std::is_same_v<T, uint32_t>) return w.WriteU32Be(v);
        if constexpr (std::is_same_v<T, uint64_t>) return w.WriteU64Be(v);
        if constexpr (std::is_same_v<T, int32_t>) return w.WriteI32Be(v);
        if constexpr (std::is_same_v<T, int64_t>) return w.WriteI64Be(v);
      },
      f);
}

bool ReadField(ByteReader& r, Field* f) {
  return std::visit(
      [&](auto& v) {
        using T = std::remove_reference_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint8_t>) return r.ReadU8(&v);
        if constexpr (std::is_same_v<T, uint16_t>) return r.ReadU16Be(&v);
        if constexpr (std::is_same_v<T, uint32_t>) return r.ReadU32Be(&v);
        if constexpr (std::is_same_v<T, uint64_t>) return r.ReadU64Be(&v);
        if constexpr (std::is_same_v<T, int32_t>) return r.ReadI32Be(&v);
        if constexpr (std::is_same_v<T, int64_t>) return r.ReadI64Be(&v);
      },
      *f);
}

size_t FieldSize(const Field& f) {
  return std::visit([](auto v) { return sizeof(v); }, f);
}

Field ArbitraryField(size_t which, uint64_t bits) {
  switch (which % 6) {
    case 0: return static_cast<uint8_t>(bits);
    case 1: return static_cast<uint16_t>(bits);
    case 2: return static_cast<uint32_t>(bits);
    case 3: return bits;
    case 4: return static_cast<int32_t>(static_cast<uint32_t>(bits));
    default: return static_cast<int64_t>(bits);
  }
}

TEST_CASE("reader and writer: a written sequence reads back, and a short buffer fails") {
  proptest::Check("round trip", [](const std::vector<std::pair<uint8_t, uint64_t>>& spec,
                                    uint8_t cut) {
    std::vector<Field> fields;
    size_t total = 0;
    for (auto [which, bits] : spec) {
      fields.push_back(ArbitraryField(which, bits));
      total += FieldSize(fields.back());
    }
    std::vector<uint8_t> buf(total);
    ByteWriter w(buf);
    for (const Field& f : fields) RC_ASSERT(WriteField(w, f));
    RC_ASSERT(w.Result().ok());
    RC_ASSERT(w.Result().length() == total);

    ByteReader r(buf);
    for (const Field& f : fields) {
      Field read = f;  // same alternative, value overwritten
      RC_ASSERT(ReadField(r, &read));
      RC_ASSERT(read == f);
    }
    RC_ASSERT(r.remaining() == 0);

    // Cut the buffer short: the writer fails, the reader fails, neither overruns.
    if (total == 0) return;
    size_t short_size = cut % total;
    std::vector<uint8_t> small(short_size);
    ByteWriter sw(small);
    bool all = true;
    for (const Field& f : fields) all = WriteField(sw, f) && all;
    RC_ASSERT(!all);
    RC_ASSERT(!sw.Result().ok());
    ByteReader sr(std::span<const uint8_t>(buf).first(short_size));
    bool read_all = true;
    for (const Field& f : fields) {
      Field read = f;
      read_all = ReadField(sr, &read) && read_all;
    }
    RC_ASSERT(!read_all);
    RC_ASSERT(sr.consumed() <= short_size);
  });
}

}  // namespace
}  // namespace reef
