#include "testing/alloc_counter.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace reef::testing {
namespace {
// constinit: no dynamic initialization, so counting works even before main and in
// allocations made while thread-local storage is being set up.
constinit thread_local uint64_t thread_allocations = 0;
}  // namespace

uint64_t ThreadAllocations() { return thread_allocations; }

}  // namespace reef::testing

using reef::testing::thread_allocations;

// -Wl,--wrap=NAME sends every call of NAME in this binary's objects to __wrap_NAME;
// __real_NAME is the original (libc's, or a sanitizer's interceptor).
extern "C" {
void* __real_malloc(size_t size);
void* __real_calloc(size_t count, size_t size);
void* __real_realloc(void* ptr, size_t size);
void* __real_aligned_alloc(size_t alignment, size_t size);
int __real_posix_memalign(void** out, size_t alignment, size_t size);
char* __real_strdup(const char* s);

void* __wrap_malloc(size_t size) {
  ++thread_allocations;
  return __real_malloc(size);
}
void* __wrap_calloc(size_t count, size_t size) {
  ++thread_allocations;
  return __real_calloc(count, size);
}
void* __wrap_realloc(void* ptr, size_t size) {
  ++thread_allocations;
  return __real_realloc(ptr, size);
}
void* __wrap_aligned_alloc(size_t alignment, size_t size) {
  ++thread_allocations;
  return __real_aligned_alloc(alignment, size);
}
int __wrap_posix_memalign(void** out, size_t alignment, size_t size) {
  ++thread_allocations;
  return __real_posix_memalign(out, alignment, size);
}
char* __wrap_strdup(const char* s) {
  ++thread_allocations;
  return __real_strdup(s);
}
}  // extern "C"

namespace reef::testing {
void* CountedMalloc(size_t size) { return __wrap_malloc(size); }
void* CountedRealloc(void* ptr, size_t size) { return __wrap_realloc(ptr, size); }
}  // namespace reef::testing

// The replaceable global allocation functions. They allocate with __real_malloc
// (counted here, once) and free with free(), which sanitizers intercept as usual.
namespace {
void* CountedNew(size_t size) {
  ++thread_allocations;
  if (size == 0) size = 1;
  void* p = __real_malloc(size);
  if (p == nullptr) std::abort();  // reef builds without exceptions: no bad_alloc.
  return p;
}

void* CountedAlignedNew(size_t size, std::align_val_t alignment) {
  ++thread_allocations;
  size_t align = static_cast<size_t>(alignment);
  if (align < sizeof(void*)) align = sizeof(void*);
  void* p = nullptr;
  if (__real_posix_memalign(&p, align, size == 0 ? 1 : size) != 0) std::abort();
  return p;
}
}  // namespace

void* operator new(size_t size) { return CountedNew(size); }
void* operator new[](size_t size) { return CountedNew(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return CountedNew(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return CountedNew(size);
}
void* operator new(size_t size, std::align_val_t alignment) {
  return CountedAlignedNew(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment) {
  return CountedAlignedNew(size, alignment);
}
void* operator new(size_t size, std::align_val_t alignment,
                   const std::nothrow_t&) noexcept {
  return CountedAlignedNew(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment,
                     const std::nothrow_t&) noexcept {
  return CountedAlignedNew(size, alignment);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  std::free(p);
}
