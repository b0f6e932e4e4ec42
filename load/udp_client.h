// The UDP (BEP 15) side of the load generator: one thread's sockets, requests in flight,
// connection ids, transaction-id matching and answer checks.
//
// Each socket is connect()ed to the target, gets a connection id with a connect request
// before anything else (and again every kConnectionIdRefreshNs, or whenever the mix picks
// a connect), and keeps up to in_flight requests outstanding. A transaction id carries
// the request's slot in its low kSlotBits bits and random bits above, so an answer finds
// its request in O(1) and a wrong id almost never matches another (odds 2^-22 per answer).
//
// An answer is checked before it counts as ok:
//   - it parses as a BEP 15 response for the socket's family (peers of 6 or 18 bytes);
//   - its transaction id is that of an outstanding request on this socket (else stray);
//   - its action fits the request (an error response is an error; another type is wrong);
//   - announce: interval > 0, counts >= 0, no more peers than num_want (or
//     max_plausible_peers) and than seeders + leechers, and (on loopback) only loopback
//     peers with non-zero ports;
//   - scrape: one entry per requested hash, counts >= 0.
#ifndef REEF_LOAD_UDP_CLIENT_H_
#define REEF_LOAD_UDP_CLIENT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "load/run.h"
#include "load/workload.h"
#include "protocol/udp/messages.h"

namespace reef::load {

inline constexpr int kSlotBits = 10;
static_assert((1 << kSlotBits) >= kMaxInFlight);
// BEP 15: a connection id is valid for two minutes; a client refreshes after one.
inline constexpr uint64_t kConnectionIdRefreshNs = 60'000'000'000ull;
// Datagrams per sendmmsg/recvmmsg call.
inline constexpr int kUdpBatch = 64;
// Best-effort receive buffer per socket (PEERS.md: rmem_max is 4 MiB here).
inline constexpr int kUdpReceiveBuffer = 4 << 20;

// Checks one parsed announce response against what the request asked; true if plausible.
// `loopback`: the target is a loopback address, so every peer the tracker knows came over
// loopback: each must be in 127.0.0.0/8 (IPv4) or ::1 (IPv6), with a port other than 0. A
// list of the other family read with this family's entry size fails this.
bool PlausibleAnnounce(const udp::AnnounceResponse& response, int32_t num_want,
                       int max_plausible_peers, bool loopback);

// One load thread for the UDP protocol.
absl::Status RunUdpThread(const Workload& workload, int thread_index, const RunControl& control,
                          ThreadStats* stats);

}  // namespace reef::load

#endif  // REEF_LOAD_UDP_CLIENT_H_
