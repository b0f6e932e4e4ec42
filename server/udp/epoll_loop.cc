// The epoll backend: wait for readable sockets, drain each with recvmmsg in batches,
// answer each batch with one sendmmsg.
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/udp/event_loop.h"

namespace reef::udp {
namespace {

// Batches taken from one socket before looking at the others and the stop signal again,
// so one flooded socket cannot starve the rest.
constexpr int kMaxBatchesPerWakeup = 16;

class EpollLoop final : public UdpEventLoop {
 public:
  explicit EpollLoop(const LoopOptions& options)
      : options_(options),
        receive_buffers_(options.batch * (options.max_datagram_bytes + 1)),
        reply_buffers_(options.batch * options.max_reply_bytes),
        peers_(options.batch),
        receive_iov_(options.batch),
        reply_iov_(options.batch),
        receive_msgs_(options.batch),
        reply_msgs_(options.batch) {
    for (size_t i = 0; i < options.batch; ++i) {
      // One byte more than the limit, so an oversized datagram shows as too long rather
      // than being silently cut to a valid-looking prefix.
      receive_iov_[i] = {receive_buffers_.data() + i * (options.max_datagram_bytes + 1),
                         options.max_datagram_bytes + 1};
    }
  }

  absl::Status Run(std::span<const int> sockets, int stop_fd, DatagramHandler& handler) override {
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
    absl::Status status = Serve(epoll_fd, sockets, stop_fd, handler);
    close(epoll_fd);
    return status;
  }

  std::string Describe() const override { return "epoll"; }

 private:
  absl::Status Serve(int epoll_fd, std::span<const int> sockets, int stop_fd,
                     DatagramHandler& handler) {
    epoll_event stop_event{};
    stop_event.events = EPOLLIN;
    stop_event.data.u64 = UINT64_MAX;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &stop_event) != 0) {
      return absl::ErrnoToStatus(errno, "epoll_ctl(stop)");
    }
    for (size_t i = 0; i < sockets.size(); ++i) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, sockets[i], &event) != 0) {
        return absl::ErrnoToStatus(errno, "epoll_ctl(socket)");
      }
    }
    std::vector<epoll_event> events(sockets.size() + 1);
    retries_.assign(sockets.size(), ReceiveRetries());
    while (true) {
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::ErrnoToStatus(errno, "epoll_wait");
      }
      for (int e = 0; e < n; ++e) {
        const uint64_t which = events[static_cast<size_t>(e)].data.u64;
        if (which == UINT64_MAX) return absl::OkStatus();
        absl::Status status = Drain(sockets[which], retries_[which], handler);
        if (!status.ok()) return status;
      }
    }
  }

  absl::Status Drain(int socket, ReceiveRetries& retries, DatagramHandler& handler) {
    for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
      for (size_t i = 0; i < options_.batch; ++i) {
        msghdr& h = receive_msgs_[i].msg_hdr;
        h = {};
        h.msg_name = &peers_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &receive_iov_[i];
        h.msg_iovlen = 1;
      }
      const int received = recvmmsg(socket, receive_msgs_.data(),
                                    static_cast<unsigned>(options_.batch), MSG_DONTWAIT, nullptr);
      if (received < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) return absl::OkStatus();  // drained
        if (!retries.ShouldRetry(error)) {
          return ReceiveRetries::Failure(error, "recvmmsg");
        }
        stats_.receive_retries.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      retries.OnDatagram();
      stats_.received.fetch_add(static_cast<uint64_t>(received), std::memory_order_relaxed);
      unsigned replies = 0;
      for (int i = 0; i < received; ++i) {
        const auto idx = static_cast<size_t>(i);
        const size_t length = receive_msgs_[idx].msg_len;
        if (length > options_.max_datagram_bytes ||
            (receive_msgs_[idx].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
          stats_.oversized.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        std::span<uint8_t> reply(reply_buffers_.data() + replies * options_.max_reply_bytes,
                                 options_.max_reply_bytes);
        const size_t reply_length = handler.Handle(
            peers_[idx],
            std::span<const uint8_t>(static_cast<const uint8_t*>(receive_iov_[idx].iov_base),
                                     length),
            reply);
        if (reply_length == 0) continue;
        reply_iov_[replies] = {reply.data(), reply_length};
        msghdr& h = reply_msgs_[replies].msg_hdr;
        h = {};
        h.msg_name = &peers_[idx];
        h.msg_namelen = receive_msgs_[idx].msg_hdr.msg_namelen;
        h.msg_iov = &reply_iov_[replies];
        h.msg_iovlen = 1;
        ++replies;
      }
      Send(socket, replies);
      if (static_cast<size_t>(received) < options_.batch) return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  void Send(int socket, unsigned count) {
    unsigned done = 0;
    while (done < count) {
      const int sent = sendmmsg(socket, reply_msgs_.data() + done, count - done, MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) continue;
        // A full send buffer (EAGAIN) or a per-peer error: skip this reply, keep the rest.
        stats_.send_errors.fetch_add(1, std::memory_order_relaxed);
        ++done;
        continue;
      }
      stats_.sent.fetch_add(static_cast<uint64_t>(sent), std::memory_order_relaxed);
      done += static_cast<unsigned>(sent);
    }
  }

  const LoopOptions options_;
  std::vector<uint8_t> receive_buffers_;
  std::vector<uint8_t> reply_buffers_;
  std::vector<sockaddr_storage> peers_;
  std::vector<iovec> receive_iov_;
  std::vector<iovec> reply_iov_;
  std::vector<mmsghdr> receive_msgs_;
  std::vector<mmsghdr> reply_msgs_;
  std::vector<ReceiveRetries> retries_;  // one per socket
};

}  // namespace

std::unique_ptr<UdpEventLoop> MakeEpollLoop(const LoopOptions& options) {
  return std::make_unique<EpollLoop>(options);
}

}  // namespace reef::udp
