#include "server/udp/event_loop.h"

#include <errno.h>

#include "absl/strings/str_cat.h"

namespace reef::udp {

ReceiveErrorAction ReceiveErrorActionFor(int error) {
  switch (error) {
    case ENOBUFS:  // io_uring: every provided buffer is in use (a flood); recvmmsg: the
                   // kernel is short of socket buffers
    case ENOMEM:   // the kernel could not allocate for this receive
    case EAGAIN:   // nothing to read after all (EWOULDBLOCK is the same value on Linux)
    case EINTR:
    // ICMP errors from earlier replies: they concern one peer, not the socket.
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
      return ReceiveErrorAction::kRetry;
    default:
      return ReceiveErrorAction::kFail;
  }
}

absl::Status ReceiveRetries::Failure(int error, const std::string& what) {
  if (ReceiveErrorActionFor(error) == ReceiveErrorAction::kRetry) {
    return absl::ErrnoToStatus(error, absl::StrCat(what, " failed ", kMaxReceiveRetriesInARow + 1,
                                                   " times in a row with no datagram between"));
  }
  return absl::ErrnoToStatus(error, what);
}

}  // namespace reef::udp
