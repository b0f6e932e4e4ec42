// The optional full scrape (GET /scrape without an info_hash): off by default, because it
// lists every torrent the tracker serves and costs the server time proportional to them.
// When on, each client address gets one every `interval`, and an answer holds at most
// `max_torrents` torrents.
//
// FullScrapeLimiter remembers when each address last had one. It remembers at most
// `max_clients` addresses: when the table is full, addresses whose interval has passed
// are forgotten, and if none has, the new address is refused until one has, so many
// addresses cannot make it grow. Shared by every worker (one lock, taken once per full
// scrape request, which is rare by design).
#ifndef REEF_SERVER_HTTP_FULL_SCRAPE_H_
#define REEF_SERVER_HTTP_FULL_SCRAPE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "protocol/http/query.h"
#include "server/common/mutex.h"

namespace reef::http_server {

inline constexpr std::string_view kReasonFullScrapeTooSoon =
    "full scrape: one per client per interval; try again later";

class FullScrapeLimiter {
 public:
  FullScrapeLimiter(int64_t interval_s, size_t max_clients)
      : interval_s_(interval_s), max_clients_(max_clients) {}

  // Whether `client` may have a full scrape at `now_s` (monotonic seconds); if so, the
  // time is recorded. Any thread.
  bool Allow(const http::IpAddress& client, int64_t now_s);

  size_t remembered() const;

 private:
  using Key = std::array<uint8_t, 17>;  // family, then the 16 address bytes
  static Key KeyOf(const http::IpAddress& address);

  const int64_t interval_s_;
  const size_t max_clients_;
  mutable Mutex mu_;
  absl::flat_hash_map<Key, int64_t> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace reef::http_server

#endif  // REEF_SERVER_HTTP_FULL_SCRAPE_H_
