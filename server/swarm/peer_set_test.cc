// Tests of the internal PeerSet (server/swarm/peer_set.h): the dense leechers-first
// array, the inline and heap forms and the switch between them, the hashed index, the
// prefix cap's bookkeeping (groups only for prefixes with more than one entry, and their
// LinkTable), and the sampling behind peer selection.
#include "server/swarm/peer_set.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "testing/alloc_counter.h"

namespace reef::swarm::internal {
namespace {

using Set4 = PeerSet<4, 2>;
using Endpoint4 = Set4::Endpoint;
using PeerIdBytes = Set4::PeerIdBytes;

Endpoint4 E(uint8_t host, uint16_t port = 6881) {
  return {10, 0, 0, host, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
}

PeerIdBytes Id(uint8_t n) {
  PeerIdBytes id{};
  id.fill(n);
  return id;
}

struct ModelPeer {
  PeerIdBytes id;
  bool seeder;
  uint32_t last_seen;
};

// Every peer of the model is found at a position holding its endpoint, in the part of
// the array its status says, and nothing else is there. Stops the test at the first
// mismatch.
void CheckMatches(const Set4& set, const std::map<Endpoint4, ModelPeer>& model) {
  REQUIRE(set.size() == model.size());
  uint32_t seeders = 0;
  for (const auto& [endpoint, peer] : model) {
    const uint32_t position = set.Find(endpoint);
    REQUIRE(position != Set4::kNotFound);
    REQUIRE(set.endpoint(position) == endpoint);
    REQUIRE(set.meta(position).peer_id == peer.id);
    REQUIRE(set.meta(position).stamp.last_seen() == peer.last_seen);
    REQUIRE((position >= set.leechers()) == peer.seeder);
    seeders += peer.seeder ? 1 : 0;
  }
  REQUIRE(set.seeders() == seeders);
}

TEST_CASE("a peer costs its endpoint plus 28 bytes") {
  CHECK(sizeof(PeerMeta) == 28);
  CHECK(sizeof(EndpointBytes<4>) == 6);
  CHECK(sizeof(EndpointBytes<16>) == 18);
}

TEST_CASE("Stamp: idle time wraps with the clock and never goes negative") {
  CHECK(Stamp::At(100, false).IdleSeconds(100) == 0);
  CHECK(Stamp::At(100, false).IdleSeconds(160) == 60);
  // The stamp keeps 30 bits: across the 30-bit and the 32-bit wrap alike.
  CHECK(Stamp::At(0x3ffffff0u, false).IdleSeconds(0x40000010u) == 0x20);
  CHECK(Stamp::At(0x7ffffff0u, false).IdleSeconds(0x80000010u) == 0x20);
  CHECK(Stamp::At(0xfffffff0u, false).IdleSeconds(0x10u) == 0x20);
  CHECK(Stamp::At(160, false).IdleSeconds(100) == 0);  // the clock stepped back
  // Up to 2^29 - 1 s (17 years) is measured exactly.
  CHECK(Stamp::At(5, false).IdleSeconds(5 + (1u << 29) - 1) == (1 << 29) - 1);
}

TEST_CASE("Stamp: the completed flag survives touching, the time is replaced") {
  Stamp s = Stamp::At(1000, false);
  CHECK_FALSE(s.completed());
  s.set_completed();
  CHECK(s.completed());
  CHECK(s.last_seen() == 1000);
  s.Touch(2000);
  CHECK(s.completed());
  CHECK(s.last_seen() == 2000);
  CHECK(Stamp::At(7, true).completed());
}

TEST_CASE("SameEndpoint compares every byte") {
  for (size_t i = 0; i < 6; ++i) {
    EndpointBytes<4> a{1, 2, 3, 4, 5, 6};
    EndpointBytes<4> b = a;
    CHECK(SameEndpoint(a, b));
    b[i] ^= 0x80;
    CHECK_FALSE(SameEndpoint(a, b));
  }
  for (size_t i = 0; i < 18; ++i) {
    EndpointBytes<16> a{};
    for (size_t j = 0; j < 18; ++j) a[j] = static_cast<uint8_t>(j * 7 + 1);
    EndpointBytes<16> b = a;
    CHECK(SameEndpoint(a, b));
    b[i] ^= 1;
    CHECK_FALSE(SameEndpoint(a, b));
  }
}

TEST_CASE("a set stays inline up to its capacity and moves to the heap past it") {
  Set4 set;
  CHECK(set.is_inline());
  set.Upsert(E(1), Id(1), false, false, 0);
  set.Upsert(E(2), Id(2), true, false, 0);
  CHECK(set.is_inline());
  CHECK(set.HeapBytes() == 0);
  set.Upsert(E(3), Id(3), false, false, 0);
  CHECK_FALSE(set.is_inline());
  CHECK(set.HeapBytes() > 0);
  CHECK(set.size() == 3);
  CHECK(set.leechers() == 2);
  CHECK(set.seeders() == 1);
  for (uint8_t host = 1; host <= 3; ++host) CHECK(set.Find(E(host)) != Set4::kNotFound);
  CHECK(set.Find(E(4)) == Set4::kNotFound);
}

TEST_CASE("a heap set moves back inline only when compacted with few enough peers") {
  Set4 set;
  for (uint8_t host = 1; host <= 5; ++host) set.Upsert(E(host), Id(host), host % 2 == 0, false, 0);
  REQUIRE_FALSE(set.is_inline());
  set.Remove(E(1));
  set.Remove(E(2));
  set.Remove(E(3));
  // Two peers left, but Remove never frees: no allocate/free churn around the threshold.
  CHECK_FALSE(set.is_inline());
  set.Compact();
  CHECK(set.is_inline());
  CHECK(set.HeapBytes() == 0);
  CHECK(set.size() == 2);
  CHECK(set.seeders() == 1);
  CHECK(set.Find(E(4)) != Set4::kNotFound);
  CHECK(set.Find(E(5)) != Set4::kNotFound);
  CHECK(set.meta(set.Find(E(4))).peer_id == Id(4));
  // Three peers stay on the heap after Compact.
  Set4 big;
  for (uint8_t host = 1; host <= 3; ++host) big.Upsert(E(host), Id(host), false, false, 0);
  big.Compact();
  CHECK_FALSE(big.is_inline());
}

TEST_CASE("Compact of an emptied heap set leaves a working inline set") {
  Set4 set;
  for (uint8_t host = 1; host <= 4; ++host) set.Upsert(E(host), Id(host), false, false, 0);
  for (uint8_t host = 1; host <= 4; ++host) CHECK(set.Remove(E(host)));
  set.Compact();
  CHECK(set.is_inline());
  CHECK(set.empty());
  set.Upsert(E(9), Id(9), true, false, 0);
  CHECK(set.Find(E(9)) == 0);
}

TEST_CASE("a moved-from set is empty and the moved-to set owns the peers") {
  Set4 a;
  for (uint8_t host = 1; host <= 4; ++host) a.Upsert(E(host), Id(host), false, host == 1, 0);
  Set4 b(std::move(a));
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  CHECK(a.is_inline());
  CHECK(b.size() == 4);
  CHECK(b.completed() == 1);
  CHECK(b.Find(E(3)) != Set4::kNotFound);
  Set4 c;
  c.Upsert(E(7), Id(7), false, false, 0);
  c = std::move(b);
  CHECK(c.size() == 4);
  CHECK(c.Find(E(7)) == Set4::kNotFound);
}

TEST_CASE("completed counts once per entry") {
  Set4 set;
  set.Upsert(E(1), Id(1), false, true, 0);
  set.Upsert(E(1), Id(1), true, true, 1);
  set.Upsert(E(1), Id(1), true, true, 2);
  CHECK(set.completed() == 1);
  set.Upsert(E(2), Id(1), true, true, 2);  // another endpoint, same peer id
  CHECK(set.completed() == 2);
  set.Remove(E(1));
  set.Upsert(E(1), Id(1), true, true, 3);  // a new entry for the same endpoint
  CHECK(set.completed() == 3);
}

TEST_CASE("RemoveIdle removes exactly the peers idle longer than the timeout") {
  for (uint8_t n : {uint8_t{2}, uint8_t{3}, uint8_t{10}}) {  // inline, past it, heap
    CAPTURE(n);
    Set4 set;
    std::map<Endpoint4, ModelPeer> model;
    for (uint8_t host = 0; host < n; ++host) {
      const uint32_t now = 100u + host;
      const bool seeder = host % 3 == 0;
      set.Upsert(E(host), Id(host), seeder, false, now);
      model[E(host)] = {Id(host), seeder, now};
    }
    // At 100 + n + 8 with timeout 10, the last two peers are idle 9 and 10 s (kept), the
    // others 11 s or more (removed).
    const uint32_t now = 100u + n + 8;
    const uint32_t removed = set.RemoveIdle(now, 10);
    std::erase_if(model, [&](const auto& kv) { return now - kv.second.last_seen > 10; });
    CHECK(removed == n - model.size());
    CHECK(model.size() == 2);  // the peers idle exactly 10 and 9 s stay
    CheckMatches(set, model);
    CHECK(set.is_inline());  // Compact ran
  }
}

TEST_CASE("random operations keep the array, the partition and the index consistent") {
  // A model (std::map by endpoint) against the set over many random upserts, status
  // changes and removals, crossing the inline/heap threshold both ways.
  Rng rng(2024);
  for (int round = 0; round < 12; ++round) {
    Set4 set;
    std::map<Endpoint4, ModelPeer> model;
    const uint32_t hosts = 1 + rng.Below(40);
    for (uint32_t step = 0; step < 1500; ++step) {
      const Endpoint4 e = E(static_cast<uint8_t>(rng.Below(hosts)),
                            static_cast<uint16_t>(6881 + rng.Below(2)));
      const uint32_t op = rng.Below(10);
      if (op < 6) {
        const bool seeder = rng.Below(2) == 0;
        const PeerIdBytes id = Id(static_cast<uint8_t>(rng.Below(4)));
        set.Upsert(e, id, seeder, false, step);
        model[e] = {id, seeder, step};
      } else if (op < 9) {
        CHECK(set.Remove(e) == (model.erase(e) == 1));
      } else {
        set.Compact();
        CHECK(set.is_inline() == (model.size() <= 2));
      }
      CheckMatches(set, model);
    }
  }
}

// A peer at 10.0.`net`.`host`:`port`, for prefix rules of /24 (grouped by `net`) and /32.
Endpoint4 At(uint8_t net, uint8_t host, uint16_t port) {
  return {10, 0, net, host, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
}

// What TorrentStore does with a new or known endpoint under a prefix cap: a new entry of
// a prefix at its cap replaces the prefix's least recent one.
void Announce(Set4& set, const Endpoint4& e, bool seeder, uint32_t now, const PrefixRule& rule) {
  const uint32_t position = set.Find(e);
  if (position != Set4::kNotFound) {
    set.Update(position, Id(e[3]), std::nullopt, seeder, now, rule);
    return;
  }
  const auto prefix = PrefixOf(e, rule.bits);
  if (set.PrefixCount(prefix, rule) >= rule.cap) set.RemoveOldestOf(prefix, rule, now);
  set.Insert(e, Id(e[3]), std::nullopt, seeder, now, rule);
}

TEST_CASE("a prefix cap: random announces, stops and cleanings against a model") {
  // The model keeps every entry's last announce (one tick per step, so all distinct):
  // the entry a full prefix gives way to is the one with the smallest.
  Rng rng(515);
  for (const PrefixRule rule : {PrefixRule{24, 3}, PrefixRule{32, 2}, PrefixRule{24, 1},
                                PrefixRule{32, 16}}) {
    CAPTURE(rule.bits);
    CAPTURE(rule.cap);
    for (int round = 0; round < 4; ++round) {
      Set4 set;
      std::map<Endpoint4, ModelPeer> model;
      const uint32_t nets = 1 + rng.Below(6);
      const uint32_t hosts = 1 + rng.Below(30);
      auto prefix_of = [&](const Endpoint4& e) { return PrefixOf(e, rule.bits); };
      for (uint32_t now = 1; now <= 1500; ++now) {
        const Endpoint4 e = At(static_cast<uint8_t>(rng.Below(nets)),
                               static_cast<uint8_t>(rng.Below(hosts)),
                               static_cast<uint16_t>(6881 + rng.Below(3)));
        const uint32_t op = rng.Below(20);
        if (op < 13) {
          const bool seeder = rng.Below(2) == 0;
          if (!model.contains(e)) {
            std::vector<std::pair<uint32_t, Endpoint4>> same;
            for (const auto& [other, peer] : model) {
              if (prefix_of(other) == prefix_of(e)) same.emplace_back(peer.last_seen, other);
            }
            if (same.size() >= rule.cap) {
              model.erase(std::min_element(same.begin(), same.end())->second);
            }
          }
          Announce(set, e, seeder, now, rule);
          model[e] = {Id(e[3]), seeder, now};
        } else if (op < 18) {
          CHECK(set.Remove(e, rule) == (model.erase(e) == 1));
        } else if (op < 19) {
          set.Compact();
          CHECK(set.is_inline() == (model.size() <= 2));
        } else {
          const uint32_t timeout = rng.Below(200);
          set.RemoveIdle(now, timeout, rule);
          std::erase_if(model, [&](const auto& kv) { return now - kv.second.last_seen > timeout; });
        }
        CheckMatches(set, model);
        std::map<Set4::Prefix, uint32_t> per_prefix;
        for (const auto& [endpoint, peer] : model) ++per_prefix[prefix_of(endpoint)];
        for (const auto& [prefix, count] : per_prefix) {
          REQUIRE(count <= rule.cap);
          REQUIRE(set.PrefixCount(prefix, rule) == count);
        }
        // A prefix with no entry has no count, and a group only where one was needed.
        REQUIRE(set.PrefixCount(prefix_of(At(200, 0, 1)), rule) == 0);
        if (op == 18 && !set.is_inline()) {
          const auto groups = std::count_if(per_prefix.begin(), per_prefix.end(),
                                            [](const auto& kv) { return kv.second > 1; });
          CHECK(set.prefix_groups() == static_cast<size_t>(groups));
        }
      }
    }
  }
}

TEST_CASE("a peer alone in its prefix has no group; a second makes one, Compact ends it") {
  const PrefixRule rule{32, 16};
  Set4 set;
  for (uint8_t host = 0; host < 100; ++host) Announce(set, At(1, host, 6881), false, host, rule);
  REQUIRE_FALSE(set.is_inline());
  CHECK(set.prefix_groups() == 0);
  Announce(set, At(1, 7, 6882), true, 200, rule);  // a second port of 10.0.1.7
  CHECK(set.prefix_groups() == 1);
  CHECK(set.PrefixCount(PrefixOf(At(1, 7, 0), 32), rule) == 2);
  // The older of the two gives way first (a cap of 2 for this check).
  const PrefixRule two{32, 2};
  Announce(set, At(1, 7, 6883), true, 201, two);
  CHECK(set.Find(At(1, 7, 6881)) == Set4::kNotFound);
  CHECK(set.Find(At(1, 7, 6882)) != Set4::kNotFound);
  CHECK(set.Find(At(1, 7, 6883)) != Set4::kNotFound);
  // Announcing again makes an entry its prefix's most recent.
  Announce(set, At(1, 7, 6882), true, 202, two);
  Announce(set, At(1, 7, 6884), true, 203, two);
  CHECK(set.Find(At(1, 7, 6883)) == Set4::kNotFound);
  CHECK(set.Find(At(1, 7, 6882)) != Set4::kNotFound);
  // Down to one member, the group stays (removing never rehashes) until Compact.
  CHECK(set.Remove(At(1, 7, 6884), rule));
  CHECK(set.prefix_groups() == 1);
  CHECK(set.PrefixCount(PrefixOf(At(1, 7, 0), 32), rule) == 1);
  set.Compact();
  CHECK(set.prefix_groups() == 0);
  CHECK(set.PrefixCount(PrefixOf(At(1, 7, 0), 32), rule) == 1);
  CHECK(set.Find(At(1, 7, 6882)) != Set4::kNotFound);
  CHECK(set.size() == 100);
}

TEST_CASE("no allocation: re-announcing, evicting and removing prefix group members") {
  const PrefixRule rule{32, 4};
  Set4 set;
  // 60 addresses with 4 ports each (every prefix a full group) and 60 alone.
  uint32_t now = 0;
  for (uint8_t host = 0; host < 120; ++host) {
    for (uint16_t port = 0; port < (host < 60 ? 4 : 1); ++port) {
      Announce(set, At(2, host, static_cast<uint16_t>(6881 + port)), port % 2 == 0, ++now, rule);
    }
  }
  REQUIRE(set.prefix_groups() == 60);
  testing::AllocationScope scope;
  for (uint8_t host = 0; host < 120; ++host) {
    Announce(set, At(2, host, 6881), host % 3 == 0, ++now, rule);  // update, status change
  }
  for (uint8_t host = 0; host < 60; ++host) {
    set.RemoveOldestOf(PrefixOf(At(2, host, 0), 32), rule, ++now);
    CHECK(set.Remove(At(2, host, 6881), rule));
  }
  for (uint8_t host = 60; host < 120; ++host) CHECK(set.Remove(At(2, host, 6881), rule));
  CHECK(set.size() == 120);
  CHECK(scope.allocations() == 0);
}

TEST_CASE("LinkTable: members stay reachable in both forms and across the switches") {
  // A set of 300 positions. Members come and go, mostly coming in the first half of each
  // phase and mostly going in the second, so the table turns dense (a third members) and
  // sparse again (under an eighth, at Fit or Shrink).
  constexpr uint32_t kSetSize = 300;
  LinkTable table;
  std::map<uint32_t, Links> model;
  Rng rng(9);
  bool was_dense = false;
  bool was_sparse_after_dense = false;
  for (int step = 0; step < 24000; ++step) {
    const uint32_t position = rng.Below(kSetSize);
    const bool coming = step % 4000 < 2000;
    if (rng.Below(10) < (coming ? 8u : 1u)) {
      if (!model.contains(position)) {
        // Anything but the position itself (a member is never its own neighbour).
        const Links links{kSetSize + rng.Below(1000), rng.Below(1000)};
        table.Add(position, links, kSetSize);
        model[position] = links;
      }
    } else {
      const std::optional<Links> taken = table.Take(position);
      REQUIRE(taken.has_value() == model.contains(position));
      if (taken.has_value()) {
        CHECK(taken->older == model[position].older);
        CHECK(taken->newer == model[position].newer);
        model.erase(position);
      }
    }
    if (step % 500 == 499) table.Shrink(kSetSize);
    if (step % 100 == 0) table.Fit(kSetSize);
    was_sparse_after_dense |= was_dense && !table.dense();
    was_dense |= table.dense();
    REQUIRE(table.size() == model.size());
    if (step % 50 != 0) continue;
    for (uint32_t p = 0; p < kSetSize; ++p) {
      const Links* links = table.Find(p);
      REQUIRE((links != nullptr) == model.contains(p));
      if (links != nullptr) REQUIRE(links->older == model[p].older);
    }
  }
  CHECK(was_dense);
  CHECK(was_sparse_after_dense);
  // Moving members (a Take, then a Put at a free position) never allocates, in either form.
  for (const bool dense : {false, true}) {
    CAPTURE(dense);
    while (model.size() > (dense ? 150u : 20u)) {
      table.Take(model.begin()->first);
      model.erase(model.begin());
    }
    while (model.size() < (dense ? 150u : 20u)) {
      const uint32_t position = rng.Below(kSetSize);
      if (model.contains(position)) continue;
      table.Add(position, Links{}, kSetSize);
      model[position] = Links{};
    }
    table.Shrink(kSetSize);
    REQUIRE(table.dense() == dense);
    std::vector<uint32_t> from;
    std::vector<uint32_t> to;
    for (uint32_t p = 0; p < kSetSize; ++p) (model.contains(p) ? from : to).push_back(p);
    {
      testing::AllocationScope scope;
      for (size_t i = 0; i < std::min(from.size(), to.size()); ++i) {
        table.Put(to[i], *table.Take(from[i]));
      }
      CHECK(scope.allocations() == 0);
    }
    std::map<uint32_t, Links> moved;
    for (size_t i = 0; i < from.size(); ++i) {
      moved[i < to.size() ? to[i] : from[i]] = model[from[i]];
    }
    model = moved;
    for (uint32_t p = 0; p < kSetSize; ++p) CHECK((table.Find(p) != nullptr) == model.contains(p));
  }
  while (!model.empty()) {
    CHECK(table.Take(model.begin()->first).has_value());
    model.erase(model.begin());
  }
  table.Shrink(kSetSize);
  CHECK(table.HeapBytes() == 0);
  CHECK(table.Find(1) == nullptr);
}

TEST_CASE("Select never returns the excluded peer, never repeats, takes leechers first") {
  Set4 set;
  for (uint8_t host = 0; host < 20; ++host) set.Upsert(E(host), Id(host), host >= 5, false, 0);
  REQUIRE(set.leechers() == 5);
  Rng rng(3);
  const uint32_t requester = set.Find(E(12));  // a seeder
  for (uint32_t wanted : {0u, 1u, 4u, 5u, 6u, 18u, 19u, 50u}) {
    CAPTURE(wanted);
    std::vector<Endpoint4> got;
    int leechers = 0;
    const uint32_t chosen =
        set.Select(requester, true, wanted, rng, [&](const auto& endpoint, const auto& id) {
          got.push_back(endpoint);
          CHECK(id == set.meta(set.Find(endpoint)).peer_id);
          leechers += set.Find(endpoint) < set.leechers() ? 1 : 0;
        });
    CHECK(chosen == std::min(wanted, 19u));
    CHECK(got.size() == chosen);
    CHECK(std::set<Endpoint4>(got.begin(), got.end()).size() == got.size());
    CHECK(std::find(got.begin(), got.end(), E(12)) == got.end());
    CHECK(leechers == static_cast<int>(std::min(wanted, 5u)));
  }
}

TEST_CASE("SampleDistinct picks every subset equally often (chi-square, fixed seed)") {
  // n = 6, count = 3: 20 subsets. 60000 draws; chi-square with 19 degrees of freedom
  // exceeds 43.8 with probability 0.001 for a uniform sampler.
  Rng rng(77);
  std::map<uint32_t, int> counts;  // subset as a bit mask
  constexpr int kDraws = 60000;
  for (int i = 0; i < kDraws; ++i) {
    uint32_t mask = 0;
    int drawn = 0;
    SampleDistinct(6, 3, rng, [&](uint32_t x) {
      CHECK(x < 6);
      CHECK((mask & (1u << x)) == 0);
      mask |= 1u << x;
      ++drawn;
    });
    CHECK(drawn == 3);
    ++counts[mask];
  }
  CHECK(counts.size() == 20);
  double chi2 = 0;
  const double expected = kDraws / 20.0;
  for (const auto& [mask, c] : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 43.8);
}

TEST_CASE("SampleDistinct handles the extremes") {
  Rng rng(1);
  int calls = 0;
  SampleDistinct(0, 5, rng, [&](uint32_t) { ++calls; });
  SampleDistinct(5, 0, rng, [&](uint32_t) { ++calls; });
  CHECK(calls == 0);
  std::vector<uint32_t> all;
  SampleDistinct(4, 9, rng, [&](uint32_t x) { all.push_back(x); });
  CHECK(all == std::vector<uint32_t>{0, 1, 2, 3});
  // The largest selection, from a much larger range.
  std::set<uint32_t> big;
  SampleDistinct(1000000, kMaxSelection, rng, [&](uint32_t x) {
    CHECK(x < 1000000);
    big.insert(x);
  });
  CHECK(big.size() == kMaxSelection);
}

TEST_CASE("no allocation: updating an inline set, adding within capacity, selecting") {
  Set4 set;
  set.Upsert(E(1), Id(1), false, false, 0);
  Rng rng(1);
  testing::AllocationScope scope;
  set.Upsert(E(1), Id(1), true, true, 1);   // update
  set.Upsert(E(2), Id(2), false, false, 1); // add, still inline
  int n = 0;
  set.Select(0, false, 10, rng, [&](const auto&, const auto&) { ++n; });
  set.Remove(E(2));
  CHECK(n == 1);
  CHECK(scope.allocations() == 0);
}

TEST_CASE("no allocation: updating, removing and selecting in a heap set") {
  Set4 set;
  for (uint8_t host = 0; host < 200; ++host) set.Upsert(E(host), Id(host), host % 2 == 0, false, 0);
  Rng rng(1);
  testing::AllocationScope scope;
  for (uint8_t host = 0; host < 200; ++host) set.Upsert(E(host), Id(host), host % 3 == 0, true, 1);
  int n = 0;
  set.Select(set.Find(E(7)), true, 50, rng, [&](const auto&, const auto&) { ++n; });
  for (uint8_t host = 0; host < 100; ++host) set.Remove(E(host));
  CHECK(n == 50);
  CHECK(scope.allocations() == 0);
}

}  // namespace
}  // namespace reef::swarm::internal
