// Counts OpenSSL's heap allocations with the allocation counter (alloc_counter.h).
//
// libcrypto allocates inside its own shared object, where the counter's malloc wrappers
// do not reach. Linking //testing:openssl_alloc_counter into a test hands libcrypto the
// counter's malloc and realloc (CRYPTO_set_mem_functions) from a constructor that runs
// before main and before every static initializer of the test binary, so an
// AllocationScope also sees what OpenSSL allocates on the calling thread:
//
//   REQUIRE(reef::testing::OpenSslAllocationsCounted());
//   reef::testing::AllocationScope scope;
//   ComputeAccept(key);
//   CHECK(scope.allocations() == 0);
//
// CRYPTO_set_mem_functions refuses once libcrypto has allocated anything; a test should
// REQUIRE OpenSslAllocationsCounted() rather than trust a count that may miss OpenSSL.
#ifndef REEF_TESTING_OPENSSL_ALLOC_COUNTER_H_
#define REEF_TESTING_OPENSSL_ALLOC_COUNTER_H_

namespace reef::testing {

// Whether libcrypto took the counting allocation functions.
bool OpenSslAllocationsCounted();

}  // namespace reef::testing

#endif  // REEF_TESTING_OPENSSL_ALLOC_COUNTER_H_
