#include "testing/openssl_alloc_counter.h"

#include <doctest/doctest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <thread>

#include "testing/alloc_counter.h"

namespace reef::testing {
namespace {

TEST_CASE("libcrypto took the counting allocator before anything else allocated") {
  CHECK(OpenSslAllocationsCounted());
}

TEST_CASE("what libcrypto allocates inside itself is counted") {
  REQUIRE(OpenSslAllocationsCounted());
  AllocationScope scope;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();  // heap-allocated inside libcrypto
  REQUIRE(ctx != nullptr);
  CHECK(scope.allocations() >= 1);
  EVP_MD_CTX_free(ctx);
}

TEST_CASE("OPENSSL_malloc and OPENSSL_realloc count once each") {
  REQUIRE(OpenSslAllocationsCounted());
  AllocationScope scope;
  void* p = OPENSSL_malloc(16);
  REQUIRE(p != nullptr);
  CHECK(scope.allocations() == 1);
  p = OPENSSL_realloc(p, 4096);
  REQUIRE(p != nullptr);
  CHECK(scope.allocations() == 2);
  OPENSSL_free(p);
  CHECK(scope.allocations() == 2);
}

TEST_CASE("OpenSSL's allocations count on the thread that makes them") {
  REQUIRE(OpenSslAllocationsCounted());
  uint64_t other_thread = 0;
  std::thread worker([&other_thread] {
    AllocationScope inner;
    OPENSSL_free(OPENSSL_malloc(8));
    other_thread = inner.allocations();
  });
  AllocationScope scope;  // after std::thread's own allocation
  worker.join();
  CHECK(other_thread == 1);
  CHECK(scope.allocations() == 0);
}

}  // namespace
}  // namespace reef::testing
