// A per-thread heap allocation counter for tests.
//
//   reef::testing::AllocationScope scope;
//   ParseAnnounce(bytes);
//   CHECK(scope.allocations() == 0);
//
// Counts every global operator new (all forms) and every malloc, calloc, realloc,
// aligned_alloc, posix_memalign and strdup called from code linked into the test binary.
// Calls made from inside shared libraries (libc, libstdc++'s own .so internals) are not
// seen by the malloc wrappers, but anything a template in a header allocates is, because
// the allocation goes through operator new. OpenSSL's allocations inside libcrypto are
// counted too when the test links //testing:openssl_alloc_counter.
#ifndef REEF_TESTING_ALLOC_COUNTER_H_
#define REEF_TESTING_ALLOC_COUNTER_H_

#include <cstddef>
#include <cstdint>

namespace reef::testing {

// Allocations made by the calling thread since it started.
uint64_t ThreadAllocations();

// malloc and realloc that count on the calling thread, for a library that lets a test
// supply its allocation functions instead of calling malloc from code the wraps cannot
// reach (OpenSSL: openssl_alloc_counter.h). Free what they return with free().
void* CountedMalloc(size_t size);
void* CountedRealloc(void* ptr, size_t size);

// Counts the calling thread's allocations from construction on.
class AllocationScope {
 public:
  AllocationScope() : start_(ThreadAllocations()) {}
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;

  uint64_t allocations() const { return ThreadAllocations() - start_; }

 private:
  uint64_t start_;
};

}  // namespace reef::testing

#endif  // REEF_TESTING_ALLOC_COUNTER_H_
