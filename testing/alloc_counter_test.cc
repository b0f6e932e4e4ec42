#include "testing/alloc_counter.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace reef::testing {
namespace {

// Keeps the optimizer from removing an allocation whose result is unused.
template <typename T>
void KeepAlive(T&& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

TEST_CASE("catches operator new") {
  AllocationScope scope;
  auto p = std::make_unique<int>(7);
  KeepAlive(p);
  CHECK(scope.allocations() == 1);
}

TEST_CASE("catches array new and a growing vector") {
  AllocationScope scope;
  auto a = std::make_unique<int[]>(100);
  KeepAlive(a);
  CHECK(scope.allocations() == 1);
  std::vector<int> v;
  for (int i = 0; i < 100; ++i) v.push_back(i);
  KeepAlive(v);
  CHECK(scope.allocations() > 1);
}

TEST_CASE("catches over-aligned new") {
  struct alignas(64) Line {
    std::array<char, 64> bytes;
  };
  AllocationScope scope;
  auto p = std::make_unique<Line>();
  KeepAlive(p);
  CHECK(scope.allocations() == 1);
  CHECK(reinterpret_cast<uintptr_t>(p.get()) % 64 == 0);
}

TEST_CASE("catches malloc, calloc, realloc and strdup") {
  AllocationScope scope;
  void* a = std::malloc(10);
  KeepAlive(a);
  CHECK(scope.allocations() == 1);
  void* b = std::calloc(4, 4);
  KeepAlive(b);
  CHECK(scope.allocations() == 2);
  a = std::realloc(a, 1000);
  KeepAlive(a);
  CHECK(scope.allocations() == 3);
  char* s = strdup("reef");
  KeepAlive(s);
  CHECK(scope.allocations() == 4);
  std::free(a);
  std::free(b);
  std::free(s);
}

TEST_CASE("a long std::string allocates, a short one does not") {
  AllocationScope scope;
  std::string short_one = "info_hash";  // fits in the small-string buffer
  KeepAlive(short_one);
  CHECK(scope.allocations() == 0);
  std::string long_one(100, 'x');
  KeepAlive(long_one);
  CHECK(scope.allocations() == 1);
}

TEST_CASE("work on the stack counts zero") {
  AllocationScope scope;
  std::array<int, 64> values{};
  std::iota(values.begin(), values.end(), 0);
  KeepAlive(values);
  CHECK(scope.allocations() == 0);
}

TEST_CASE("counts per thread: another thread's allocations are not ours") {
  AllocationScope scope;
  uint64_t other_thread_count = 0;
  // Constructing std::thread allocates its state on this thread: measure after.
  std::thread worker([&] {
    AllocationScope inner;
    auto p = std::make_unique<int>(1);
    KeepAlive(p);
    other_thread_count = inner.allocations();
  });
  uint64_t before_join = scope.allocations();
  worker.join();
  CHECK(other_thread_count == 1);
  CHECK(scope.allocations() == before_join);
}

}  // namespace
}  // namespace reef::testing
