// Internal to server/swarm: the peers of one address family of one torrent.
//
// A PeerSet keeps its peers in dense arrays, leechers first: positions [0, leechers())
// are leechers and [leechers(), size()) are seeders. Random selection is then a choice
// of random positions in one or two ranges, with no list to walk, and a seeder's
// "leechers first" is just "the first range first".
//
// The arrays are split by use (structure of arrays): one of endpoints, in their compact
// wire form (6 bytes for IPv4, 18 for IPv6), which is all that peer selection, compact
// responses and endpoint lookups read; and one of the rest (peer id, last announce,
// completed flag, key; 28 bytes), read only for the requester itself and for non-compact
// responses. Choosing 50 random peers of a large swarm then touches 50 random 6-byte
// entries of a dense array instead of 50 random 34-byte records.
//
// Up to kInlineCapacity peers live inside the PeerSet itself (no heap allocation; the
// set is stored by value in the torrent map's slot). The insertion that would exceed
// that moves the peers to the heap: two std::vectors for the two arrays, and a hashed
// index of 4-byte positions (an absl::flat_hash_set whose hash and equality look the key
// up in the endpoint array, so the index stores no copy of it). Compact() moves a heap
// set that has shrunk to kInlineCapacity peers or fewer back inline; only cleaning calls
// it, so a swarm that hovers around the threshold does not allocate and free on every
// announce.
//
// With a prefix cap (PrefixRule), the heap form also tells in constant time how many
// entries an address prefix has and which of them announced least recently, and costs
// nothing more for an entry alone in its prefix, the common case: such an entry is hashed
// in the index by its prefix instead of its endpoint, so one lookup finds it by endpoint
// and tells "this prefix has one entry" alike. The second entry of a prefix makes it a
// group: a record {oldest, newest, count} by prefix, and each member's neighbours in a
// list ordered by last announce (LinkTable, by position); members are hashed by endpoint.
// A group down to one member stays a group until Compact(), so that removing never
// rehashes. (Bytes per peer: swarm_benchmark's BM_MemoryPerPeer*, docs/benchmarks.md.)
//
// A peer is keyed by its endpoint (address and port), never by its peer id.
//
// Not thread-safe: TorrentStore holds the shard's lock around every call.
//
// Not thread-safe: TorrentStore holds the shard's lock around every call.
#ifndef REEF_SERVER_SWARM_PEER_SET_H_
#define REEF_SERVER_SWARM_PEER_SET_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "protocol/common/fixed_bytes.h"
#include "server/swarm/rng.h"

namespace reef::swarm::internal {

// The most peers one Select call can be asked for (TorrentStore's
// kMaxResponsePeersLimit is checked against it).
inline constexpr uint32_t kMaxSelection = 1024;

// A peer's last announce time and two flags in one word: bit 0 is the completed flag,
// bit 1 says the peer sent a key (PeerMeta::key), bits 2..31 are the low 30 bits of the
// caller's clock (seconds).
class Stamp {
 public:
  static constexpr Stamp At(uint32_t now, bool completed) {
    return Stamp((now << 2) | (completed ? kCompleted : 0u));
  }
  constexpr bool completed() const { return (bits_ & kCompleted) != 0; }
  constexpr void set_completed() { bits_ |= kCompleted; }
  constexpr bool has_key() const { return (bits_ & kHasKey) != 0; }
  constexpr void set_has_key(bool has_key) {
    bits_ = has_key ? (bits_ | kHasKey) : (bits_ & ~kHasKey);
  }
  // The low 30 bits of the clock at the last announce.
  constexpr uint32_t last_seen() const { return bits_ >> 2; }
  constexpr void Touch(uint32_t now) { bits_ = (now << 2) | (bits_ & kFlags); }

  // Seconds idle at `now` (the low 32 bits of the clock; only 30 count). The difference
  // is taken modulo 2^30 and read as signed: exact while the two are less than 2^29 s
  // (17 years) apart. A clock that stepped back (two workers reading it a moment apart)
  // gives a negative difference, which counts as 0.
  constexpr int64_t IdleSeconds(uint32_t now) const {
    const auto quadrupled = static_cast<int32_t>((now << 2) - (bits_ & ~kFlags));
    return std::max<int64_t>(0, quadrupled >> 2);
  }

 private:
  static constexpr uint32_t kCompleted = 1u;
  static constexpr uint32_t kHasKey = 2u;
  static constexpr uint32_t kFlags = kCompleted | kHasKey;
  explicit constexpr Stamp(uint32_t bits) : bits_(bits) {}
  uint32_t bits_;  // no initializer: keeps PeerMeta trivial

 public:
  Stamp() = default;
};

// An endpoint in its compact wire form (BEP 23 / BEP 15): the address, then the port
// big-endian. A compact response is one memcpy of this per peer.
template <size_t kAddressBytes>
using EndpointBytes = std::array<uint8_t, kAddressBytes + 2>;

// Equality of two endpoints in a few integer compares (std::array's operator== calls
// memcmp, which gcc does not inline here).
template <size_t N>
inline bool SameEndpoint(const std::array<uint8_t, N>& a, const std::array<uint8_t, N>& b) {
  static_assert(N == 6 || N == 18);
  if constexpr (N == 6) {
    uint32_t a4, b4;
    uint16_t a2, b2;
    std::memcpy(&a4, a.data(), 4);
    std::memcpy(&b4, b.data(), 4);
    std::memcpy(&a2, a.data() + 4, 2);
    std::memcpy(&b2, b.data() + 4, 2);
    return ((a4 ^ b4) | static_cast<uint32_t>(a2 ^ b2)) == 0;
  } else {
    uint64_t a0, b0, a1, b1;
    uint16_t a2, b2;
    std::memcpy(&a0, a.data(), 8);
    std::memcpy(&b0, b.data(), 8);
    std::memcpy(&a1, a.data() + 8, 8);
    std::memcpy(&b1, b.data() + 8, 8);
    std::memcpy(&a2, a.data() + 16, 2);
    std::memcpy(&b2, b.data() + 16, 2);
    return ((a0 ^ b0) | (a1 ^ b1) | static_cast<uint64_t>(a2 ^ b2)) == 0;
  }
}

// Everything about a peer but its endpoint. Trivial, so inline arrays of it cost
// nothing to create; every field is written when a peer is added.
struct PeerMeta {
  std::array<uint8_t, kPeerIdSize> peer_id;
  Stamp stamp;
  // The client's BEP 15 / HTTP `key`, when stamp.has_key(): only a `stopped` with the same
  // key removes the entry (see TorrentStore).
  uint32_t key;

  // Whether a `stopped` carrying `request_key` may remove this entry: yes when the entry
  // has no key, else only with the same key.
  bool KeyAllows(const std::optional<uint32_t>& request_key) const {
    return !stamp.has_key() || (request_key.has_value() && *request_key == key);
  }
  void SetKey(const std::optional<uint32_t>& request_key) {
    stamp.set_has_key(request_key.has_value());
    key = request_key.value_or(0);
  }
};
static_assert(sizeof(PeerMeta) == 28);
static_assert(std::is_trivially_copyable_v<PeerMeta>);

// A set of distinct positions drawn by Floyd's algorithm; a small open-addressing table
// on the stack remembers which were drawn.
class DrawnPositions {
 public:
  // Room for `count` <= kMaxSelection positions.
  explicit DrawnPositions(uint32_t count) {
    const uint32_t capacity = std::max<uint32_t>(4, std::bit_ceil(2 * count));
    mask_ = capacity - 1;
    shift_ = 32 - std::countr_zero(capacity);
    std::fill_n(slots_.begin(), capacity, kEmpty);
  }

  // Adds `position`; false if it was already there.
  bool Insert(uint32_t position) {
    // Fibonacci hashing: the top bits of the product spread consecutive positions.
    uint32_t i = (position * 2654435769u) >> shift_;
    while (slots_[i] != kEmpty) {
      if (slots_[i] == position) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = position;
    return true;
  }

 private:
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  uint32_t mask_;
  int shift_;
  std::array<uint32_t, 2 * kMaxSelection> slots_;  // only [0, mask_] is used
};

// Calls emit(i) for `count` distinct i drawn uniformly from [0, n): every subset of that
// size is equally likely (Floyd's algorithm; Bentley, "Programming Pearls", column 12).
// With count >= n, emits all of [0, n) in order. count must be <= kMaxSelection.
template <typename Emit>
void SampleDistinct(uint32_t n, uint32_t count, Rng& rng, Emit&& emit) {
  if (count >= n) {
    for (uint32_t i = 0; i < n; ++i) emit(i);
    return;
  }
  DrawnPositions drawn(count);
  for (uint32_t j = n - count; j < n; ++j) {
    const uint32_t t = rng.Below(j + 1);
    if (drawn.Insert(t)) {
      emit(t);
    } else {
      drawn.Insert(j);  // j is larger than anything drawn so far: always new
      emit(j);
    }
  }
}

// How entries are grouped by address prefix, for TorrentStore's cap on entries per
// prefix: the first `bits` bits of the address (1..32 for IPv4, 1..128 for IPv6), and at
// most `cap` entries of one prefix in one swarm (0: no cap, and no bookkeeping for it).
struct PrefixRule {
  uint32_t bits = 0;
  uint32_t cap = 0;
};

// The first `bits` bits of the endpoint's address, the rest zero.
template <size_t N>
std::array<uint8_t, N - 2> PrefixOf(const std::array<uint8_t, N>& endpoint, uint32_t bits) {
  std::array<uint8_t, N - 2> prefix{};
  const size_t whole = std::min<size_t>(bits / 8, N - 2);
  std::memcpy(prefix.data(), endpoint.data(), whole);
  if (whole < N - 2 && bits % 8 != 0) {
    prefix[whole] = static_cast<uint8_t>(endpoint[whole] & (0xff00u >> (bits % 8)));
  }
  return prefix;
}


// A peer's neighbours among the entries of its prefix, ordered by last announce
// (positions; kNoLink at either end).
inline constexpr uint32_t kNoLink = std::numeric_limits<uint32_t>::max();
struct Links {
  uint32_t older = kNoLink;
  uint32_t newer = kNoLink;
};

// Position -> Links, for the entries whose prefix has other entries. Two forms, the
// cheaper for how many entries of the set are group members:
//   - sparse: open addressing with linear probing and backward-shift deletion (no
//     tombstones), 12 bytes a slot at most 3/4 full: 16 to 32 bytes a member;
//   - dense: an array parallel to the set's (8 bytes a position, member or not), an
//     entry that is no member linked to itself.
// Add switches to dense when a third of the set's entries are members, Fit and Shrink
// back to sparse below an eighth (the gap keeps a set near one bound from switching back
// and forth). A Take followed by a Put, or a Put at a position below the set's size in
// the dense form, never allocates: a peer that moves to another position keeps its links
// on the removal path.
class LinkTable {
 public:
  bool empty() const { return size_ == 0; }
  uint32_t size() const { return size_; }
  bool dense() const { return dense_; }
  size_t HeapBytes() const {
    return slots_.capacity() * sizeof(Slot) + array_.capacity() * sizeof(Links);
  }

  // The links of `position`, or nullptr. Valid until the next Put, Take, Add or Fit.
  Links* Find(uint32_t position) {
    if (size_ == 0) return nullptr;
    if (dense_) return IsMember(position) ? &array_[position] : nullptr;
    for (size_t i = Home(position);; i = (i + 1) & mask_) {
      if (slots_[i].position == position) return &slots_[i].links;
      if (slots_[i].position == kFree) return nullptr;
    }
  }

  // Adds a new member at `position` of a set of `set_size` entries. May allocate.
  void Add(uint32_t position, const Links& links, uint32_t set_size) {
    if (!dense_ && 3 * (uint64_t{size_} + 1) >= set_size) ToDense(set_size);
    Fit(set_size);
    Put(position, links);
  }

  // Puts back `position` (no member now) with `links`. Allocates only for a sparse table
  // that grows, which it never does right after a Take (it is at most 3/4 full).
  void Put(uint32_t position, const Links& links) {
    if (dense_) {
      array_[position] = links;
      ++size_;
      return;
    }
    if (4 * (size_t{size_} + 1) > 3 * slots_.size()) {
      Rebuild(std::max<size_t>(kMinCapacity, 2 * slots_.size()));
    }
    size_t i = Home(position);
    while (slots_[i].position != kFree) i = (i + 1) & mask_;
    slots_[i] = Slot{position, links};
    ++size_;
  }

  // Removes `position` and returns its links, or nullopt if it has none. Never allocates.
  std::optional<Links> Take(uint32_t position) {
    if (size_ == 0) return std::nullopt;
    if (dense_) {
      if (!IsMember(position)) return std::nullopt;
      const Links links = array_[position];
      array_[position] = Links{position, position};
      --size_;
      return links;
    }
    size_t i = Home(position);
    while (slots_[i].position != position) {
      if (slots_[i].position == kFree) return std::nullopt;
      i = (i + 1) & mask_;
    }
    const Links links = slots_[i].links;
    // Backward shift: an entry further along the run moves into the hole when the hole
    // lies between its home and where it is, so every entry stays reachable from its home.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; slots_[j].position != kFree; j = (j + 1) & mask_) {
      if (((j - Home(slots_[j].position)) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].position = kFree;
    --size_;
    return links;
  }

  // The set now has `set_size` entries: the dense form covers them all, or turns sparse
  // if members have become few. May allocate.
  void Fit(uint32_t set_size) {
    if (!dense_) return;
    if (8 * uint64_t{size_} < set_size) {
      ToSparse();
      return;
    }
    for (size_t p = array_.size(); p < set_size; ++p) {
      array_.push_back(Links{static_cast<uint32_t>(p), static_cast<uint32_t>(p)});
    }
  }

  // Gives back capacity far beyond what a set of `set_size` entries needs (all of it with
  // no member). May allocate.
  void Shrink(uint32_t set_size) {
    Fit(set_size);
    if (size_ == 0) {
      std::vector<Slot>().swap(slots_);
      std::vector<Links>().swap(array_);
      dense_ = false;
      mask_ = 0;
      return;
    }
    if (dense_) {
      if (array_.size() > set_size) array_.resize(set_size);
      if (array_.capacity() > 2 * size_t{set_size}) array_.shrink_to_fit();
      return;
    }
    const size_t wanted = std::max<size_t>(kMinCapacity, std::bit_ceil(2 * size_t{size_}));
    if (wanted < slots_.size() / 2) Rebuild(wanted);
  }

 private:
  static constexpr uint32_t kFree = kNoLink;  // never a position
  static constexpr size_t kMinCapacity = 8;
  struct Slot {
    uint32_t position;
    Links links;
  };

  // A member's links never point at itself; a dense entry that is no member does.
  bool IsMember(uint32_t position) const {
    return position < array_.size() && array_[position].older != position;
  }

  // Fibonacci hashing: the top bits of the product spread consecutive positions.
  size_t Home(uint32_t position) const {
    return static_cast<size_t>((position * 0x9e3779b97f4a7c15ull) >> shift_);
  }

  void Rebuild(size_t capacity) {
    std::vector<Slot> old(capacity, Slot{kFree, Links{}});
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = 64 - std::countr_zero(capacity);
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.position != kFree) Put(slot.position, slot.links);
    }
  }

  void ToDense(uint32_t set_size) {
    std::vector<Links> array;
    array.reserve(set_size);
    for (uint32_t p = 0; p < set_size; ++p) array.push_back(Links{p, p});
    for (const Slot& slot : slots_) {
      if (slot.position != kFree) array[slot.position] = slot.links;
    }
    array_.swap(array);
    std::vector<Slot>().swap(slots_);
    mask_ = 0;
    dense_ = true;
  }

  void ToSparse() {
    std::vector<Links> array;
    array.swap(array_);
    dense_ = false;
    const uint32_t members = size_;
    size_ = 0;
    Rebuild(std::max<size_t>(kMinCapacity, std::bit_ceil(2 * size_t{members})));
    for (uint32_t p = 0; p < array.size(); ++p) {
      if (array[p].older != p) Put(p, array[p]);
    }
  }

  std::vector<Slot> slots_;   // sparse
  std::vector<Links> array_;  // dense
  size_t mask_ = 0;
  int shift_ = 64;
  uint32_t size_ = 0;
  bool dense_ = false;
};

template <size_t kAddressBytes, uint32_t kInlineCapacity>
class PeerSet {
 public:
  static constexpr size_t kEndpointBytes = kAddressBytes + 2;
  using Endpoint = EndpointBytes<kAddressBytes>;
  using Prefix = std::array<uint8_t, kAddressBytes>;
  using PeerIdBytes = std::array<uint8_t, kPeerIdSize>;

  static constexpr uint32_t kNotFound = std::numeric_limits<uint32_t>::max();
  static_assert(kInlineCapacity >= 1);

  PeerSet() = default;
  PeerSet(PeerSet&& other) noexcept { TakeFrom(other); }
  PeerSet& operator=(PeerSet&& other) noexcept {
    if (this != &other) {
      FreeLarge();
      TakeFrom(other);
    }
    return *this;
  }
  PeerSet(const PeerSet&) = delete;
  PeerSet& operator=(const PeerSet&) = delete;
  ~PeerSet() { FreeLarge(); }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint32_t leechers() const { return leechers_; }
  uint32_t seeders() const { return size_ - leechers_; }
  // `completed` events counted (AddCompleted); saturates.
  uint32_t completed() const { return completed_; }
  bool is_inline() const { return !large_mode_; }
  // Prefixes with more than one entry (or one entry since the last Compact), in the heap
  // form with a prefix cap; 0 otherwise.
  size_t prefix_groups() const { return large_mode_ ? storage_.large->groups.size() : 0; }

  // The peer at `position` < size(). Positions change whenever the set changes.
  const Endpoint& endpoint(uint32_t position) const { return endpoints()[position]; }
  const PeerMeta& meta(uint32_t position) const { return metas()[position]; }

  // The position of the peer at `endpoint`, or kNotFound.
  uint32_t Find(const Endpoint& endpoint) const {
    if (large_mode_) {
      const Large& large = *storage_.large;
      if (large.prefix_bits != 0) {
        const Prefix prefix = large.PrefixOf(endpoint);
        if (large.Solo(prefix)) {
          // The prefix's one entry, if any, is the only one that can be at `endpoint`.
          const auto it = large.index.find(PrefixKey{prefix});
          return it != large.index.end() &&
                         SameEndpoint(large.endpoints[it->position], endpoint)
                     ? it->position
                     : kNotFound;
        }
      }
      const auto it = large.index.find(endpoint);
      return it == large.index.end() ? kNotFound : it->position;
    }
    for (uint32_t i = 0; i < size_; ++i) {
      if (SameEndpoint(storage_.small.endpoints[i], endpoint)) return i;
    }
    return kNotFound;
  }

  // Adds a peer that is not in the set (Find returned kNotFound) and returns its
  // position. With rule.cap > 0 it joins its prefix's entries as the most recent one;
  // every call on a set must pass the same rule. May allocate.
  uint32_t Insert(const Endpoint& endpoint, const PeerIdBytes& peer_id,
                  const std::optional<uint32_t>& key, bool seeder, uint32_t now,
                  const PrefixRule& rule) {
    PeerMeta meta{peer_id, Stamp::At(now, false), 0};
    meta.SetKey(key);
    if (!large_mode_ && size_ == kInlineCapacity) MoveToHeap(rule, now);
    uint32_t position = size_;
    if (large_mode_) {
      Large& large = *storage_.large;
      large.endpoints.push_back(endpoint);
      large.metas.push_back(meta);
      ++size_;
      large.links.Fit(size_);  // a dense table covers the new position
      if (large.prefix_bits != 0) JoinPrefix(position);
      large.index.insert(Slot{position});
    } else {
      storage_.small.endpoints[position] = endpoint;
      storage_.small.metas[position] = meta;
      ++size_;
    }
    if (!seeder) {
      SwapPositions(position, leechers_, rule);
      position = leechers_++;
    }
    return position;
  }

  // Updates the peer at `position` from its new announce (peer id, key, last announce,
  // seeder status; it becomes its prefix's most recent entry) and returns its position
  // afterwards. Never allocates.
  uint32_t Update(uint32_t position, const PeerIdBytes& peer_id,
                  const std::optional<uint32_t>& key, bool seeder, uint32_t now,
                  const PrefixRule& rule) {
    PeerMeta& meta = metas()[position];
    meta.peer_id = peer_id;
    meta.SetKey(key);
    meta.stamp.Touch(now);
    if (large_mode_) MakeNewest(position);
    return SetSeeder(position, seeder, rule);
  }

  // Sets the completed flag of the peer at `position`; true if it was not set (the
  // first `completed` of this entry).
  bool MarkCompleted(uint32_t position) {
    Stamp& stamp = metas()[position].stamp;
    if (stamp.completed()) return false;
    stamp.set_completed();
    return true;
  }
  void AddCompleted() {
    if (completed_ != std::numeric_limits<uint32_t>::max()) ++completed_;
  }

  // Insert or Update, then a `completed_event` counts once per peer entry; with no key.
  // Returns the peer's position afterwards.
  uint32_t Upsert(const Endpoint& endpoint, const PeerIdBytes& peer_id, bool seeder,
                  bool completed_event, uint32_t now, const PrefixRule& rule = {}) {
    uint32_t position = Find(endpoint);
    position = position == kNotFound
                   ? Insert(endpoint, peer_id, std::nullopt, seeder, now, rule)
                   : Update(position, peer_id, std::nullopt, seeder, now, rule);
    if (completed_event && MarkCompleted(position)) AddCompleted();
    return position;
  }

  // How many entries of `prefix` the set holds (rule.cap > 0 only).
  uint32_t PrefixCount(const Prefix& prefix, const PrefixRule& rule) const {
    if (large_mode_) {
      const Large& large = *storage_.large;
      const auto group = large.groups.find(prefix);
      if (group != large.groups.end()) return group->second.count;
      return large.index.contains(PrefixKey{prefix}) ? 1 : 0;
    }
    uint32_t count = 0;
    for (uint32_t i = 0; i < size_; ++i) {
      if (PrefixOf(storage_.small.endpoints[i], rule.bits) == prefix) ++count;
    }
    return count;
  }

  // Removes the entry of `prefix` that announced least recently before `now` (rule.cap >
  // 0, and PrefixCount(prefix) > 0). Never allocates.
  void RemoveOldestOf(const Prefix& prefix, const PrefixRule& rule, uint32_t now) {
    if (large_mode_) {
      const Large& large = *storage_.large;
      const auto group = large.groups.find(prefix);
      RemoveAt(group != large.groups.end() ? group->second.oldest
                                           : large.index.find(PrefixKey{prefix})->position,
               rule);
      return;
    }
    uint32_t oldest = kNotFound;
    int64_t oldest_idle = -1;
    for (uint32_t i = 0; i < size_; ++i) {
      if (PrefixOf(storage_.small.endpoints[i], rule.bits) != prefix) continue;
      const int64_t idle = storage_.small.metas[i].stamp.IdleSeconds(now);
      if (idle > oldest_idle) {
        oldest = i;
        oldest_idle = idle;
      }
    }
    RemoveAt(oldest, rule);
  }

  // Sets the completed count outright (restoring a snapshot).
  void set_completed(uint32_t completed) { completed_ = completed; }

  // Starts loading the heap form's bookkeeping, if any, into the cache: the caller has
  // other work to overlap with that miss before its Upsert or Remove.
  void Prefetch() const {
    if (large_mode_) __builtin_prefetch(storage_.large);
  }

  // Removes the peer at `endpoint`; false if there was none. Never allocates.
  bool Remove(const Endpoint& endpoint, const PrefixRule& rule = {}) {
    const uint32_t position = Find(endpoint);
    if (position == kNotFound) return false;
    RemoveAt(position, rule);
    return true;
  }

  // Removes the peer at `position` < size(). Never allocates.
  void RemoveAt(uint32_t position, const PrefixRule& rule) {
    if (large_mode_) {
      Large& large = *storage_.large;
      // The slot first: where it is hashed depends on the prefix's group, which leaving
      // may remove.
      large.index.erase(SlotOf(position));
      LeaveGroup(position);
    }
    const uint32_t last = size_ - 1;
    if (position < leechers_) {
      // Fill the hole with the last leecher, and the last leecher's place with the last
      // peer, so both parts stay contiguous.
      const uint32_t last_leecher = leechers_ - 1;
      MovePosition(last_leecher, position, rule);
      MovePosition(last, last_leecher, rule);
      --leechers_;
    } else {
      MovePosition(last, position, rule);
    }
    --size_;
    if (large_mode_) {
      storage_.large->endpoints.pop_back();
      storage_.large->metas.pop_back();
    }
  }

  // Removes every peer idle for more than `timeout_s` seconds at `now`, then Compact()s.
  // Returns how many were removed.
  uint32_t RemoveIdle(uint32_t now, uint32_t timeout_s, const PrefixRule& rule = {}) {
    uint32_t removed = 0;
    // Backwards: RemoveAt fills the hole from a higher position, which has already been
    // looked at, so every peer is looked at exactly once.
    for (uint32_t i = size_; i-- > 0;) {
      if (metas()[i].stamp.IdleSeconds(now) > timeout_s) {
        RemoveAt(i, rule);
        ++removed;
      }
    }
    Compact();
    return removed;
  }

  // Removes the peers at positions [begin, end) (end <= size()) idle for more than
  // `timeout_s` seconds at `now`, looking from the top down; returns how many. A peer
  // moved into that range by a removal (from above it) is looked at too. Cleaning calls it
  // a slice at a time, releasing the shard's lock between slices; it does not Compact().
  uint32_t RemoveIdleIn(uint32_t begin, uint32_t end, uint32_t now, uint32_t timeout_s,
                        const PrefixRule& rule) {
    uint32_t removed = 0;
    for (uint32_t i = end; i-- > begin;) {
      if (i < size_ && metas()[i].stamp.IdleSeconds(now) > timeout_s) {
        RemoveAt(i, rule);
        ++removed;
      }
    }
    return removed;
  }

  // Returns heap memory that is no longer needed: a heap set of kInlineCapacity peers or
  // fewer moves back inline, a prefix group down to one member is dissolved (its member
  // hashed by prefix again), and heap arrays or tables far larger than their contents
  // are shrunk. May allocate.
  void Compact() {
    if (!large_mode_) return;
    Large& large = *storage_.large;
    if (size_ <= kInlineCapacity) {
      Small small;
      std::copy_n(large.endpoints.begin(), size_, small.endpoints);
      std::copy_n(large.metas.begin(), size_, small.metas);
      FreeLarge();
      storage_.small = small;
      return;
    }
    DissolveLoneGroups();
    if (large.endpoints.capacity() > 2 * static_cast<size_t>(size_)) {
      large.endpoints.shrink_to_fit();
      large.metas.shrink_to_fit();
    }
    if (large.index.capacity() > 4 * static_cast<size_t>(size_)) large.index.rehash(0);
    if (large.groups.capacity() > 4 * large.groups.size() + 64) large.groups.rehash(0);
    large.links.Shrink(size_);
  }

  // Chooses up to `wanted` distinct peers at random, never the one at position
  // `exclude` (kNotFound excludes nobody), and calls sink(const Endpoint&, const
  // PeerIdBytes&) for each. With `leechers_first`, leechers are drawn first and seeders
  // only fill what is left. Returns how many were chosen: min(wanted, the peers there are
  // to choose from). `wanted` must be <= kMaxSelection. Never allocates.
  template <typename Sink>
  uint32_t Select(uint32_t exclude, bool leechers_first, uint32_t wanted, Rng& rng,
                  Sink&& sink) const {
    // Two passes: draw every position first, then read the peers. In a large swarm each
    // read is a likely cache miss; issued together they overlap instead of queueing
    // behind the drawing (measured in swarm_benchmark: BM_Select50From10k, BM_ZipfMix).
    std::array<uint32_t, kMaxSelection> positions;
    uint32_t chosen = 0;
    // Draws up to `count` from [begin, end) minus `exclude`.
    auto draw = [&](uint32_t begin, uint32_t end, uint32_t count) {
      const bool skip = exclude >= begin && exclude < end;
      const uint32_t n = end - begin - (skip ? 1 : 0);
      SampleDistinct(n, std::min(count, n), rng, [&](uint32_t i) {
        uint32_t position = begin + i;
        if (skip && position >= exclude) ++position;
        positions[chosen++] = position;
      });
    };
    if (leechers_first) {
      draw(0, leechers_, wanted);
      draw(leechers_, size_, wanted - chosen);
    } else {
      draw(0, size_, wanted);
    }
    const Endpoint* ends = endpoints();
    const PeerMeta* meta = metas();
    for (uint32_t i = 0; i < chosen; ++i) __builtin_prefetch(&ends[positions[i]]);
    for (uint32_t i = 0; i < chosen; ++i) {
      sink(ends[positions[i]], meta[positions[i]].peer_id);
    }
    return chosen;
  }

  // Calls f(const Endpoint&, const PeerMeta&, bool seeder) for every peer, in position
  // order.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint32_t i = 0; i < size_; ++i) f(endpoints()[i], metas()[i], i >= leechers_);
  }

  // Heap bytes this set owns (0 while inline): the arrays' and the tables' capacity,
  // not counting the allocator's own overhead.
  size_t HeapBytes() const {
    if (!large_mode_) return 0;
    const Large& large = *storage_.large;
    const size_t index_capacity = large.index.capacity();
    const size_t groups_capacity = large.groups.capacity();
    return sizeof(Large) + large.endpoints.capacity() * sizeof(Endpoint) +
           large.metas.capacity() * sizeof(PeerMeta) + index_capacity * (sizeof(Slot) + 1) +
           (index_capacity == 0 ? 0 : 16) +
           groups_capacity * (sizeof(std::pair<Prefix, Group>) + 1) +
           (groups_capacity == 0 ? 0 : 16) + large.links.HeapBytes();
  }

 private:
  struct Large;
  // An entry of the heap index: a position in the arrays. The hash and the equality look
  // the endpoint up in the endpoint array; moving a peer rewrites its slot's position in
  // place, which keeps the hash (the endpoint is the same) and so is safe, hence
  // `mutable`.
  struct Slot {
    mutable uint32_t position;
  };
  // Looks up the entry of a prefix that has no group (its one entry, if any).
  struct PrefixKey {
    Prefix prefix;
  };
  // An entry alone in its prefix (with a prefix cap) is hashed by its prefix; any other
  // by its endpoint.
  struct IndexHash {
    using is_transparent = void;
    const Large* large;
    size_t operator()(const Endpoint& endpoint) const {
      return absl::Hash<Endpoint>{}(endpoint);
    }
    size_t operator()(const PrefixKey& key) const { return absl::Hash<Prefix>{}(key.prefix); }
    size_t operator()(const Slot& slot) const {
      const Endpoint& endpoint = large->endpoints[slot.position];
      if (large->prefix_bits != 0) {
        const Prefix prefix = large->PrefixOf(endpoint);
        if (large->Solo(prefix)) return (*this)(PrefixKey{prefix});
      }
      return (*this)(endpoint);
    }
  };
  struct IndexEq {
    using is_transparent = void;
    const Large* large;
    bool operator()(const Slot& a, const Slot& b) const { return a.position == b.position; }
    bool operator()(const Endpoint& endpoint, const Slot& slot) const {
      return Matches(endpoint, slot);
    }
    bool operator()(const Slot& slot, const Endpoint& endpoint) const {
      return Matches(endpoint, slot);
    }
    // Only asked for a prefix without a group, whose entries are all hashed by prefix.
    bool operator()(const PrefixKey& key, const Slot& slot) const {
      return Matches(key, slot);
    }
    bool operator()(const Slot& slot, const PrefixKey& key) const {
      return Matches(key, slot);
    }
    bool Matches(const Endpoint& endpoint, const Slot& slot) const {
      // A lookup by endpoint is nearly always followed by a read of the peer's meta
      // (Upsert, RemoveAt); fetching it now overlaps that cache miss with this one.
      __builtin_prefetch(large->metas.data() + slot.position);
      return SameEndpoint(large->endpoints[slot.position], endpoint);
    }
    bool Matches(const PrefixKey& key, const Slot& slot) const {
      __builtin_prefetch(large->metas.data() + slot.position);
      return large->HasPrefix(large->endpoints[slot.position], key.prefix);
    }
  };
  // The entries of a prefix with more than one: the ends of its Links list and how many
  // there are.
  struct Group {
    uint32_t oldest;
    uint32_t newest;
    uint32_t count;
  };
  // The heap form. Never moved (the index's functors point at it).
  struct Large {
    explicit Large(uint32_t bits)
        : prefix_bits(bits),
          prefix_mask(MaskOf(bits)),
          index(0, IndexHash{this}, IndexEq{this}) {}
    Large(const Large&) = delete;
    Large& operator=(const Large&) = delete;

    // PrefixOf(endpoint, prefix_bits) in a few fixed-size byte operations (no
    // variable-length copy): the index's hash and equality run it on every lookup.
    Prefix PrefixOf(const Endpoint& endpoint) const {
      Prefix prefix;
      for (size_t i = 0; i < kAddressBytes; ++i) {
        prefix[i] = static_cast<uint8_t>(endpoint[i] & prefix_mask[i]);
      }
      return prefix;
    }
    bool HasPrefix(const Endpoint& endpoint, const Prefix& prefix) const {
      uint8_t differ = 0;
      for (size_t i = 0; i < kAddressBytes; ++i) {
        differ |= static_cast<uint8_t>((endpoint[i] & prefix_mask[i]) ^ prefix[i]);
      }
      return differ == 0;
    }
    static Prefix MaskOf(uint32_t bits) {
      Endpoint ones;
      ones.fill(0xff);
      return reef::swarm::internal::PrefixOf(ones, bits);
    }

    // Whether an entry of `prefix` is hashed by it: the prefix has no group.
    bool Solo(const Prefix& prefix) const {
      return groups.empty() || !groups.contains(prefix);
    }

    // The prefix rule's bits with a prefix cap, 0 without one (then no prefix
    // bookkeeping: every entry is hashed by endpoint).
    const uint32_t prefix_bits;
    const Prefix prefix_mask;  // prefix_bits leading one bits
    std::vector<Endpoint> endpoints;
    std::vector<PeerMeta> metas;
    absl::flat_hash_set<Slot, IndexHash, IndexEq> index;
    // With a prefix cap, the prefixes with more than one entry, and their members' links,
    // so that counting a prefix's entries and finding its oldest take a lookup or two, not
    // a scan (an attacker at its cap must not make every announce walk a large swarm).
    absl::flat_hash_map<Prefix, Group> groups;
    LinkTable links;
  };
  // The inline form. Trivial: nothing is written until a peer is added.
  struct Small {
    Endpoint endpoints[kInlineCapacity];
    PeerMeta metas[kInlineCapacity];
  };
  // Trivially copyable; value-initialized, its first member (the inline form) is the
  // active one.
  union Storage {
    Small small;
    Large* large;
  };

  Endpoint* endpoints() {
    return large_mode_ ? storage_.large->endpoints.data() : storage_.small.endpoints;
  }
  const Endpoint* endpoints() const {
    return large_mode_ ? storage_.large->endpoints.data() : storage_.small.endpoints;
  }
  PeerMeta* metas() {
    return large_mode_ ? storage_.large->metas.data() : storage_.small.metas;
  }
  const PeerMeta* metas() const {
    return large_mode_ ? storage_.large->metas.data() : storage_.small.metas;
  }

  // The index slot of the entry at `position` (heap form).
  auto SlotOf(uint32_t position) {
    Large& large = *storage_.large;
    const Endpoint& endpoint = large.endpoints[position];
    if (large.prefix_bits != 0) {
      const Prefix prefix = large.PrefixOf(endpoint);
      if (large.Solo(prefix)) return large.index.find(PrefixKey{prefix});
    }
    return large.index.find(endpoint);
  }

  // Makes the new entry at `position` (in the arrays, not yet in the index) its prefix's
  // newest: nothing more when it is the prefix's first entry; its second makes a group of
  // the two (the first one, rehashed by endpoint, the older).
  void JoinPrefix(uint32_t position) {
    Large& large = *storage_.large;
    const Prefix prefix = large.PrefixOf(large.endpoints[position]);
    auto group = large.groups.find(prefix);
    if (group == large.groups.end()) {
      const auto first = large.index.find(PrefixKey{prefix});
      if (first == large.index.end()) return;  // alone in its prefix
      const uint32_t first_position = first->position;
      large.index.erase(first);
      group = large.groups.emplace(prefix, Group{first_position, first_position, 1}).first;
      large.links.Add(first_position, Links{}, size_);
      large.index.insert(Slot{first_position});  // by endpoint now
    }
    Group& g = group->second;
    large.links.Add(position, Links{g.newest, kNoLink}, size_);
    large.links.Find(g.newest)->newer = position;
    g.newest = position;
    ++g.count;
  }

  // Takes the entry at `position` out of its prefix's group, if it is in one; the group
  // goes when its last member does. Its index slot must be gone already. Never allocates.
  void LeaveGroup(uint32_t position) {
    Large& large = *storage_.large;
    if (large.links.empty()) return;
    const std::optional<Links> links = large.links.Take(position);
    if (!links.has_value()) return;
    if (links->older != kNoLink) large.links.Find(links->older)->newer = links->newer;
    if (links->newer != kNoLink) large.links.Find(links->newer)->older = links->older;
    const auto it =
        large.groups.find(large.PrefixOf(large.endpoints[position]));
    Group& group = it->second;
    if (--group.count == 0) {
      large.groups.erase(it);
      return;
    }
    if (group.oldest == position) group.oldest = links->newer;
    if (group.newest == position) group.newest = links->older;
  }

  // Moves the entry at `position`, if in a group, to the newest end of its list. Never
  // allocates.
  void MakeNewest(uint32_t position) {
    Large& large = *storage_.large;
    if (large.links.empty()) return;
    Links* links = large.links.Find(position);
    if (links == nullptr || links->newer == kNoLink) return;  // alone, or the newest
    Group& group =
        large.groups.find(large.PrefixOf(large.endpoints[position]))->second;
    const Links old = *links;
    *links = Links{group.newest, kNoLink};
    if (old.older != kNoLink) {
      large.links.Find(old.older)->newer = old.newer;
    } else {
      group.oldest = old.newer;
    }
    large.links.Find(old.newer)->older = old.older;
    large.links.Find(group.newest)->newer = position;
    group.newest = position;
  }

  // Points the neighbours of the group member now at `position` (and its group's ends)
  // at it.
  void Relink(uint32_t position) {
    Large& large = *storage_.large;
    const Links links = *large.links.Find(position);
    if (links.older != kNoLink) large.links.Find(links.older)->newer = position;
    if (links.newer != kNoLink) large.links.Find(links.newer)->older = position;
    if (links.older == kNoLink || links.newer == kNoLink) {
      Group& group =
          large.groups.find(large.PrefixOf(large.endpoints[position]))->second;
      if (links.older == kNoLink) group.oldest = position;
      if (links.newer == kNoLink) group.newest = position;
    }
  }

  // Moves the peer at `position` to the other part of the arrays if its status changed.
  uint32_t SetSeeder(uint32_t position, bool seeder, const PrefixRule& rule) {
    const bool is_seeder = position >= leechers_;
    if (is_seeder == seeder) return position;
    if (seeder) {
      --leechers_;
      SwapPositions(position, leechers_, rule);
      return leechers_;
    }
    SwapPositions(position, leechers_, rule);
    return leechers_++;
  }

  // Copies the peer at `from` over the one at `to` (whose index slot and links, if any,
  // are gone). Never allocates.
  void MovePosition(uint32_t from, uint32_t to, const PrefixRule&) {
    if (from == to) return;
    Endpoint* ends = endpoints();
    PeerMeta* meta = metas();
    if (large_mode_) SlotOf(from)->position = to;
    ends[to] = ends[from];
    meta[to] = meta[from];
    if (large_mode_ && !storage_.large->links.empty()) {
      LinkTable& links = storage_.large->links;
      if (const std::optional<Links> moved = links.Take(from)) {
        links.Put(to, *moved);
        Relink(to);
      }
    }
  }

  // Never allocates.
  void SwapPositions(uint32_t a, uint32_t b, const PrefixRule&) {
    if (a == b) return;
    Endpoint* ends = endpoints();
    PeerMeta* meta = metas();
    if (large_mode_) {
      // Both lookups before either slot changes: a changed slot would compare against
      // the wrong endpoint.
      const auto slot_a = SlotOf(a);
      const auto slot_b = SlotOf(b);
      slot_a->position = b;
      slot_b->position = a;
    }
    std::swap(ends[a], ends[b]);
    std::swap(meta[a], meta[b]);
    if (large_mode_ && !storage_.large->links.empty()) {
      // Swap the members' links, rename a <-> b inside them (the two may be neighbours),
      // then point each one's neighbours at its new position.
      LinkTable& links = storage_.large->links;
      std::optional<Links> at_a = links.Take(a);
      std::optional<Links> at_b = links.Take(b);
      for (std::optional<Links>* moved : {&at_a, &at_b}) {
        if (!moved->has_value()) continue;
        for (uint32_t* field : {&(*moved)->older, &(*moved)->newer}) {
          if (*field == a) {
            *field = b;
          } else if (*field == b) {
            *field = a;
          }
        }
      }
      if (at_a.has_value()) links.Put(b, *at_a);
      if (at_b.has_value()) links.Put(a, *at_b);
      if (at_a.has_value()) Relink(b);
      if (at_b.has_value()) Relink(a);
    }
  }

  // Hashes the member of each one-member group by its prefix again, and drops the group.
  void DissolveLoneGroups() {
    Large& large = *storage_.large;
    std::vector<uint32_t> lone;
    for (const auto& [prefix, group] : large.groups) {
      if (group.count == 1) lone.push_back(group.oldest);
    }
    if (lone.empty()) return;
    for (uint32_t position : lone) {
      large.index.erase(SlotOf(position));  // hashed by endpoint while the group is there
      large.links.Take(position);
    }
    absl::erase_if(large.groups, [](const auto& entry) { return entry.second.count == 1; });
    for (uint32_t position : lone) large.index.insert(Slot{position});  // by prefix
  }

  void MoveToHeap(const PrefixRule& rule, uint32_t now) {
    auto large = std::make_unique<Large>(rule.cap > 0 ? rule.bits : 0);
    const size_t capacity = 2 * static_cast<size_t>(kInlineCapacity);
    large->endpoints.reserve(capacity);
    large->metas.reserve(capacity);
    large->endpoints.assign(storage_.small.endpoints, storage_.small.endpoints + size_);
    large->metas.assign(storage_.small.metas, storage_.small.metas + size_);
    // Positions, least recent first: an insertion sort of a few (std::sort's unrolled
    // cases over so small an array make gcc -O2 warn of out-of-bounds reads).
    std::array<uint32_t, kInlineCapacity> by_age;
    for (uint32_t i = 0; i < size_; ++i) {
      const int64_t idle = storage_.small.metas[i].stamp.IdleSeconds(now);
      uint32_t j = i;
      for (; j > 0 && storage_.small.metas[by_age[j - 1]].stamp.IdleSeconds(now) < idle; --j) {
        by_age[j] = by_age[j - 1];
      }
      by_age[j] = i;
    }
    storage_.large = large.release();
    large_mode_ = true;
    Large& heap = *storage_.large;
    heap.index.reserve(static_cast<size_t>(size_) + 1);
    // Oldest first, each joining its prefix as an insertion would.
    for (uint32_t k = 0; k < size_; ++k) {
      if (heap.prefix_bits != 0) JoinPrefix(by_age[k]);
      heap.index.insert(Slot{by_age[k]});
    }
  }

  void FreeLarge() {
    if (!large_mode_) return;
    delete storage_.large;
    storage_ = Storage{};
    large_mode_ = false;
  }

  void TakeFrom(PeerSet& other) {
    storage_ = other.storage_;
    size_ = other.size_;
    leechers_ = other.leechers_;
    completed_ = other.completed_;
    large_mode_ = other.large_mode_;
    other.storage_ = Storage{};
    other.size_ = 0;
    other.leechers_ = 0;
    other.completed_ = 0;
    other.large_mode_ = false;
  }

  // 32-bit counts: 2^32 peers in one swarm would take over 128 GB before overflowing.
  uint32_t size_ = 0;
  uint32_t leechers_ = 0;  // positions [0, leechers_) are leechers
  uint32_t completed_ = 0;
  bool large_mode_ = false;
  Storage storage_{};
};

}  // namespace reef::swarm::internal

#endif  // REEF_SERVER_SWARM_PEER_SET_H_
