// The io_uring backend. Each socket has one multishot recvmsg that fills buffers from a
// provided-buffer ring (no syscall per datagram). Replies are send SQEs written into a
// round's send slots and handed to the kernel together with the next wait, one
// io_uring_enter per round: MSG_DONTWAIT makes each send finish (or fail) within that
// call, so its slot is free again once the call returns, and IOSQE_CQE_SKIP_SUCCESS means
// a reply sent posts no completion; only a failed one does. The stop eventfd is a poll SQE.
//
// The ring is made, and its buffers registered, when the loop is made (MakeIoUringLoop,
// on the main thread at start), not when it runs: so reef can install its seccomp filter
// after start-up without allowing io_uring_setup, and the ring is restricted
// (IORING_REGISTER_RESTRICTIONS) to the operations the loop submits, so the ring cannot
// be used to do what seccomp forbids (seccomp never sees operations submitted through a
// ring). With deferred task work (IORING_SETUP_DEFER_TASKRUN, the fastest way here, see
// docs/benchmarks.md) only the thread that enables the ring may use it, so the worker
// enables it when it starts: the one io_uring_register call seccomp allows, and one that
// only turns on a ring made disabled, with its restrictions already in place. The
// start-up probe builds a small ring the same way and runs every operation once over
// AF_UNIX sockets, so any feature this kernel lacks is reported at start, or a fallback
// chosen (IoUringChoices), before a worker serves.
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
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/udp/event_loop.h"

namespace reef::udp {

std::string IoUringChoicesText(const IoUringChoices& choices) {
  return absl::StrCat(choices.defer_taskrun  ? "deferred task work"
                      : choices.coop_taskrun ? "cooperative task work"
                                             : "task work by interrupt",
                      ", ", choices.send_to ? "send with address" : "sendmsg");
}

namespace {

constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kRingEntries = 1024;
// user_data: the top byte says what completed, the rest which socket.
constexpr uint64_t kKindShift = 56;
constexpr uint64_t kRecv = 1;
constexpr uint64_t kSend = 2;
constexpr uint64_t kStop = 3;

// The SQE flags the loop sets; the ring refuses any other.
constexpr uint8_t kSqeFlags = IOSQE_BUFFER_SELECT | IOSQE_CQE_SKIP_SUCCESS;

uint64_t Tag(uint64_t kind, uint64_t index) { return (kind << kKindShift) | index; }

absl::Status UringError(int negative_errno, const char* what) {
  return absl::ErrnoToStatus(-negative_errno, absl::StrCat("io_uring ", what));
}

size_t RoundUpPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

uint8_t SendOperation(const IoUringChoices& choices) {
  return choices.send_to ? IORING_OP_SEND : IORING_OP_SENDMSG;
}

// What one reply needs until the kernel has taken it: the peer and, for sendmsg, its
// header; the bytes are in the slot's buffer.
struct SendSlot {
  sockaddr_storage peer;
  socklen_t peer_length;
  iovec iov;
  msghdr msg;
};

// An io_uring with a registered provided-buffer ring, restricted to the operations the
// loop uses: everything the loop needs from the kernel, made in one place so the probe and
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

  // Sets the ring up with the first setup flags of `wanted` this kernel takes (recorded in
  // choices()), restricted to receiving, polling and `send_operations`. The ring is left
  // disabled: Enable() it on the thread that will use it.
  absl::Status Init(unsigned entries, size_t buffer_count, size_t buffer_size,
                    const IoUringChoices& wanted, std::span<const uint8_t> send_operations) {
    buffer_count_ = buffer_count;
    buffer_size_ = buffer_size;
    choices_ = wanted;
    if (absl::Status setup = Setup(entries); !setup.ok()) return setup;
    // NODROP: completions beyond the CQ ring wait in the kernel instead of being lost
    // (a lost completion would strand a multishot receive).
    if ((params_.features & IORING_FEAT_NODROP) == 0) {
      return absl::UnavailableError("io_uring: the kernel may drop completions (no NODROP)");
    }
    if ((params_.features & IORING_FEAT_CQE_SKIP) == 0) {
      return absl::UnavailableError("io_uring: the kernel has no IOSQE_CQE_SKIP_SUCCESS (5.17+)");
    }
    std::vector<uint8_t> operations = {IORING_OP_RECVMSG, IORING_OP_POLL_ADD};
    operations.insert(operations.end(), send_operations.begin(), send_operations.end());
    if (absl::Status ops = CheckOperations(operations); !ops.ok()) return ops;

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
    int ret = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (ret < 0) return UringError(ret, "provided-buffer rings (register_buf_ring)");
    io_uring_buf_ring_init(buffer_ring_);
    for (size_t i = 0; i < buffer_count_; ++i) {
      io_uring_buf_ring_add(buffer_ring_, Buffer(static_cast<uint16_t>(i)),
                            static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(i),
                            Mask(), static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(buffer_count_));

    // Only our operations and SQE flags; no registrations but enabling after this.
    std::vector<io_uring_restriction> restrictions;
    for (uint8_t op : operations) {
      io_uring_restriction r{};
      r.opcode = IORING_RESTRICTION_SQE_OP;
      r.sqe_op = op;
      restrictions.push_back(r);
    }
    io_uring_restriction flags{};
    flags.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    flags.sqe_flags = kSqeFlags;
    restrictions.push_back(flags);
    // Debian's liburing 2.3 declares io_uring_register_restrictions and
    // io_uring_enable_rings but its shared library does not export them: the raw
    // registration call does the same.
    ret = io_uring_register(static_cast<unsigned>(ring_.ring_fd), IORING_REGISTER_RESTRICTIONS,
                            restrictions.data(), static_cast<unsigned>(restrictions.size()));
    if (ret < 0) return UringError(ret, "restrictions (IORING_REGISTER_RESTRICTIONS)");
    return absl::OkStatus();
  }

  // Enables the ring; with deferred task work, the calling thread becomes the only one
  // that may use it.
  absl::Status Enable() {
    const int ret = io_uring_register(static_cast<unsigned>(ring_.ring_fd),
                                      IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (ret < 0) return UringError(ret, "enabling the ring (IORING_REGISTER_ENABLE_RINGS)");
    return absl::OkStatus();
  }

  io_uring* get() { return &ring_; }
  const IoUringChoices& choices() const { return choices_; }
  uint8_t* Buffer(uint16_t id) { return buffers_ + static_cast<size_t>(id) * buffer_size_; }

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

  // A reply from `fd` to slot.peer: posts a completion only if it fails, and is done with
  // the slot when the submitting io_uring_enter returns (MSG_DONTWAIT: never queued for
  // later, a full send buffer fails it with EAGAIN).
  bool PrepareSend(int fd, SendSlot& slot, uint64_t user_data) {
    io_uring_sqe* sqe = Sqe();
    if (sqe == nullptr) return false;
    if (choices_.send_to) {
      // io_uring_prep_sendto, which liburing 2.3 does not have yet.
      io_uring_prep_send(sqe, fd, slot.iov.iov_base, slot.iov.iov_len, MSG_DONTWAIT);
      sqe->addr2 = reinterpret_cast<uint64_t>(&slot.peer);
      sqe->addr_len = static_cast<uint16_t>(slot.peer_length);
    } else {
      slot.msg = {};
      slot.msg.msg_name = &slot.peer;
      slot.msg.msg_namelen = slot.peer_length;
      slot.msg.msg_iov = &slot.iov;
      slot.msg.msg_iovlen = 1;
      io_uring_prep_sendmsg(sqe, fd, &slot.msg, MSG_DONTWAIT);
    }
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, user_data);
    return true;
  }

 private:
  // The setup flags of choices_, newest first: a kernel that refuses one (EINVAL) gets
  // the next, and choices_ says which was taken. Always disabled until restricted: a
  // disabled ring accepts registrations, not submissions.
  absl::Status Setup(unsigned entries) {
    struct Option {
      bool* choice;
      unsigned flags;
    };
    bool plain = true;
    const Option options[] = {
        {&choices_.defer_taskrun, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
        {&choices_.coop_taskrun, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG},
        {&plain, 0},
    };
    int ret = -EINVAL;
    for (const Option& option : options) {
      if (!*option.choice) continue;
      params_ = {};
      params_.flags = IORING_SETUP_R_DISABLED | option.flags;
      ret = io_uring_queue_init_params(entries, &ring_, &params_);
      if (ret == 0) {
        initialized_ = true;
        return absl::OkStatus();
      }
      if (ret != -EINVAL) break;
      *option.choice = false;
    }
    return UringError(ret, "setup refused by the kernel");
  }

  absl::Status CheckOperations(std::span<const uint8_t> operations) {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) {
      return absl::UnavailableError("io_uring: the kernel cannot report supported operations");
    }
    absl::Status status = absl::OkStatus();
    for (uint8_t op : operations) {
      if (!io_uring_opcode_supported(probe, op)) {
        status = absl::UnavailableError(absl::StrCat(
            "io_uring: operation ", op, " (recvmsg, poll, send or sendmsg) unsupported"));
      }
    }
    io_uring_free_probe(probe);
    return status;
  }

  int Mask() const { return io_uring_buf_ring_mask(static_cast<uint32_t>(buffer_count_)); }

  io_uring ring_{};
  io_uring_params params_{};
  IoUringChoices choices_;
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
  uint64_t user_data;
};

// The next completion, waiting at most a second (the probe never hangs at start).
absl::StatusOr<Completion> NextCompletion(Ring& ring, const char* what) {
  __kernel_timespec timeout{.tv_sec = 1, .tv_nsec = 0};
  io_uring_cqe* cqe = nullptr;
  int ret = io_uring_submit_and_wait_timeout(ring.get(), &cqe, 1, &timeout, nullptr);
  if (ret < 0) return UringError(ret, absl::StrCat("waiting for ", what).c_str());
  const Completion completion{cqe->res, cqe->flags, cqe->user_data};
  io_uring_cqe_seen(ring.get(), cqe);
  return completion;
}

// An unconnected AF_UNIX datagram socket bound to an address of the kernel's choosing.
struct UnixSocket {
  UnixSocket() {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    const sa_family_t family = AF_UNIX;  // only the family: autobind to an abstract name
    length = sizeof(address);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&family), sizeof(family)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      close(fd);
      fd = -1;
    }
  }
  ~UnixSocket() {
    if (fd >= 0) close(fd);
  }
  UnixSocket(const UnixSocket&) = delete;
  UnixSocket& operator=(const UnixSocket&) = delete;
  int fd = -1;
  sockaddr_storage address{};
  socklen_t length = 0;
};

// One reply from `from` to `to` as the loop sends it; OK if `to` got it and no completion
// was posted, the kernel's error (as a status) if it refused it.
absl::Status ProbeSend(Ring& ring, const UnixSocket& from, const UnixSocket& to) {
  constexpr char kPong[] = "pong";
  SendSlot slot{};
  std::memcpy(&slot.peer, &to.address, to.length);
  slot.peer_length = to.length;
  char pong[4];
  std::memcpy(pong, kPong, 4);
  slot.iov = {pong, 4};
  if (!ring.PrepareSend(from.fd, slot, Tag(kSend, 0))) {
    return absl::InternalError("io_uring probe: no SQE");
  }
  const int submitted = io_uring_submit(ring.get());
  if (submitted != 1) return UringError(submitted < 0 ? submitted : -EIO, "submitting a send");
  char back[8];
  if (recv(to.fd, back, sizeof(back), MSG_DONTWAIT) == 4 && std::memcmp(back, kPong, 4) == 0) {
    return absl::OkStatus();
  }
  // Not delivered within the submitting call: its failure is waiting.
  absl::StatusOr<Completion> failed = NextCompletion(ring, "a failed send");
  if (!failed.ok()) return failed.status();
  return UringError(failed->res < 0 ? failed->res : -EIO, "send");
}

// Runs each operation the loop uses once, on a ring set up as the loop's is, over two
// AF_UNIX datagram sockets: a multishot recvmsg must deliver a datagram into a provided
// buffer and stay armed, a send must deliver one (with the peer's address if the kernel
// takes it, else by sendmsg) and post no completion, a poll must see an eventfd, and an
// operation outside the restrictions must be refused. Records the send it used in
// `choices`.
absl::Status ProbeRoundTrip(Ring& ring, IoUringChoices& choices) {
  UnixSocket a;
  UnixSocket b;
  if (a.fd < 0 || b.fd < 0) return absl::ErrnoToStatus(errno, "io_uring probe: AF_UNIX socket");
  const int event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd < 0) return absl::ErrnoToStatus(errno, "io_uring probe: eventfd");
  absl::Status status = [&]() -> absl::Status {
    // Waiting with a timeout without a timeout SQE (which the restrictions refuse).
    if ((ring.get()->features & IORING_FEAT_EXT_ARG) == 0) {
      return absl::UnavailableError("io_uring: the kernel has no EXT_ARG (5.11+)");
    }
    msghdr receive_msg{};
    receive_msg.msg_namelen = sizeof(sockaddr_storage);
    if (!ring.ArmReceive(a.fd, &receive_msg, Tag(kRecv, 0))) {
      return absl::InternalError("io_uring probe: no SQE");
    }
    constexpr char kPing[] = "ping";
    if (sendto(b.fd, kPing, 4, 0, reinterpret_cast<const sockaddr*>(&a.address), a.length) != 4) {
      return absl::ErrnoToStatus(errno, "probe: send");
    }
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

    absl::Status sent = ProbeSend(ring, a, b);
    if (!sent.ok() && choices.send_to && absl::IsInvalidArgument(sent)) {
      choices.send_to = false;  // a kernel before 6.1: no address on IORING_OP_SEND
      sent = ProbeSend(ring, a, b);
    }
    if (!sent.ok()) return sent;

    io_uring_sqe* sqe = ring.Sqe();
    if (sqe == nullptr) return absl::InternalError("io_uring probe: no SQE");
    io_uring_prep_poll_add(sqe, event_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, Tag(kStop, 0));
    const uint64_t one = 1;
    if (write(event_fd, &one, sizeof(one)) != sizeof(one)) {
      return absl::ErrnoToStatus(errno, "probe: eventfd write");
    }
    absl::StatusOr<Completion> polled = NextCompletion(ring, "poll");
    if (!polled.ok()) return polled.status();
    // The send before it succeeded, so the first completion since is the poll's.
    if (polled->user_data != Tag(kStop, 0)) {
      return absl::UnavailableError("io_uring: a successful send posted a completion "
                                    "(IOSQE_CQE_SKIP_SUCCESS not honoured)");
    }
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
  return status;
}

class IoUringLoop final : public UdpEventLoop {
 public:
  IoUringLoop(const LoopOptions& options, std::unique_ptr<Ring> ring)
      : options_(options),
        ring_(std::move(ring)),
        slots_(std::max<size_t>(options.max_sends_in_flight, 1)),
        slot_buffers_(slots_.size() * options.max_reply_bytes) {}

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
    if (ring_->choices().defer_taskrun) {
      // This thread becomes the one that may use the ring (see the top of this file).
      if (absl::Status enabled = ring_->Enable(); !enabled.ok()) return enabled;
    }
    return Serve(sockets, stop_fd, handler);
  }

  std::string Describe() const override {
    return absl::StrCat("io_uring (", IoUringChoicesText(ring_->choices()), ")");
  }

 private:
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
      // The round's replies go to the kernel with the wait: one system call.
      int ret = io_uring_submit_and_wait(ring, 1);
      // EINTR: a signal; EAGAIN: the kernel could not allocate requests for now; EBUSY:
      // completions are waiting in the kernel's overflow list. Each clears once the
      // completions below are reaped.
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        return UringError(ret, "submit_and_wait");
      }
      Submitted();
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
          // Only a failed reply has a completion (IOSQE_CQE_SKIP_SUCCESS).
          ++sends_failed_;
          stats_.send_errors.fetch_add(1, std::memory_order_relaxed);
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
      // Every failure of what was submitted is in the completions just read (a send that
      // fails does so within the submitting call), so sent is exact whenever nothing waits.
      if (io_uring_sq_ready(ring) == 0) {
        stats_.sent.store(sends_submitted_ - sends_failed_, std::memory_order_relaxed);
      }
      if (!status.ok()) return status;
      if (stopping) {
        io_uring_submit(ring);  // the replies of this last round
        return absl::OkStatus();
      }
    }
  }

  // After a submission: once the kernel has taken every SQE, every send of the round is
  // done (or failed) and its slot free.
  void Submitted() {
    if (io_uring_sq_ready(ring_->get()) != 0) return;
    sends_submitted_ += used_slots_;
    used_slots_ = 0;
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

  // A free slot: when the round has used them all, its replies are submitted now, which
  // frees them. nullptr if the kernel would not take them all.
  SendSlot* FreeSlot() {
    if (used_slots_ == slots_.size()) {
      io_uring_submit(ring_->get());
      Submitted();
      if (used_slots_ == slots_.size()) return nullptr;
    }
    return &slots_[used_slots_];
  }

  void Answer(int socket, io_uring_recvmsg_out* out, unsigned length, DatagramHandler& handler) {
    SendSlot* slot = FreeSlot();
    if (slot == nullptr) {
      // The handler runs even when the reply cannot be sent: an announce still counts.
      sockaddr_storage peer{};
      std::memcpy(&peer, io_uring_recvmsg_name(out), out->namelen);
      scratch_reply_.resize(options_.max_reply_bytes);
      const auto* payload =
          static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &receive_msg_));
      if (handler.Handle(peer, std::span<const uint8_t>(payload, length), scratch_reply_) > 0) {
        stats_.send_dropped.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    const size_t slot_index = static_cast<size_t>(slot - slots_.data());
    slot->peer = {};
    std::memcpy(&slot->peer, io_uring_recvmsg_name(out), out->namelen);
    slot->peer_length = out->namelen;
    const auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &receive_msg_));
    std::span<uint8_t> reply(slot_buffers_.data() + slot_index * options_.max_reply_bytes,
                             options_.max_reply_bytes);
    const size_t reply_length =
        handler.Handle(slot->peer, std::span<const uint8_t>(payload, length), reply);
    if (reply_length == 0) return;
    slot->iov = {reply.data(), reply_length};
    if (!ring_->PrepareSend(socket, *slot, Tag(kSend, 0))) {
      stats_.send_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ++used_slots_;
  }

  const LoopOptions options_;
  const std::unique_ptr<Ring> ring_;
  bool ran_ = false;
  msghdr receive_msg_{};
  std::vector<SendSlot> slots_;
  std::vector<uint8_t> slot_buffers_;
  std::vector<uint8_t> scratch_reply_;
  size_t used_slots_ = 0;         // this round's replies not yet taken by the kernel
  uint64_t sends_submitted_ = 0;  // replies the kernel has taken
  uint64_t sends_failed_ = 0;     // of which failed
};

// Both send operations: the probe finds out which one works.
constexpr uint8_t kProbeSendOperations[] = {IORING_OP_SEND, IORING_OP_SENDMSG};

}  // namespace

absl::StatusOr<IoUringChoices> ProbeIoUring(const IoUringChoices& wanted) {
  Ring ring;
  absl::Status status = ring.Init(8, 8, 256, wanted, kProbeSendOperations);
  if (!status.ok()) return status;
  if (status = ring.Enable(); !status.ok()) return status;
  IoUringChoices choices = ring.choices();
  if (status = ProbeRoundTrip(ring, choices); !status.ok()) return status;
  return choices;
}

absl::StatusOr<std::unique_ptr<UdpEventLoop>> MakeIoUringLoop(const LoopOptions& options) {
  absl::StatusOr<IoUringChoices> choices = ProbeIoUring(options.io_uring);
  if (!choices.ok()) return choices.status();
  auto ring = std::make_unique<Ring>();
  const uint8_t send_operation[] = {SendOperation(*choices)};
  absl::Status status = ring->Init(kRingEntries, IoUringLoop::BufferCount(options),
                                   IoUringLoop::BufferSize(options), *choices, send_operation);
  if (!status.ok()) return status;
  if (!ring->choices().defer_taskrun) {
    // Enabled here, so no io_uring_register is needed once reef serves.
    if (status = ring->Enable(); !status.ok()) return status;
  }
  return std::unique_ptr<UdpEventLoop>(std::make_unique<IoUringLoop>(options, std::move(ring)));
}

}  // namespace reef::udp
