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
// the allocation goes through operator new.
#ifndef REEF_TESTING_ALLOC_COUNTER_H_
#define REEF_TESTING_ALLOC_COUNTER_H_

#include <cstdint>

namespace reef::testing {

// Allocations made by the calling thread since it started.
uint64_t ThreadAllocations();

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
