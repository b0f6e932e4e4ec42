#include "server/http/full_scrape.h"

#include <algorithm>

namespace reef::http_server {

FullScrapeLimiter::Key FullScrapeLimiter::KeyOf(const http::IpAddress& address) {
  Key key{};
  key[0] = static_cast<uint8_t>(address.family);
  const auto bytes = address.view();
  std::copy(bytes.begin(), bytes.end(), key.begin() + 1);
  return key;
}

bool FullScrapeLimiter::Allow(const http::IpAddress& client, int64_t now_s) {
  const Key key = KeyOf(client);
  MutexLock lock(&mu_);
  auto it = last_.find(key);
  if (it != last_.end()) {
    if (now_s - it->second < interval_s_) return false;
    it->second = now_s;
    return true;
  }
  if (last_.size() >= max_clients_) {
    absl::erase_if(last_, [&](const auto& entry) { return now_s - entry.second >= interval_s_; });
    if (last_.size() >= max_clients_) return false;
  }
  last_.emplace(key, now_s);
  return true;
}

size_t FullScrapeLimiter::remembered() const {
  MutexLock lock(&mu_);
  return last_.size();
}

}  // namespace reef::http_server
