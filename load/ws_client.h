// The WebTorrent side of the load generator: one thread's WebSocket connections, each a
// simulated browser that announces with offers and answers the offers it receives.
//
// Each connection opens with an RFC 6455 handshake (the 101's Sec-WebSocket-Accept must
// match the key), takes a random peer id and ws_torrents_per_connection torrents drawn by
// the popularity model, and then keeps up to in_flight requests outstanding: announces
// (round robin over its torrents, `started` the first time, ws_offers offers of a
// browser-sized SDP each and numwant = ws_offers) and scrapes, by the mix. Answers come in
// order on a connection; relayed messages come in between and are handled as a browser
// would: an offer is answered at once (unless ws_answer is off), an answer is matched to
// an offer this connection made.
//
// An answer counts as ok only if:
//   - announce: an announce response for the same info hash, interval > 0, and at least
//     the announcing peer in complete + incomplete (else implausible);
//   - scrape: at most one file per distinct requested hash, each one requested;
//   - a failure reason is an error_response; a message of the other kind wrong_type; a
//     frame that does not parse as a server message unparsable.
// Relayed messages are counted apart (relay_* in Totals): offers received (for one of this
// connection's torrents, from another peer id), answers sent, answers received (for an
// offer this connection made recently), and relayed messages that are neither
// (relay_implausible). A close frame, a failed handshake or a broken socket ends the
// connection's outstanding requests as io_error; it reconnects with a new peer id.
#ifndef REEF_LOAD_WS_CLIENT_H_
#define REEF_LOAD_WS_CLIENT_H_

#include "absl/status/status.h"
#include "load/run.h"
#include "load/stats.h"
#include "load/workload.h"

namespace reef::load {

// One load thread for the WebTorrent protocol.
absl::Status RunWsThread(const Workload& workload, int thread_index, const RunControl& control,
                         ThreadStats* stats);

}  // namespace reef::load

#endif  // REEF_LOAD_WS_CLIENT_H_
