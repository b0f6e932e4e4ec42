// Which BitTorrent client software a peer runs, from its peer id: what the optional
// peer-client metric counts. No allocation; a pure function of the 20 bytes.
//
// The conventions clients follow (BEP 20), tried in this order:
//   - exceptions, matched on fixed bytes: "exbc" (BitComet), "XBT" (XBT), "OP" (Opera),
//     "-ML" (MLDonkey, dotted version), "A2-" (aria2), "AZ2500BT" (BitTyrant), "-BOW",
//     "TIX" (Tixati), "btpd/", "Pando", "-FG" (FlashGet), "DNA" (BitTorrent DNA);
//   - Azureus style, "-" two characters four version characters "-": "-qB4500-" is
//     qBittorrent 4.5, "-TR4060-" Transmission 4.0, "-lt0D80-" rTorrent 0.13;
//   - Shadow style, one character, three version characters, "--": "S58B--" is Shadow
//     5.8, "T03I--" BitTornado 0.3;
//   - Mainline style, "M4-3-6--": BitTorrent (Mainline) 4.3.
// A client code not in reef's table, and any other peer id, is "other": the label set is
// bounded by the table, never by what clients send. The version is "major.minor", from
// the first two version characters (0-9, then A-Z and a-z for 10 and up, as clients
// that pass 9 write it), so it too has a bounded number of values per client.
#ifndef REEF_SERVER_METRICS_PEER_CLIENT_H_
#define REEF_SERVER_METRICS_PEER_CLIENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/common/fixed_bytes.h"

namespace reef::metrics {

struct PeerClient {
  // Index into PeerClientNames(); 0 is "other".
  uint16_t client = 0;
  // "4.5", or empty when the peer id has no version reef reads.
  std::array<char, 8> version_chars{};
  uint8_t version_size = 0;

  std::string_view name() const;
  std::string_view version() const { return {version_chars.data(), version_size}; }
  bool is_other() const { return client == 0; }
  friend bool operator==(const PeerClient& a, const PeerClient& b) {
    return a.client == b.client && a.version() == b.version();
  }
  template <typename H>
  friend H AbslHashValue(H state, const PeerClient& c) {
    return H::combine(std::move(state), c.client, c.version());
  }
};

// Every name IdentifyPeerClient can return, "other" first, no name twice.
std::span<const std::string_view> PeerClientNames();

PeerClient IdentifyPeerClient(const PeerId& peer_id);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_PEER_CLIENT_H_
