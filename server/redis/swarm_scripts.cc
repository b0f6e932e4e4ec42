#include "server/redis/swarm_scripts.h"

#include <openssl/sha.h>

#include <array>
#include <vector>

#include "server/common/strings.h"
#include "server/redis/cluster_slots.h"

namespace reef::redis {

const std::string_view kAnnounceScript = R"lua(
local s4, l4, s6, l6, d, c, t, n = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6],
  KEYS[7], KEYS[8]
local ih, fam, ep, pid, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local seeder, event, wanted = ARGV[6] == '1', ARGV[7], tonumber(ARGV[8])
local lifetime, cap = tonumber(ARGV[9]), tonumber(ARGV[10])
local bits4, bits6, window = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local peer_limit, torrent_limit = tonumber(ARGV[14]), tonumber(ARGV[15])
math.randomseed(tonumber(ARGV[16]))
local base, trim = ARGV[17], tonumber(ARGV[18])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function prefix_of(member, family)
  local bits = family == '4' and bits4 or bits6
  local whole, rest = math.floor(bits / 8), bits % 8
  local p = string.sub(member, 1, whole)
  if rest > 0 then
    p = p .. string.char(bit.band(string.byte(member, whole + 1), 256 - 2 ^ (8 - rest)))
  end
  return p
end
local function prefix_key(member, family)
  return base .. 'x' .. family .. ':' .. prefix_of(member, family)
end
local function remove(member, family)
  if family == '4' then redis.call('ZREM', s4, member); redis.call('ZREM', l4, member)
  else redis.call('ZREM', s6, member); redis.call('ZREM', l6, member) end
  redis.call('HDEL', d, member)
  if cap > 0 then redis.call('ZREM', prefix_key(member, family), member) end
end
local function live(k) return redis.call('ZCOUNT', k, '(' .. now, '+inf') end
local function counts()
  return live(s4) + live(s6), live(l4) + live(l6), tonumber(redis.call('GET', c) or '0')
end

-- The slot's torrents past their expiry: their peers expired with them.
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', t, '-inf', now, 'LIMIT', 0, trim)) do
  local had = tonumber(redis.call('HGET', n, gone) or '0')
  redis.call('HINCRBY', n, '*', -had)
  redis.call('HDEL', n, gone)
  redis.call('ZREM', t, gone)
end
-- This torrent's peers past their expiry.
for _, set in ipairs({{s4, '4'}, {l4, '4'}, {s6, '6'}, {l6, '6'}}) do
  local gone = redis.call('ZRANGEBYSCORE', set[1], '-inf', now, 'LIMIT', 0, trim)
  for _, member in ipairs(gone) do remove(member, set[2]) end
end

local own_s, own_l = s4, l4
if fam == '6' then own_s, own_l = s6, l6 end
local existing = redis.call('HGET', d, ep)
local status, flags, peers, ids = 'ok', 0, '', ''

local function choose()
  -- Up to `wanted` others of the requester's family, every subset equally likely; a
  -- seeder gets leechers first.
  local chosen = {}
  -- `count` members of `set` other than the requester: count + 1 drawn (a uniform
  -- subset, but listed in the set's order), then the requester dropped if drawn, else a
  -- random one of them, so no position in the set is favoured.
  local function take(set, count)
    if count <= 0 then return end
    local got = redis.call('ZRANDMEMBER', set, count + 1)
    local drop = nil
    for i, m in ipairs(got) do if m == ep then drop = i end end
    if drop == nil and #got > count then drop = math.random(#got) end
    for i, m in ipairs(got) do
      if i ~= drop then table.insert(chosen, m) end
    end
  end
  local ns, nl = live(own_s), live(own_l)
  if seeder then
    local from_l = math.min(wanted, nl)
    take(own_l, from_l)
    take(own_s, math.min(wanted - from_l, ns - 1))
  else
    nl = nl - 1
    if ns + nl <= wanted then
      take(own_s, ns); take(own_l, nl)
    else
      local k, ra, rb = 0, ns, nl
      for _ = 1, wanted do
        if math.random() * (ra + rb) < ra then k = k + 1; ra = ra - 1 else rb = rb - 1 end
      end
      take(own_s, k); take(own_l, wanted - k)
    end
  end
  if #chosen > 0 then
    local values = redis.call('HMGET', d, unpack(chosen))
    local p, i = {}, {}
    for j, m in ipairs(chosen) do
      p[j] = m
      i[j] = string.sub(values[j] or string.rep('\0', 21), 2, 21)
    end
    peers, ids = table.concat(p), table.concat(i)
  end
end

local function upsert()
  local px = nil
  if cap > 0 then px = prefix_key(ep, fam) end
  if not existing then
    local evict = nil
    if px then
      redis.call('ZREMRANGEBYSCORE', px, '-inf', now)
      if redis.call('ZCARD', px) >= cap then evict = redis.call('ZRANGE', px, 0, 0)[1] end
    end
    if evict then
      remove(evict, fam)
      flags = flags + 1
    else
      local total = tonumber(redis.call('HGET', n, '*') or '0')
      local known = redis.call('ZSCORE', t, ih)
      if total >= peer_limit or (not known and redis.call('ZCARD', t) >= torrent_limit) then
        status = 'full'
        return
      end
    end
  end
  local expires = now + lifetime
  local completed_flag = '-'
  if existing then completed_flag = string.sub(existing, 1, 1) end
  if event == 'completed' and completed_flag ~= 'c' then
    local wk = base .. 'w' .. fam .. ':' .. prefix_of(ep, fam)
    if redis.call('SET', wk, '1', 'NX', 'PX', window) then
      redis.call('INCR', c)
      completed_flag = 'c'
    else
      flags = flags + 4
    end
  end
  if seeder then
    redis.call('ZADD', own_s, expires, ep); redis.call('ZREM', own_l, ep)
  else
    redis.call('ZADD', own_l, expires, ep); redis.call('ZREM', own_s, ep)
  end
  redis.call('HSET', d, ep, completed_flag .. pid .. key)
  if px then
    redis.call('ZADD', px, expires, ep)
    redis.call('PEXPIRE', px, lifetime)
  end
  for _, k in ipairs({s4, l4, s6, l6, d, c}) do redis.call('PEXPIRE', k, lifetime) end
  redis.call('ZADD', t, 'GT', expires, ih)
  choose()
end

if event == 'stopped' then
  if existing then
    local stored_key = string.sub(existing, 22)
    if stored_key ~= '' and stored_key ~= key then flags = flags + 2
    else remove(ep, fam) end
  end
else
  upsert()
end

-- The slot's record of this torrent's peers (a torrent left with none stays until it
-- expires, its completed count with it, as the memory store keeps it until cleaned).
local held = redis.call('ZCARD', s4) + redis.call('ZCARD', l4) +
  redis.call('ZCARD', s6) + redis.call('ZCARD', l6)
local before = tonumber(redis.call('HGET', n, ih) or '0')
if held ~= before then
  if held == 0 then redis.call('HDEL', n, ih) else redis.call('HSET', n, ih, held) end
  redis.call('HINCRBY', n, '*', held - before)
end
local se, le, co = counts()
return {status, se, le, co, flags, peers, ids}
)lua";

const std::string_view kScrapeScript = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function live(k) return redis.call('ZCOUNT', k, '(' .. now, '+inf') end
return {live(KEYS[1]) + live(KEYS[3]), live(KEYS[2]) + live(KEYS[4]),
        tonumber(redis.call('GET', KEYS[5]) or '0')}
)lua";

std::string ScriptSha1(std::string_view script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

const std::string& SlotTag(uint16_t slot) {
  static const std::vector<std::string>* const kTags = [] {
    auto* tags = new std::vector<std::string>(kSlotCount);
    size_t found = 0;
    for (uint64_t i = 0; found < kSlotCount; ++i) {
      std::string tag = StrCat("s", i);
      std::string& entry = (*tags)[KeySlot(tag)];
      if (entry.empty()) {
        entry = std::move(tag);
        ++found;
      }
    }
    return tags;
  }();
  return (*kTags)[slot % kSlotCount];
}

std::string TorrentKeyBase(std::string_view prefix, const InfoHash& info_hash) {
  const auto hex = info_hash.ToHex();
  return StrCat(prefix, ":{", std::string_view(hex.data(), hex.size()), "}:");
}

}  // namespace reef::redis
