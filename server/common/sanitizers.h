// Which sanitizer this code is built with, for the few places where reef must behave
// differently under one: the sanitizer's allocator replaces operator new (so the
// out-of-memory handler is never called), and its runtime makes system calls of its own
// (which the seccomp filter must let through).
#ifndef REEF_SERVER_COMMON_SANITIZERS_H_
#define REEF_SERVER_COMMON_SANITIZERS_H_

namespace reef {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

#if defined(__has_feature)
#if __has_feature(undefined_behavior_sanitizer)
inline constexpr bool kUndefinedBehaviorSanitizer = true;
#else
inline constexpr bool kUndefinedBehaviorSanitizer = false;
#endif
#else
inline constexpr bool kUndefinedBehaviorSanitizer = false;
#endif

// Whether a sanitizer's runtime is linked in (it makes system calls of its own).
inline constexpr bool kSanitizerRuntime =
    kAddressSanitizer || kThreadSanitizer || kUndefinedBehaviorSanitizer;

// Whether operator new and malloc are the sanitizer's, not glibc's and libstdc++'s.
inline constexpr bool kSanitizerAllocator = kAddressSanitizer || kThreadSanitizer;

}  // namespace reef

#endif  // REEF_SERVER_COMMON_SANITIZERS_H_
