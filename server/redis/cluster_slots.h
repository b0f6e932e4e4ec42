// Redis Cluster routing, reef's own (Debian's hiredis 0.14 has no cluster support):
//   - KeySlot(key): the hash slot of a key, CRC16 (XMODEM) of the key, or of its
//     `{hashtag}` when it has one, modulo 16384, exactly as the cluster spec defines it
//     (https://redis.io/docs/reference/cluster-spec/, "Hash tags");
//   - SlotMap: which master serves each slot, from a `CLUSTER SLOTS` reply, patched slot
//     by slot by MOVED redirects until the next full refresh;
//   - ParseRedirect: the MOVED / ASK error replies (`MOVED 3999 127.0.0.1:6381`).
// Pure code, no sockets: cluster_client.h drives it.
#ifndef REEF_SERVER_REDIS_CLUSTER_SLOTS_H_
#define REEF_SERVER_REDIS_CLUSTER_SLOTS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct redisReply;

namespace reef::redis {

inline constexpr uint16_t kSlotCount = 16384;

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection, the variant
// Redis Cluster uses. Crc16("123456789") == 0x31C3.
uint16_t Crc16(std::string_view data);

// The slot of `key`: if it contains '{', and a '}' after it with at least one byte in
// between, only the bytes between the first '{' and the first '}' after it are hashed.
uint16_t KeySlot(std::string_view key);

// A node as the cluster names it: a numeric IP address (no name lookups on the worker
// path) and a port.
struct NodeAddress {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // "127.0.0.1:7000", "::1:7000" (Redis's own form)
  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

// "host:port", the port after the last ':' (so "::1:7000" is [::1]:7000, as in Redis's
// MOVED replies); "[::1]:7000" too. InvalidArgument unless the host is a numeric IPv4 or
// IPv6 address and the port 1..65535.
absl::StatusOr<NodeAddress> ParseNodeAddress(std::string_view text);

class SlotMap {
 public:
  static constexpr uint16_t kNoNode = UINT16_MAX;
  // The most masters a map holds; a reply naming more is refused.
  static constexpr size_t kMaxNodes = 1024;

  // From a CLUSTER SLOTS reply: [[start, end, [host, port, id, ...], replicas...], ...].
  // A master whose host is empty or "?" (Redis's "same as the node you asked") gets
  // `queried_host`. InvalidArgument for a reply of another shape, a slot out of range, or
  // a start after its end. Slots no entry covers have no node (a cluster being set up or
  // part of it failed).
  static absl::StatusOr<SlotMap> FromClusterSlots(const redisReply& reply,
                                                  std::string_view queried_host);

  // The master serving `slot`, or nullptr if the map has none.
  const NodeAddress* NodeFor(uint16_t slot) const;
  // `slot` is now served by `node` (a MOVED redirect said so).
  void Assign(uint16_t slot, const NodeAddress& node);

  // Every master the map names, each once.
  const std::vector<NodeAddress>& nodes() const { return nodes_; }
  // Slots served by some node.
  size_t covered_slots() const;

 private:
  uint16_t IndexOf(const NodeAddress& node);  // adds it if new; kNoNode past kMaxNodes

  std::vector<NodeAddress> nodes_;
  std::vector<uint16_t> owner_ = std::vector<uint16_t>(kSlotCount, kNoNode);
};

struct Redirect {
  enum class Kind : uint8_t { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  uint16_t slot = 0;
  NodeAddress target;
};

// The redirect an error reply names ("MOVED <slot> <host:port>", "ASK <slot> <host:port>"),
// or nullopt for any other error.
std::optional<Redirect> ParseRedirect(std::string_view error);

}  // namespace reef::redis

#endif  // REEF_SERVER_REDIS_CLUSTER_SLOTS_H_
