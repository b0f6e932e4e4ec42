// How large an HTTP tracker answer can be, from the limits that bound it: what the
// adapter (http_tracker.h) reserves per response, and what the config checks
// http.max_output_size against. http_tracker_test writes the largest answers and checks
// they fit.
#ifndef REEF_SERVER_HTTP_RESPONSE_SIZE_H_
#define REEF_SERVER_HTTP_RESPONSE_SIZE_H_

#include <algorithm>
#include <cstddef>

namespace reef::http_server {

// Room for the largest parts of a response, with a margin:
//   the head: status line, Content-Type, Connection, the reserved Content-Length;
inline constexpr size_t kResponseHeadBytes = 256;
//   an announce body without its peers: counts, intervals, the "peers"/"peers6" keys and
//   length prefixes;
inline constexpr size_t kAnnounceBodyBytes = 512;
//   one peer in the dictionary model: d 2:ip 39:<IPv6 text> 7:peer id 20:<id> 4:port
//   i65535e e is 93 bytes (compact entries are 6 or 18);
inline constexpr size_t kDictPeerBytes = 96;
//   one scrape file: 20:<hash> d 8:complete i..e 10:downloaded i..e 10:incomplete i..e e
//   with 10-digit counts is 97 bytes;
inline constexpr size_t kScrapeFileBytes = 112;
//   a failure: d 14:failure reason <len>:<reason> e, every reason under 200 bytes.
inline constexpr size_t kFailureBodyBytes = 256;

// The largest answer for announces of up to `max_response_peers` peers and scrapes of up
// to `max_scrape_hashes` hashes.
constexpr size_t MaxHttpResponseBytes(size_t max_response_peers, size_t max_scrape_hashes) {
  return kResponseHeadBytes +
         std::max({kAnnounceBodyBytes + max_response_peers * kDictPeerBytes,
                   16 + max_scrape_hashes * kScrapeFileBytes, kFailureBodyBytes});
}

}  // namespace reef::http_server

#endif  // REEF_SERVER_HTTP_RESPONSE_SIZE_H_
