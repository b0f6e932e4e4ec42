// reef::swarm::Rng: the generator behind peer selection, protocol/common's reef::Rng
// (xoshiro256**, see rng.h there). Each socket worker owns one and passes it to
// TorrentStore::Announce; it is never shared between threads, so it needs no lock.
#ifndef REEF_SERVER_SWARM_RNG_H_
#define REEF_SERVER_SWARM_RNG_H_

#include "protocol/common/rng.h"

namespace reef::swarm {

using Rng = ::reef::Rng;

}  // namespace reef::swarm

#endif  // REEF_SERVER_SWARM_RNG_H_
