// For tests: an AnnounceWriter that keeps everything the core passes it, in order.
#ifndef REEF_SERVER_TRACKER_RECORDING_WRITER_H_
#define REEF_SERVER_TRACKER_RECORDING_WRITER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/tracker.h"

namespace reef::tracker::testing {

struct RecordingWriter {
  uint32_t Capacity(AddressFamily) const { return capacity; }
  void Begin(AddressFamily f, const AnnounceReply& r, uint32_t n) {
    calls.push_back("begin " + std::to_string(n));
    family = f;
    reply = r;
    announced = n;
  }
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const swarm::PeerIdBytes& id) {
    calls.push_back("add");
    peers.push_back(swarm::EndpointOf(peer));
    ids.push_back(PeerId(id));
  }

  uint32_t capacity = 1000;
  // "begin N", then "add" per peer.
  std::vector<std::string> calls;
  AddressFamily family = AddressFamily::kV4;
  AnnounceReply reply;
  uint32_t announced = 0;
  std::vector<Endpoint> peers;
  std::vector<PeerId> ids;
};
static_assert(AnnounceWriter<RecordingWriter>);

}  // namespace reef::tracker::testing

#endif  // REEF_SERVER_TRACKER_RECORDING_WRITER_H_
