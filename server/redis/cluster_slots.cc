#include "server/redis/cluster_slots.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "server/common/strings.h"

namespace reef::redis {
namespace {

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[byte] = static_cast<uint16_t>(crc & 0xFFFF);
  }
  return table;
}
constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

bool IsNumericAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string_view Text(const redisReply& reply) {
  return {reply.str, reply.len};
}

}  // namespace

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (const char c : data) {
    const auto byte = static_cast<uint8_t>(c);
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ byte) & 0xFF]);
  }
  return crc;
}

uint16_t KeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(Crc16(key) % kSlotCount);
}

std::string NodeAddress::ToString() const { return StrCat(host, ":", port); }

absl::StatusOr<NodeAddress> ParseNodeAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("\"", text, "\" is not host:port"));
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(ToAbsl(text.substr(colon + 1)), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(StrCat("\"", text, "\": bad port"));
  }
  NodeAddress node{std::string(host), static_cast<uint16_t>(port)};
  if (!IsNumericAddress(node.host)) {
    return absl::InvalidArgumentError(
        StrCat("\"", text, "\": the host must be a numeric IPv4 or IPv6 address"));
  }
  return node;
}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(const redisReply& reply,
                                                  std::string_view queried_host) {
  const auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("CLUSTER SLOTS reply: ", why));
  };
  if (reply.type != REDIS_REPLY_ARRAY) return bad("not an array");
  SlotMap map;
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply& range = *reply.element[i];
    if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 ||
        range.element[0]->type != REDIS_REPLY_INTEGER ||
        range.element[1]->type != REDIS_REPLY_INTEGER ||
        range.element[2]->type != REDIS_REPLY_ARRAY || range.element[2]->elements < 2) {
      return bad("an entry is not [start, end, [host, port, ...], ...]");
    }
    const long long start = range.element[0]->integer;
    const long long end = range.element[1]->integer;
    if (start < 0 || end >= kSlotCount || start > end) return bad("slot range out of bounds");
    const redisReply& master = *range.element[2];
    if (master.element[0]->type != REDIS_REPLY_STRING ||
        master.element[1]->type != REDIS_REPLY_INTEGER) {
      return bad("a node is not [host, port, ...]");
    }
    std::string_view host = Text(*master.element[0]);
    if (host.empty() || host == "?") host = queried_host;
    const long long port = master.element[1]->integer;
    if (port <= 0 || port > 65535) return bad("port out of range");
    NodeAddress node{std::string(host), static_cast<uint16_t>(port)};
    if (!IsNumericAddress(node.host)) {
      return bad(StrCat("host \"", node.host, "\" is not a numeric address"));
    }
    const uint16_t index = map.IndexOf(node);
    if (index == kNoNode) return bad("more than kMaxNodes masters");
    std::fill(map.owner_.begin() + start, map.owner_.begin() + end + 1, index);
  }
  return map;
}

const NodeAddress* SlotMap::NodeFor(uint16_t slot) const {
  if (slot >= kSlotCount || owner_[slot] == kNoNode) return nullptr;
  return &nodes_[owner_[slot]];
}

void SlotMap::Assign(uint16_t slot, const NodeAddress& node) {
  if (slot >= kSlotCount) return;
  owner_[slot] = IndexOf(node);
}

size_t SlotMap::covered_slots() const {
  return static_cast<size_t>(
      std::count_if(owner_.begin(), owner_.end(), [](uint16_t o) { return o != kNoNode; }));
}

uint16_t SlotMap::IndexOf(const NodeAddress& node) {
  const auto found = std::find(nodes_.begin(), nodes_.end(), node);
  if (found != nodes_.end()) return static_cast<uint16_t>(found - nodes_.begin());
  if (nodes_.size() >= kMaxNodes) return kNoNode;
  nodes_.push_back(node);
  return static_cast<uint16_t>(nodes_.size() - 1);
}

std::optional<Redirect> ParseRedirect(std::string_view error) {
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    redirect.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  uint32_t slot = 0;
  if (space == std::string_view::npos || !absl::SimpleAtoi(ToAbsl(error.substr(0, space)), &slot) ||
      slot >= kSlotCount) {
    return std::nullopt;
  }
  absl::StatusOr<NodeAddress> target = ParseNodeAddress(error.substr(space + 1));
  if (!target.ok()) return std::nullopt;
  redirect.slot = static_cast<uint16_t>(slot);
  redirect.target = *std::move(target);
  return redirect;
}

}  // namespace reef::redis
