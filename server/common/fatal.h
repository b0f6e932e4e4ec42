// Ending reef from where nothing else is safe: a new-handler (the heap is exhausted) or a
// signal handler (the seccomp filter trapped a system call). Neither may allocate, take a
// lock or use the logger, so what is here uses only async-signal-safe calls
// (clock_gettime, prctl, write, _exit) and stack buffers.
//
//   InstallOutOfMemoryHandler();   // first thing in main()
//
// After that, any allocation through operator new that fails (C++ code in reef or in a
// library it links: absl, toml++, the standard containers) writes one line and ends the
// process with exit status 1 (kExitFailure):
//   2026-12-05T03:36:19.316040Z FATAL [udp-0] out of memory: an allocation failed; exiting with status 1
// Without it, a failed operator new in code built with -fno-exceptions ends in
// std::terminate, which aborts with no word of why. An unwinding path back to the
// supervisor is not an option either: it would itself need memory.
//
// Under AddressSanitizer and ThreadSanitizer the sanitizer's allocator replaces operator
// new and reports an allocation failure itself; the new-handler is never called there.
#ifndef REEF_SERVER_COMMON_FATAL_H_
#define REEF_SERVER_COMMON_FATAL_H_

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace reef {

// Writes "<UTC time> FATAL [<thread>] <pieces...>\n" to stderr in one write(2) (so it
// never interleaves with another thread's line), cut at kMaxFatalLineBytes. The thread is
// the kernel's name for it (the first 15 bytes of the name it logs under). Async-signal-
// safe.
void WriteFatalLine(std::initializer_list<std::string_view> pieces);
inline constexpr size_t kMaxFatalLineBytes = 512;

// The decimal digits of a number, in the object itself. Async-signal-safe.
class DecimalText {
 public:
  explicit DecimalText(uint64_t value);
  std::string_view view() const { return {digits_ + start_, sizeof(digits_) - start_}; }

 private:
  char digits_[20];
  size_t start_;
};

// "2026-12-05T03:36:19.316040Z" for CLOCK_REALTIME now, into `out` (27 bytes). Async-
// signal-safe (no gmtime_r, which may take a lock).
inline constexpr size_t kUtcTimestampBytes = 27;
std::string_view FormatUtcNow(char (&out)[kUtcTimestampBytes]);

// std::set_new_handler with a handler that writes the line above and calls _exit(1).
void InstallOutOfMemoryHandler();

}  // namespace reef

#endif  // REEF_SERVER_COMMON_FATAL_H_
