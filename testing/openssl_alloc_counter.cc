#include "testing/openssl_alloc_counter.h"

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdlib>

#include "testing/alloc_counter.h"

namespace reef::testing {
namespace {

void* CryptoMalloc(size_t size, const char* /*file*/, int /*line*/) {
  return CountedMalloc(size);
}
void* CryptoRealloc(void* ptr, size_t size, const char* /*file*/, int /*line*/) {
  return CountedRealloc(ptr, size);
}
void CryptoFree(void* ptr, const char* /*file*/, int /*line*/) { std::free(ptr); }

bool installed = false;

// Priority 101, the first one a program may use: ahead of every other constructor and
// static initializer in the test binary, any of which might call into OpenSSL.
__attribute__((constructor(101))) void InstallCountingCryptoAllocator() {
  installed = CRYPTO_set_mem_functions(CryptoMalloc, CryptoRealloc, CryptoFree) == 1;
}

}  // namespace

bool OpenSslAllocationsCounted() { return installed; }

}  // namespace reef::testing
