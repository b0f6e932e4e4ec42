#include "testing/guarded_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace reef::testing {

GuardedBuffer::GuardedBuffer(std::string_view bytes)
    : GuardedBuffer(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) {}

GuardedBuffer::GuardedBuffer(std::span<const uint8_t> bytes) : size_(bytes.size()) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t data_pages = (bytes.size() + page - 1) / page;
  mapping_size_ = (data_pages + 1) * page;
  mapping_ = mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) std::abort();
  uint8_t* guard = static_cast<uint8_t*>(mapping_) + data_pages * page;
  if (mprotect(guard, page, PROT_NONE) != 0) std::abort();
  data_ = guard - bytes.size();
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

GuardedBuffer::~GuardedBuffer() { munmap(mapping_, mapping_size_); }

}  // namespace reef::testing
