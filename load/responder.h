// A do-nothing UDP tracker: it answers every well-formed BEP 15 request with a fixed,
// well-formed reply (only the transaction id copied in) and keeps no state. It measures
// the ceiling the kernel allows for UDP request/response on this machine: a real tracker
// cannot be faster than this on the same core.
//
// One thread, one socket, batches of kBatch datagrams through recvmmsg/sendmmsg.
//   connect (16+ bytes, magic 0x41727101980)  -> connect reply, a fixed connection id;
//   announce (98+ bytes, any connection id)   -> interval 1800, `peers` fixed peers of the
//                                                socket's family (fewer if num_want asks);
//   scrape (16 + 20 n bytes, 1 <= n <= 74)    -> n entries of zeros;
//   anything else                             -> dropped.
#ifndef REEF_LOAD_RESPONDER_H_
#define REEF_LOAD_RESPONDER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "load/target.h"

namespace reef::load {

inline constexpr uint64_t kNullConnectionId = 0x6e756c6c72657370ULL;  // "nullresp"
inline constexpr int32_t kNullInterval = 1800;
// The most fixed peers per reply; keeps a reply within one 1500-byte frame in IPv6.
inline constexpr int kMaxNullPeers = 80;

// The reply to `request`, written into `out` (at least 1500 bytes); its length, or 0 to
// drop the request. Pure: no state, no allocation.
size_t NullReply(std::span<const uint8_t> request, bool v6, int peers, std::span<uint8_t> out);

class NullResponder {
 public:
  static constexpr int kBatch = 64;

  // Binds `bind` (port 0: any free port). `peers` in 0..kMaxNullPeers.
  static absl::StatusOr<std::unique_ptr<NullResponder>> Bind(const Endpoint& bind, int peers);
  ~NullResponder();

  const Endpoint& local() const { return local_; }

  // Answers until `stop` is set or `deadline_ns` (NowNs clock) passes; it notices within
  // kPollMs. Returns an error only if the socket fails.
  absl::Status Serve(const std::atomic<bool>& stop, uint64_t deadline_ns);
  static constexpr int kPollMs = 100;

  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  NullResponder(int fd, Endpoint local, int peers) : fd_(fd), local_(local), peers_(peers) {}

  int fd_;
  Endpoint local_;
  int peers_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace reef::load

#endif  // REEF_LOAD_RESPONDER_H_
