// GuardedBuffer: test input placed at the very end of readable memory.
//
// The bytes are copied so that they end exactly where an inaccessible (PROT_NONE) page
// begins; a parser that reads even one byte past the end of its input faults at once,
// without needing a sanitizer (picohttpparser's test.c does the same).
#ifndef REEF_TESTING_GUARDED_BUFFER_H_
#define REEF_TESTING_GUARDED_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace reef::testing {

class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::span<const uint8_t> bytes);
  explicit GuardedBuffer(std::string_view bytes);
  ~GuardedBuffer();
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::span<uint8_t> mutable_span() { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace reef::testing

#endif  // REEF_TESTING_GUARDED_BUFFER_H_
