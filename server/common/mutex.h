// reef::Mutex: a std::mutex that Clang's thread-safety analysis understands.
//
// Why not absl::Mutex: Debian's Abseil is a shared library built without ThreadSanitizer,
// so TSan cannot see absl::Mutex's synchronization and reports races on everything it
// guards. std::mutex goes through pthread, which TSan intercepts. The annotations make
// ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED checkable by clang (-Wthread-safety is
// on in the clang configs).
#ifndef REEF_SERVER_COMMON_MUTEX_H_
#define REEF_SERVER_COMMON_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace reef {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

  // For std::condition_variable_any and friends.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace reef

#endif  // REEF_SERVER_COMMON_MUTEX_H_
