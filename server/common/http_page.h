// Pages served over HTTP besides a protocol's own paths: the statistics page and its JSON
// (server/metrics/stats_page.h), on the metrics listener and on the HTTP(S) tracker
// listeners. A protocol-independent hook, so that what serves a page (server/http,
// server/metrics) needs nothing from what renders it.
#ifndef REEF_SERVER_COMMON_HTTP_PAGE_H_
#define REEF_SERVER_COMMON_HTTP_PAGE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace reef {

// GET `path` answers render()'s text as `content_type`. render() runs on the serving
// worker's thread, per request, possibly on several threads at once.
struct HttpPage {
  std::string path;
  std::string content_type;
  std::function<std::string()> render;
};

// The page at `path`, or null.
inline const HttpPage* FindHttpPage(const std::vector<HttpPage>& pages, std::string_view path) {
  for (const HttpPage& page : pages) {
    if (page.path == path) return &page;
  }
  return nullptr;
}

// The pages the HTTP(S) tracker listeners serve. The listeners are built (their output
// buffers sized) before the pages can be rendered (the statistics page shows the addresses
// they bound), so the bound comes first and the pages are filled in later, before any
// worker runs; from then on it is read-only.
struct HttpPages {
  // No render() returns more bytes than this.
  size_t max_body_bytes = 0;
  std::vector<HttpPage> pages;
};

}  // namespace reef

#endif  // REEF_SERVER_COMMON_HTTP_PAGE_H_
