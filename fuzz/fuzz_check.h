// FUZZ_CHECK: the property a fuzz target checks. On failure it prints the condition and
// aborts, which libFuzzer, AFL++ and the replay test all report as a crash.
#ifndef REEF_FUZZ_FUZZ_CHECK_H_
#define REEF_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                    \
  do {                                                                           \
    if (!(condition)) {                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                                  \
      std::abort();                                                              \
    }                                                                            \
  } while (false)

#endif  // REEF_FUZZ_FUZZ_CHECK_H_
