// The protocol library is C++20 (std::span, concepts, defaulted comparisons, designated
// initializers). Compiled as anything older, its headers would fail with dozens of errors
// that do not say why; this makes the first error say it. Every header of the library
// that includes no other header of it (errors.h, hex.h, ws/utf8.h) includes this one, so
// it comes before any C++20 code; //protocol:public_headers_test checks that, header by
// header, with g++ and clang++.
#ifndef REEF_PROTOCOL_COMMON_REQUIRE_CXX20_H_
#define REEF_PROTOCOL_COMMON_REQUIRE_CXX20_H_

static_assert(__cplusplus >= 202002L,
              "reef's protocol library needs C++20: compile with -std=c++20 (with Bazel, "
              "add `build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20` to .bazelrc)");

#endif  // REEF_PROTOCOL_COMMON_REQUIRE_CXX20_H_
