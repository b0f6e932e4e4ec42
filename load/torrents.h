// The simulated world of a load run: which info hash is torrent k, which peer id and port
// peer p of torrent k announces. Pure functions of the indices, so the bench runner can
// write opentracker's whitelist (reef_load --print_info_hashes) for exactly the torrents
// a run will ask about, whatever its seed.
#ifndef REEF_LOAD_TORRENTS_H_
#define REEF_LOAD_TORRENTS_H_

#include <cstdint>

#include "load/options.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/rng.h"

namespace reef::load {

inline InfoHash InfoHashOf(uint32_t torrent) {
  constexpr uint64_t kSalt = 0x7265656662656e63ULL;  // "reefbenc"
  uint64_t state = kSalt ^ (static_cast<uint64_t>(torrent) << 20);
  InfoHash hash;
  auto bytes = hash.mutable_bytes();
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = SplitMix64(&state);
    for (size_t j = 0; j < 8 && i + j < bytes.size(); ++j) {
      bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  }
  return hash;
}

// "-RL0001-" (Azureus style: reef load) then 12 bytes from the indices.
inline PeerId PeerIdOf(uint32_t torrent, uint32_t peer) {
  PeerId id;
  auto bytes = id.mutable_bytes();
  constexpr char kPrefix[] = "-RL0001-";
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(kPrefix[i]);
  uint64_t word = Mix64((static_cast<uint64_t>(torrent) << 32) | peer);
  for (size_t i = 8; i < 16; ++i) bytes[i] = static_cast<uint8_t>(word >> (8 * (i - 8)));
  word = Mix64(word);
  for (size_t i = 16; i < 20; ++i) bytes[i] = static_cast<uint8_t>(word >> (8 * (i - 16)));
  return id;
}

inline uint16_t PeerPortOf(uint32_t peer) {
  return static_cast<uint16_t>(kFirstPeerPort + peer % kMaxPeersPerTorrent);
}

}  // namespace reef::load

#endif  // REEF_LOAD_TORRENTS_H_
