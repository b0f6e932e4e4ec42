// The io_uring backend. Each socket has one multishot recvmsg that fills buffers from a
// provided-buffer ring (no syscall per datagram); replies go out as sendmsg SQEs from a
// fixed pool of send slots; the stop eventfd is a poll SQE. Everything is submitted in
// one io_uring_submit_and_wait per round of completions.
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>

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

uint64_t Tag(uint64_t kind, uint64_t index) { return (kind << kKindShift) | index; }

absl::Status UringError(int negative_errno, const char* what) {
  return absl::ErrnoToStatus(-negative_errno, absl::StrCat("io_uring ", what));
}

size_t RoundUpPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Checks, once at start, that this kernel gives us everything the loop needs, so a
// refusal is reported before any worker starts.
absl::Status ProbeKernel() {
  io_uring ring;
  int ret = io_uring_queue_init(8, &ring, 0);
  if (ret < 0) return UringError(ret, "setup refused by the kernel");
  absl::Status status = absl::OkStatus();
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    status = absl::UnavailableError("io_uring: the kernel cannot report supported operations");
  } else {
    if (!io_uring_opcode_supported(probe, IORING_OP_RECVMSG) ||
        !io_uring_opcode_supported(probe, IORING_OP_SENDMSG) ||
        !io_uring_opcode_supported(probe, IORING_OP_POLL_ADD)) {
      status = absl::UnavailableError("io_uring: recvmsg, sendmsg or poll is not supported");
    }
    io_uring_free_probe(probe);
  }
  if (status.ok()) {
    // Provided-buffer rings (5.19+) are what multishot recvmsg (6.0+) needs.
    void* memory = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap");
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(memory);
    reg.ring_entries = 8;
    reg.bgid = kBufferGroup;
    ret = io_uring_register_buf_ring(&ring, &reg, 0);
    if (ret < 0) status = UringError(ret, "provided-buffer rings are not supported");
    munmap(memory, 4096);
  }
  io_uring_queue_exit(&ring);
  return status;
}

class IoUringLoop final : public UdpEventLoop {
 public:
  explicit IoUringLoop(const LoopOptions& options)
      : options_(options),
        buffer_count_(RoundUpPowerOfTwo(std::max<size_t>(options.batch * 4, 64))),
        // Rounded to a cache line: each buffer starts with an io_uring_recvmsg_out, which
        // must be aligned.
        buffer_size_((sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_storage) +
                      options.max_datagram_bytes + 1 + 63) / 64 * 64),
        slots_(options.max_sends_in_flight),
        slot_buffers_(options.max_sends_in_flight * options.max_reply_bytes),
        scratch_reply_(options.max_reply_bytes) {}

  absl::Status Run(std::span<const int> sockets, int stop_fd, DatagramHandler& handler) override {
    // The ring is made on the thread that runs it.
    int ret = io_uring_queue_init(kRingEntries, &ring_, 0);
    if (ret < 0) return UringError(ret, "setup");
    absl::Status status = SetUpBuffers();
    if (status.ok()) status = Serve(sockets, stop_fd, handler);
    io_uring_queue_exit(&ring_);
    if (ring_memory_ != nullptr) munmap(ring_memory_, ring_memory_size_);
    ring_memory_ = nullptr;
    return status;
  }

 private:
  struct SendSlot {
    sockaddr_storage peer;
    iovec iov;
    msghdr msg;
  };

  absl::Status SetUpBuffers() {
    // The ring of buffer descriptors, then the buffers themselves, in one mapping.
    const size_t descriptors = buffer_count_ * sizeof(io_uring_buf);
    ring_memory_size_ = descriptors + buffer_count_ * buffer_size_;
    ring_memory_ = mmap(nullptr, ring_memory_size_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ring_memory_ == MAP_FAILED) {
      ring_memory_ = nullptr;
      return absl::ErrnoToStatus(errno, "mmap(buffer ring)");
    }
    buffer_ring_ = static_cast<io_uring_buf_ring*>(ring_memory_);
    buffers_ = static_cast<uint8_t*>(ring_memory_) + descriptors;
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(ring_memory_);
    reg.ring_entries = static_cast<uint32_t>(buffer_count_);
    reg.bgid = kBufferGroup;
    int ret = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (ret < 0) return UringError(ret, "register buffer ring");
    io_uring_buf_ring_init(buffer_ring_);
    const int mask = io_uring_buf_ring_mask(static_cast<uint32_t>(buffer_count_));
    for (size_t i = 0; i < buffer_count_; ++i) {
      io_uring_buf_ring_add(buffer_ring_, buffers_ + i * buffer_size_,
                            static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(i),
                            mask, static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(buffer_count_));
    free_slots_.clear();
    for (size_t i = slots_.size(); i > 0; --i) free_slots_.push_back(i - 1);
    return absl::OkStatus();
  }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  bool ArmReceive(std::span<const int> sockets, size_t index) {
    io_uring_sqe* sqe = Sqe();
    if (sqe == nullptr) return false;
    io_uring_prep_recvmsg_multishot(sqe, sockets[index], &receive_msg_, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, Tag(kRecv, index));
    return true;
  }

  absl::Status Serve(std::span<const int> sockets, int stop_fd, DatagramHandler& handler) {
    receive_msg_ = {};
    receive_msg_.msg_namelen = sizeof(sockaddr_storage);
    for (size_t i = 0; i < sockets.size(); ++i) {
      if (!ArmReceive(sockets, i)) return absl::InternalError("io_uring: no SQE for recvmsg");
    }
    io_uring_sqe* stop = Sqe();
    if (stop == nullptr) return absl::InternalError("io_uring: no SQE for the stop poll");
    io_uring_prep_poll_add(stop, stop_fd, POLLIN);
    io_uring_sqe_set_data64(stop, Tag(kStop, 0));

    while (true) {
      int ret = io_uring_submit_and_wait(&ring_, 1);
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        return UringError(ret, "submit_and_wait");
      }
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      bool stopping = false;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        const uint64_t data = io_uring_cqe_get_data64(cqe);
        const uint64_t kind = data >> kKindShift;
        const size_t index = static_cast<size_t>(data & ((uint64_t{1} << kKindShift) - 1));
        if (kind == kStop) {
          stopping = true;
        } else if (kind == kSend) {
          if (cqe->res < 0) {
            stats_.send_errors.fetch_add(1, std::memory_order_relaxed);
          } else {
            stats_.sent.fetch_add(1, std::memory_order_relaxed);
          }
          free_slots_.push_back(index);
        } else if (kind == kRecv) {
          OnReceive(sockets, index, cqe, handler);
          if ((cqe->flags & IORING_CQE_F_MORE) == 0 && !ArmReceive(sockets, index)) {
            io_uring_cq_advance(&ring_, seen);
            return absl::InternalError("io_uring: cannot re-arm recvmsg");
          }
        }
      }
      io_uring_cq_advance(&ring_, seen);
      if (stopping) return absl::OkStatus();
    }
  }

  void OnReceive(std::span<const int> sockets, size_t socket_index, const io_uring_cqe* cqe,
                 DatagramHandler& handler) {
    if (cqe->res < 0) {
      // -ENOBUFS: every buffer is in use (we return them at once, so only under a
      // flood); the multishot ends and is re-armed by the caller. ICMP errors concern
      // one peer. Neither stops the loop.
      return;
    }
    if ((cqe->flags & IORING_CQE_F_BUFFER) == 0) return;
    const auto buffer_id = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* buffer = buffers_ + static_cast<size_t>(buffer_id) * buffer_size_;
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
    // Hand the buffer back to the kernel.
    io_uring_buf_ring_add(buffer_ring_, buffer, static_cast<unsigned>(buffer_size_), buffer_id,
                          io_uring_buf_ring_mask(static_cast<uint32_t>(buffer_count_)), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
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
    io_uring_sqe* sqe = Sqe();
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
  const size_t buffer_count_;
  const size_t buffer_size_;
  io_uring ring_{};
  void* ring_memory_ = nullptr;
  size_t ring_memory_size_ = 0;
  io_uring_buf_ring* buffer_ring_ = nullptr;
  uint8_t* buffers_ = nullptr;
  msghdr receive_msg_{};
  std::vector<SendSlot> slots_;
  std::vector<uint8_t> slot_buffers_;
  std::vector<size_t> free_slots_;
  std::vector<uint8_t> scratch_reply_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UdpEventLoop>> MakeIoUringLoop(const LoopOptions& options) {
  absl::Status probe = ProbeKernel();
  if (!probe.ok()) return probe;
  return std::unique_ptr<UdpEventLoop>(std::make_unique<IoUringLoop>(options));
}

}  // namespace reef::udp
