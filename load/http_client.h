// The HTTP side of the load generator: one thread's connections, keep-alive (with up to
// in_flight pipelined requests) or a new connection per request, and answer checks.
//
// Answers are matched to requests in order on each connection. An answer counts as ok
// only if:
//   - its head parses, with a Content-Length (or, on a connection the server closes, a
//     body that runs to the end), and the status is 200 (else error_response);
//   - the body parses as the expected tracker response (else unparsable), without a
//     failure reason (else error_response);
//   - announce: interval > 0, counts >= 0, peers only of the target's family (peers for
//     IPv4, peers6 for IPv6), no more than num_want (or max_plausible_peers) and than
//     complete + incomplete when both are given, and (on loopback) only loopback peers
//     with non-zero ports;
//   - scrape: at most one file per distinct requested hash (a tracker may leave out the
//     ones it does not know), each one requested, counts >= 0.
// A request whose connection fails or closes before its answer is an io_error; one with no
// answer within the timeout is a timeout (and its connection, now out of step, is closed,
// failing the requests pipelined behind it as timeouts too). Bytes that arrive when no
// request is outstanding are stray, and close the connection.
//
// A server that closes a kept-alive connection without saying so (opentracker answers
// HTTP/1.1 without "Connection: close", then closes) turns a request written just before
// the close into an io_error: run such a server with keep_alive = false.
#ifndef REEF_LOAD_HTTP_CLIENT_H_
#define REEF_LOAD_HTTP_CLIENT_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "load/run.h"
#include "load/stats.h"
#include "load/workload.h"

namespace reef::load {

// The largest response the client buffers (head and body); a longer one is unparsable.
inline constexpr size_t kMaxHttpResponseBytes = 256 * 1024;

// What one whole HTTP answer (head + body) to a request means. `requested` holds a
// scrape's info hashes (ignored for announces). Returns nullopt-like kNumFailures for ok.
struct HttpCheck {
  bool ok = false;
  Failure failure = Failure::kUnparsable;
  size_t peers = 0;  // in an ok announce answer
};
// `loopback`: as for UDP (udp_client.h), every peer must be a loopback address with a
// port other than 0.
HttpCheck CheckHttpAnnounce(int status, std::string_view body, bool v6, int32_t num_want,
                            int max_plausible_peers, bool loopback);
HttpCheck CheckHttpScrape(int status, std::string_view body,
                          std::span<const InfoHash> requested);

// One load thread for the HTTP protocol.
absl::Status RunHttpThread(const Workload& workload, int thread_index,
                           const RunControl& control, ThreadStats* stats);

}  // namespace reef::load

#endif  // REEF_LOAD_HTTP_CLIENT_H_
