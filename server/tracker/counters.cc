#include "server/tracker/counters.h"

namespace reef::tracker {

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kUdp: return "udp";
    case Protocol::kHttp: return "http";
    case Protocol::kHttps: return "https";
    case Protocol::kWs: return "ws";
    case Protocol::kWss: return "wss";
  }
  return "?";
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kAnnounce: return "announce";
    case Action::kScrape: return "scrape";
  }
  return "?";
}

std::string_view RefusalReason(Refusal refusal) {
  switch (refusal) {
    case Refusal::kPortZero: return "port must be 1-65535";
    case Refusal::kNotAllowed: return "info_hash not allowed on this tracker";
    case Refusal::kTooManyHashes: return "too many info hashes in one scrape";
  }
  return "refused";
}

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kPortZero: return "port 0";
    case Refusal::kNotAllowed: return "info hash not allowed";
    case Refusal::kTooManyHashes: return "too many scrape hashes";
  }
  return "?";
}

CountersSnapshot& CountersSnapshot::operator+=(const CountersSnapshot& other) {
  for (size_t p = 0; p < kProtocolCount; ++p) {
    for (size_t a = 0; a < kActionCount; ++a) {
      for (size_t f = 0; f < kFamilyCount; ++f) {
        served[p][a][f] += other.served[p][a][f];
        refused[p][a][f] += other.refused[p][a][f];
      }
    }
    for (size_t r = 0; r < kRefusalCount; ++r) refusals[p][r] += other.refusals[p][r];
    hidden_info_hashes[p] += other.hidden_info_hashes[p];
  }
  return *this;
}

uint64_t CountersSnapshot::Served(Protocol protocol, Action action) const {
  const auto& by_family = served[static_cast<size_t>(protocol)][static_cast<size_t>(action)];
  return by_family[0] + by_family[1];
}

uint64_t CountersSnapshot::Refused(Protocol protocol, Action action) const {
  const auto& by_family = refused[static_cast<size_t>(protocol)][static_cast<size_t>(action)];
  return by_family[0] + by_family[1];
}

uint64_t CountersSnapshot::Refusals(Refusal refusal) const {
  uint64_t sum = 0;
  for (const auto& by_reason : refusals) sum += by_reason[static_cast<size_t>(refusal)];
  return sum;
}

CountersSnapshot Counters::Snapshot() const {
  CountersSnapshot out;
  for (size_t p = 0; p < kProtocolCount; ++p) {
    for (size_t a = 0; a < kActionCount; ++a) {
      for (size_t f = 0; f < kFamilyCount; ++f) {
        out.served[p][a][f] = served_[p][a][f].value();
        out.refused[p][a][f] = refused_[p][a][f].value();
      }
    }
    for (size_t r = 0; r < kRefusalCount; ++r) out.refusals[p][r] = refusals_[p][r].value();
    out.hidden_info_hashes[p] = hidden_info_hashes_[p].value();
  }
  return out;
}

}  // namespace reef::tracker
