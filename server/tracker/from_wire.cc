#include "server/tracker/from_wire.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace reef::tracker {

Event EventFrom(udp::AnnounceEvent event) {
  switch (event) {
    case udp::AnnounceEvent::kStarted: return Event::kStarted;
    case udp::AnnounceEvent::kStopped: return Event::kStopped;
    case udp::AnnounceEvent::kCompleted: return Event::kCompleted;
    case udp::AnnounceEvent::kNone: break;
  }
  return Event::kNone;
}

Event EventFrom(http::Event event) {
  switch (event) {
    case http::Event::kStarted: return Event::kStarted;
    case http::Event::kStopped: return Event::kStopped;
    case http::Event::kCompleted: return Event::kCompleted;
    case http::Event::kPaused:  // BEP 21's partial seed: an ordinary update here
    case http::Event::kNone: break;
  }
  return Event::kNone;
}

Event EventFrom(ws::AnnounceEvent event) {
  switch (event) {
    case ws::AnnounceEvent::kStarted: return Event::kStarted;
    case ws::AnnounceEvent::kStopped: return Event::kStopped;
    case ws::AnnounceEvent::kCompleted: return Event::kCompleted;
    case ws::AnnounceEvent::kUpdate:
    case ws::AnnounceEvent::kPaused:
    case ws::AnnounceEvent::kEmpty:
    case ws::AnnounceEvent::kNone: break;
  }
  return Event::kNone;
}

AnnounceRequest FromUdp(const udp::AnnounceRequest& request) {
  AnnounceRequest out;
  out.info_hash = request.info_hash;
  out.peer_id = request.peer_id;
  out.port = request.port;
  // BEP 15 sends left as a signed 64-bit number; a negative one says nothing usable.
  if (request.left >= 0) out.left = static_cast<uint64_t>(request.left);
  out.event = EventFrom(request.event);
  // -1 is BEP 15's "default"; any negative is taken the same way.
  if (request.num_want >= 0) out.num_want = static_cast<uint32_t>(request.num_want);
  return out;
}

AnnounceRequest FromHttp(const http::AnnounceRequest& request) {
  AnnounceRequest out;
  out.info_hash = request.info_hash;
  out.peer_id = request.peer_id;
  out.port = request.port;
  out.left = request.left;
  out.event = EventFrom(request.event);
  out.num_want = request.numwant;  // the parser leaves out absent and negative values
  return out;
}

AnnounceRequest FromWebTorrent(const ws::AnnounceRequest& request) {
  AnnounceRequest out;
  out.info_hash = request.info_hash;
  out.peer_id = request.peer_id;
  out.left = request.left;
  out.event = EventFrom(request.event);
  if (request.numwant.has_value()) {
    out.num_want = static_cast<uint32_t>(
        std::min<uint64_t>(*request.numwant, std::numeric_limits<uint32_t>::max()));
  }
  return out;
}

}  // namespace reef::tracker
