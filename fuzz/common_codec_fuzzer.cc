// Fuzzes protocol/common: hex decoding and the reader/writer pair.
//
// Properties, not just "does not crash":
//  - HexDecode succeeds exactly on even-length strings of hex digits, and re-encoding
//    gives the input in lowercase; FixedBytes<20>::FromHex agrees with it.
//  - A reader driven by a program taken from the input (each op byte picks a read) never
//    reports more consumed than there is, keeps consumed + remaining == size while ok, and
//    stays failed once it fails; writing back every value it read reproduces exactly the
//    bytes it consumed.
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/common/byte_reader.h"
#include "protocol/common/byte_writer.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/hex.h"

namespace {

void CheckHex(std::string_view text) {
  static std::array<uint8_t, 4096> decoded;
  static std::array<char, 8192> encoded;
  if (text.size() > encoded.size()) return;
  bool all_hex = true;
  for (char c : text) all_hex = all_hex && reef::HexDigitValue(c) >= 0;
  const bool ok = reef::HexDecode(text, decoded);
  FUZZ_CHECK(ok == (all_hex && text.size() % 2 == 0));
  if (ok) {
    std::span<const uint8_t> bytes(decoded.data(), text.size() / 2);
    FUZZ_CHECK(reef::HexEncode(bytes, encoded));
    for (size_t i = 0; i < text.size(); ++i) {
      FUZZ_CHECK(encoded[i] == std::tolower(static_cast<unsigned char>(text[i])));
    }
  }
  auto hash = reef::InfoHash::FromHex(text);
  FUZZ_CHECK(hash.has_value() == (ok && text.size() == 40));
}

void CheckReader(std::span<const uint8_t> program, std::span<const uint8_t> data) {
  reef::ByteReader reader(data);
  std::array<uint8_t, 4096> rewritten;
  reef::ByteWriter writer(rewritten);
  bool failed = false;
  for (uint8_t op : program) {
    bool read = false;
    switch (op % 8) {
      case 0: {
        uint8_t v;
        if ((read = reader.ReadU8(&v))) writer.WriteU8(v);
        break;
      }
      case 1: {
        uint16_t v;
        if ((read = reader.ReadU16Be(&v))) writer.WriteU16Be(v);
        break;
      }
      case 2: {
        uint32_t v;
        if ((read = reader.ReadU32Be(&v))) writer.WriteU32Be(v);
        break;
      }
      case 3: {
        uint64_t v;
        if ((read = reader.ReadU64Be(&v))) writer.WriteU64Be(v);
        break;
      }
      case 4: {
        int32_t v;
        if ((read = reader.ReadI32Be(&v))) writer.WriteI32Be(v);
        break;
      }
      case 5: {
        reef::FixedBytes<20> v;
        if ((read = reader.ReadFixed(&v))) writer.WriteFixed(v);
        break;
      }
      case 6: {
        std::span<const uint8_t> view;
        if ((read = reader.ReadView(op >> 3, &view))) writer.WriteBytes(view);
        break;
      }
      default: {
        std::array<uint8_t, 3> v;
        if ((read = reader.ReadBytes(v))) writer.WriteBytes(v);
        break;
      }
    }
    if (failed) FUZZ_CHECK(!read);  // sticky
    if (!read) failed = true;
    FUZZ_CHECK(reader.ok() == !failed);
    FUZZ_CHECK(reader.consumed() <= data.size());
    if (reader.ok()) FUZZ_CHECK(reader.consumed() + reader.remaining() == data.size());
  }
  FUZZ_CHECK(writer.ok());  // rewritten holds at least as much as data
  FUZZ_CHECK(writer.written() == reader.consumed());
  FUZZ_CHECK(std::memcmp(rewritten.data(), data.data(), writer.written()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  CheckHex(std::string_view(reinterpret_cast<const char*>(data), size));
  // First byte: program length; then the program; the rest is what the program reads.
  if (size == 0 || size > 4096) return 0;
  size_t program_size = std::min<size_t>(input[0], size - 1);
  CheckReader(input.subspan(1, program_size), input.subspan(1 + program_size));
  return 0;
}
