// The io_uring backend. Each socket has one multishot recvmsg that fills buffers from a
// provided-buffer ring (no syscall per datagram); replies go out as sendmsg SQEs from a
// fixed pool of send slots; the stop eventfd is a poll SQE. Everything is submitted in
// one io_uring_submit_and_wait per round of completions.
//
// The ring is made, and its buffers registered, when the loop is made (MakeIoUringLoop,
// on the main thread at start), not when it runs: so reef can install its seccomp filter
// after start-up without allowing io_uring_setup or io_uring_register, and the ring is
// restricted (IORING_REGISTER_RESTRICTIONS) to the three operations the loop submits, so
// the ring cannot be used to do what seccomp forbids (seccomp never sees operations
// submitted through a ring). The start-up probe builds a small ring the same way and runs
// every operation once over a socketpair, so any feature this kernel lacks is reported at
// start, before a worker serves.
//
// Receive errors: a multishot recvmsg that ends with an error that means "try again"
// (ReceiveErrorAction) is re-armed; any other error ends Run() with that error, and the
// supervisor ends reef. So does a "try again" error that comes back more than
// kMaxReceiveRetriesInARow times on one socket with no datagram between (ReceiveRetries):
// a condition that never clears is not spun on forever. An error on the stop poll is an
// error too, never taken for a request to stop.
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/udp/event_loop.h"

namespace reef::udp {
namespace {

constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kRingEntries = 1024;
// user_data: the top byte says what completed, the rest which socket or send slot.
constexpr uint64_t kKindShift = 56;
constexpr uint64_t kRecv = 1;
constexpr uint64_t kSend = 2;
constexpr uint64_t kStop = 3;

// The only operations the loop submits; the ring refuses every other one.
constexpr uint8_t kRingOperations[] = {IORING_OP_RECVMSG, IORING_OP_SENDMSG, IORING_OP_POLL_ADD};

uint64_t Tag(uint64_t kind, uint64_t index) { return (kind << kKindShift) | index; }

absl::Status UringError(int negative_errno, const char* what) {
  return absl::ErrnoToStatus(-negative_errno, absl::StrCat("io_uring ", what));
}

size_t RoundUpPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// An io_uring with a registered provided-buffer ring, restricted to kRingOperations and
// enabled: everything the loop needs from the kernel, made in one place so the probe and
// the loop set up rings the same way.
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
    if (memory_ != nullptr) munmap(memory_, memory_size_);
  }

  absl::Status Init(unsigned entries, size_t buffer_count, size_t buffer_size) {
    buffer_count_ = buffer_count;
    buffer_size_ = buffer_size;
    io_uring_params params{};
    // Disabled until restricted: a disabled ring accepts registrations, not submissions.
    params.flags = IORING_SETUP_R_DISABLED;
    int ret = io_uring_queue_init_params(entries, &ring_, &params);
    if (ret < 0) return UringError(ret, "setup refused by the kernel");
    initialized_ = true;
    // NODROP: completions beyond the CQ ring wait in the kernel instead of being lost
    // (a lost completion would strand a send slot or a multishot receive).
    if ((params.features & IORING_FEAT_NODROP) == 0) {
      return absl::UnavailableError("io_uring: the kernel may drop completions (no NODROP)");
    }
    if (absl::Status ops = CheckOperations(); !ops.ok()) return ops;

    // The ring of buffer descriptors, then the buffers themselves, in one mapping.
    const size_t descriptors = buffer_count_ * sizeof(io_uring_buf);
    memory_size_ = descriptors + buffer_count_ * buffer_size_;
    void* memory = mmap(nullptr, memory_size_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap(io_uring buffer ring)");
    memory_ = memory;
    buffer_ring_ = static_cast<io_uring_buf_ring*>(memory_);
    buffers_ = static_cast<uint8_t*>(memory_) + descriptors;
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(memory_);
    reg.ring_entries = static_cast<uint32_t>(buffer_count_);
    reg.bgid = kBufferGroup;
    ret = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (ret < 0) return UringError(ret, "provided-buffer rings (register_buf_ring)");
    io_uring_buf_ring_init(buffer_ring_);
    for (size_t i = 0; i < buffer_count_; ++i) {
      io_uring_buf_ring_add(buffer_ring_, Buffer(static_cast<uint16_t>(i)),
                            static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(i),
                            Mask(), static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(buffer_count_));

    // Only our three operations, with buffer selection; no registrations after this.
    std::vector<io_uring_restriction> restrictions;
    for (uint8_t op : kRingOperations) {
      io_uring_restriction r{};
      r.opcode = IORING_RESTRICTION_SQE_OP;
      r.sqe_op = op;
      restrictions.push_back(r);
    }
    io_uring_restriction flags{};
    flags.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    flags.sqe_flags = IOSQE_BUFFER_SELECT;
    restrictions.push_back(flags);
    // Debian's liburing 2.3 declares io_uring_register_restrictions and
    // io_uring_enable_rings but its shared library does not export them: the raw
    // registration call does the same.
    ret = io_uring_register(static_cast<unsigned>(ring_.ring_fd), IORING_REGISTER_RESTRICTIONS,
                            restrictions.data(), static_cast<unsigned>(restrictions.size()));
    if (ret < 0) return UringError(ret, "restrictions (IORING_REGISTER_RESTRICTIONS)");
    ret = io_uring_register(static_cast<unsigned>(ring_.ring_fd), IORING_REGISTER_ENABLE_RINGS,
                            nullptr, 0);
    if (ret < 0) return UringError(ret, "enabling the ring (IORING_REGISTER_ENABLE_RINGS)");
    return absl::OkStatus();
  }

  io_uring* get() { return &ring_; }
  uint8_t* Buffer(uint16_t id) { return buffers_ + static_cast<size_t>(id) * buffer_size_; }
  size_t buffer_size() const { return buffer_size_; }

  // Hands buffer `id` back to the kernel.
  void ReturnBuffer(uint16_t id) {
    io_uring_buf_ring_add(buffer_ring_, Buffer(id), static_cast<unsigned>(buffer_size_), id,
                          Mask(), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
  }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // A multishot recvmsg on `fd` into the buffer ring, with `msg` as the header template.
  bool ArmReceive(int fd, msghdr* msg, uint64_t user_data) {
    io_uring_sqe* sqe = Sqe();
    if (sqe == nullptr) return false;
    io_uring_prep_recvmsg_multishot(sqe, fd, msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, user_data);
    return true;
  }

 private:
  absl::Status CheckOperations() {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) {
      return absl::UnavailableError("io_uring: the kernel cannot report supported operations");
    }
    absl::Status status = absl::OkStatus();
    for (uint8_t op : kRingOperations) {
      if (!io_uring_opcode_supported(probe, op)) {
        status = absl::UnavailableError(absl::StrCat("io_uring: operation ", op,
                                                     " (recvmsg, sendmsg or poll) unsupported"));
      }
    }
    io_uring_free_probe(probe);
    return status;
  }

  int Mask() const { return io_uring_buf_ring_mask(static_cast<uint32_t>(buffer_count_)); }

  io_uring ring_{};
  bool initialized_ = false;
  void* memory_ = nullptr;
  size_t memory_size_ = 0;
  size_t buffer_count_ = 0;
  size_t buffer_size_ = 0;
  io_uring_buf_ring* buffer_ring_ = nullptr;
  uint8_t* buffers_ = nullptr;
};

// What the probe reads of a completion (io_uring_cqe itself ends in a flexible array).
struct Completion {
  int32_t res;
  uint32_t flags;
};

// The next completion, waiting at most a second (the probe never hangs at start).
absl::StatusOr<Completion> NextCompletion(Ring& ring, const char* what) {
  __kernel_timespec timeout{.tv_sec = 1, .tv_nsec = 0};
  io_uring_cqe* cqe = nullptr;
  int ret = io_uring_submit_and_wait_timeout(ring.get(), &cqe, 1, &timeout, nullptr);
  if (ret < 0) return UringError(ret, absl::StrCat("waiting for ", what).c_str());
  const Completion completion{cqe->res, cqe->flags};
  io_uring_cqe_seen(ring.get(), cqe);
  return completion;
}

// Runs each operation the loop uses once, on a ring set up as the loop's is, over an
// AF_UNIX datagram socketpair: a multishot recvmsg must deliver a datagram into a
// provided buffer and stay armed, a sendmsg must deliver one, a poll must see an eventfd,
// and an operation outside the restrictions must be refused.
absl::Status ProbeRoundTrip(Ring& ring) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
    return absl::ErrnoToStatus(errno, "io_uring probe: socketpair");
  }
  const int event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd < 0) {
    close(pair[0]);
    close(pair[1]);
    return absl::ErrnoToStatus(errno, "io_uring probe: eventfd");
  }
  absl::Status status = [&]() -> absl::Status {
    // Waiting with a timeout without a timeout SQE (which the restrictions refuse).
    if ((ring.get()->features & IORING_FEAT_EXT_ARG) == 0) {
      return absl::UnavailableError("io_uring: the kernel has no EXT_ARG (5.11+)");
    }
    msghdr receive_msg{};
    if (!ring.ArmReceive(pair[0], &receive_msg, Tag(kRecv, 0))) {
      return absl::InternalError("io_uring probe: no SQE");
    }
    constexpr char kPing[] = "ping";
    if (send(pair[1], kPing, 4, 0) != 4) return absl::ErrnoToStatus(errno, "probe: send");
    absl::StatusOr<Completion> received = NextCompletion(ring, "multishot recvmsg");
    if (!received.ok()) return received.status();
    if (received->res < 0) return UringError(received->res, "multishot recvmsg");
    if ((received->flags & IORING_CQE_F_MORE) == 0) {
      return absl::UnavailableError("io_uring: multishot recvmsg ended after one datagram");
    }
    if ((received->flags & IORING_CQE_F_BUFFER) == 0) {
      return absl::UnavailableError("io_uring: recvmsg did not use a provided buffer");
    }
    const auto id = static_cast<uint16_t>(received->flags >> IORING_CQE_BUFFER_SHIFT);
    io_uring_recvmsg_out* out =
        io_uring_recvmsg_validate(ring.Buffer(id), received->res, &receive_msg);
    if (out == nullptr || io_uring_recvmsg_payload_length(out, received->res, &receive_msg) != 4 ||
        std::memcmp(io_uring_recvmsg_payload(out, &receive_msg), kPing, 4) != 0) {
      return absl::UnavailableError("io_uring: multishot recvmsg delivered the wrong bytes");
    }
    ring.ReturnBuffer(id);

    char pong[] = "pong";
    iovec iov{pong, 4};
    msghdr send_msg{};
    send_msg.msg_iov = &iov;
    send_msg.msg_iovlen = 1;
    io_uring_sqe* sqe = ring.Sqe();
    if (sqe == nullptr) return absl::InternalError("io_uring probe: no SQE");
    io_uring_prep_sendmsg(sqe, pair[0], &send_msg, 0);
    io_uring_sqe_set_data64(sqe, Tag(kSend, 0));
    absl::StatusOr<Completion> sent = NextCompletion(ring, "sendmsg");
    if (!sent.ok()) return sent.status();
    if (sent->res != 4) return UringError(sent->res < 0 ? sent->res : -EIO, "sendmsg");
    char back[8];
    if (recv(pair[1], back, sizeof(back), 0) != 4 || std::memcmp(back, "pong", 4) != 0) {
      return absl::UnavailableError("io_uring: sendmsg delivered the wrong bytes");
    }

    sqe = ring.Sqe();
    if (sqe == nullptr) return absl::InternalError("io_uring probe: no SQE");
    io_uring_prep_poll_add(sqe, event_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, Tag(kStop, 0));
    const uint64_t one = 1;
    if (write(event_fd, &one, sizeof(one)) != sizeof(one)) {
      return absl::ErrnoToStatus(errno, "probe: eventfd write");
    }
    absl::StatusOr<Completion> polled = NextCompletion(ring, "poll");
    if (!polled.ok()) return polled.status();
    if (polled->res < 0 || (polled->res & POLLIN) == 0) {
      return UringError(polled->res < 0 ? polled->res : -EIO, "poll");
    }

    // The restrictions took: anything else (a no-op here) is refused.
    sqe = ring.Sqe();
    if (sqe == nullptr) return absl::InternalError("io_uring probe: no SQE");
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 0);
    absl::StatusOr<Completion> refused = NextCompletion(ring, "a restricted no-op");
    if (!refused.ok()) return refused.status();
    if (refused->res != -EACCES) {
      return absl::UnavailableError(absl::StrCat(
          "io_uring: the ring's restrictions are not enforced (a no-op returned ",
          refused->res, ")"));
    }
    return absl::OkStatus();
  }();
  close(event_fd);
  close(pair[0]);
  close(pair[1]);
  return status;
}

class IoUringLoop final : public UdpEventLoop {
 public:
  IoUringLoop(const LoopOptions& options, std::unique_ptr<Ring> ring)
      : options_(options),
        ring_(std::move(ring)),
        slots_(options.max_sends_in_flight),
        slot_buffers_(options.max_sends_in_flight * options.max_reply_bytes),
        scratch_reply_(options.max_reply_bytes) {
    for (size_t i = slots_.size(); i > 0; --i) free_slots_.push_back(i - 1);
  }

  static size_t BufferCount(const LoopOptions& options) {
    return RoundUpPowerOfTwo(std::max<size_t>(options.batch * 4, 64));
  }
  // Rounded to a cache line: each buffer starts with an io_uring_recvmsg_out, which must
  // be aligned. One byte over the limit shows an oversized datagram as too long.
  static size_t BufferSize(const LoopOptions& options) {
    return (sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_storage) +
            options.max_datagram_bytes + 1 + 63) / 64 * 64;
  }

  absl::Status Run(std::span<const int> sockets, int stop_fd, DatagramHandler& handler) override {
    if (ran_) return absl::FailedPreconditionError("io_uring loop: Run called twice");
    ran_ = true;
    return Serve(sockets, stop_fd, handler);
  }

 private:
  struct SendSlot {
    sockaddr_storage peer;
    iovec iov;
    msghdr msg;
  };

  absl::Status Serve(std::span<const int> sockets, int stop_fd, DatagramHandler& handler) {
    receive_msg_ = {};
    receive_msg_.msg_namelen = sizeof(sockaddr_storage);
    std::vector<ReceiveRetries> retries(sockets.size());
    for (size_t i = 0; i < sockets.size(); ++i) {
      if (!ring_->ArmReceive(sockets[i], &receive_msg_, Tag(kRecv, i))) {
        return absl::InternalError("io_uring: no SQE for recvmsg");
      }
    }
    io_uring_sqe* stop = ring_->Sqe();
    if (stop == nullptr) return absl::InternalError("io_uring: no SQE for the stop poll");
    io_uring_prep_poll_add(stop, stop_fd, POLLIN);
    io_uring_sqe_set_data64(stop, Tag(kStop, 0));

    io_uring* ring = ring_->get();
    while (true) {
      int ret = io_uring_submit_and_wait(ring, 1);
      // EINTR: a signal; EAGAIN: the kernel could not allocate requests for now; EBUSY:
      // completions are waiting in the kernel's overflow list. Each clears once the
      // completions below are reaped.
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        return UringError(ret, "submit_and_wait");
      }
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      absl::Status status = absl::OkStatus();
      bool stopping = false;
      io_uring_for_each_cqe(ring, head, cqe) {
        ++seen;
        const uint64_t data = io_uring_cqe_get_data64(cqe);
        const uint64_t kind = data >> kKindShift;
        const size_t index = static_cast<size_t>(data & ((uint64_t{1} << kKindShift) - 1));
        if (kind == kStop) {
          if (cqe->res < 0) {
            status = UringError(cqe->res, "poll on the stop eventfd");
            break;
          }
          stopping = true;
        } else if (kind == kSend) {
          if (cqe->res < 0) {
            stats_.send_errors.fetch_add(1, std::memory_order_relaxed);
          } else {
            stats_.sent.fetch_add(1, std::memory_order_relaxed);
          }
          free_slots_.push_back(index);
        } else if (kind == kRecv) {
          if (cqe->res < 0) {
            const int error = -cqe->res;
            if (!retries[index].ShouldRetry(error)) {
              status = ReceiveRetries::Failure(
                  error, absl::StrCat("io_uring recvmsg on socket ", index));
              break;
            }
            stats_.receive_retries.fetch_add(1, std::memory_order_relaxed);
          } else {
            retries[index].OnDatagram();
            OnReceive(sockets, index, cqe, handler);
          }
          // A multishot that ended (an error, or the kernel's own reasons) is re-armed.
          if ((cqe->flags & IORING_CQE_F_MORE) == 0 &&
              !ring_->ArmReceive(sockets[index], &receive_msg_, Tag(kRecv, index))) {
            status = absl::InternalError("io_uring: cannot re-arm recvmsg");
            break;
          }
        }
      }
      io_uring_cq_advance(ring, seen);
      if (!status.ok()) return status;
      if (stopping) return absl::OkStatus();
    }
  }

  void OnReceive(std::span<const int> sockets, size_t socket_index, const io_uring_cqe* cqe,
                 DatagramHandler& handler) {
    if ((cqe->flags & IORING_CQE_F_BUFFER) == 0) return;
    const auto buffer_id = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* buffer = ring_->Buffer(buffer_id);
    stats_.received.fetch_add(1, std::memory_order_relaxed);
    io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, cqe->res, &receive_msg_);
    if (out != nullptr) {
      const unsigned length = io_uring_recvmsg_payload_length(out, cqe->res, &receive_msg_);
      if ((out->flags & MSG_TRUNC) != 0 || length > options_.max_datagram_bytes) {
        stats_.oversized.fetch_add(1, std::memory_order_relaxed);
      } else if (out->namelen <= sizeof(sockaddr_storage)) {
        Answer(sockets[socket_index], out, length, handler);
      }
    }
    ring_->ReturnBuffer(buffer_id);
  }

  void Answer(int socket, io_uring_recvmsg_out* out, unsigned length, DatagramHandler& handler) {
    sockaddr_storage peer{};
    std::memcpy(&peer, io_uring_recvmsg_name(out), out->namelen);
    const auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &receive_msg_));
    const bool have_slot = !free_slots_.empty();
    const size_t slot_index = have_slot ? free_slots_.back() : 0;
    std::span<uint8_t> reply =
        have_slot ? std::span<uint8_t>(slot_buffers_.data() + slot_index * options_.max_reply_bytes,
                                       options_.max_reply_bytes)
                  : std::span<uint8_t>(scratch_reply_);
    // The handler runs even when the reply cannot be sent: an announce still counts.
    const size_t reply_length = handler.Handle(peer, std::span<const uint8_t>(payload, length), reply);
    if (reply_length == 0) return;
    if (!have_slot) {
      stats_.send_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    io_uring_sqe* sqe = ring_->Sqe();
    if (sqe == nullptr) {
      stats_.send_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    free_slots_.pop_back();
    SendSlot& slot = slots_[slot_index];
    slot.peer = peer;
    slot.iov = {reply.data(), reply_length};
    slot.msg = {};
    slot.msg.msg_name = &slot.peer;
    slot.msg.msg_namelen = out->namelen;
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
    io_uring_prep_sendmsg(sqe, socket, &slot.msg, 0);
    io_uring_sqe_set_data64(sqe, Tag(kSend, slot_index));
  }

  const LoopOptions options_;
  const std::unique_ptr<Ring> ring_;
  bool ran_ = false;
  msghdr receive_msg_{};
  std::vector<SendSlot> slots_;
  std::vector<uint8_t> slot_buffers_;
  std::vector<size_t> free_slots_;
  std::vector<uint8_t> scratch_reply_;
};

}  // namespace

absl::Status ProbeIoUring() {
  Ring ring;
  absl::Status status = ring.Init(8, 8, 256);
  if (!status.ok()) return status;
  return ProbeRoundTrip(ring);
}

absl::StatusOr<std::unique_ptr<UdpEventLoop>> MakeIoUringLoop(const LoopOptions& options) {
  if (absl::Status probe = ProbeIoUring(); !probe.ok()) return probe;
  auto ring = std::make_unique<Ring>();
  absl::Status status = ring->Init(kRingEntries, IoUringLoop::BufferCount(options),
                                   IoUringLoop::BufferSize(options));
  if (!status.ok()) return status;
  return std::unique_ptr<UdpEventLoop>(std::make_unique<IoUringLoop>(options, std::move(ring)));
}

}  // namespace reef::udp
