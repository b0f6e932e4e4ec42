#include "server/metrics/stats_page.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "protocol/ws/json.h"
#include "server/common/strings.h"
#include "server/metrics/exposition.h"
#include "server/metrics/text.h"

namespace reef::metrics {
namespace {

// Rates as both the page and the JSON show them: two decimals.
double Rounded(double per_second) { return std::round(per_second * 100) / 100; }

std::string Rate(const std::optional<double>& per_second) {
  return per_second.has_value() ? FormatValue(Rounded(*per_second)) : "";
}

std::optional<double> TotalRate(const StatsData& data) {
  std::optional<double> total;
  for (const StatsData::Protocol& p : data.protocols) {
    if (p.per_second.has_value()) total = total.value_or(0) + *p.per_second;
  }
  return total;
}

uint64_t TotalPeers(const StatsData& data) {
  uint64_t total = 0;
  for (const StatsData::Family& f : data.peers) total += f.peers;
  return total;
}

// A number in an element that names its /stats.json key.
std::string Stat(std::string_view key, std::string_view value) {
  return StrCat("<span data-stat=\"", EscapeHtml(key), "\">", EscapeHtml(value), "</span>");
}

constexpr std::string_view kStyle = R"css(
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:46em;padding:0 1em;color:#1b1f23;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .5em}
.sub{color:#57606a;margin:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.card{flex:1 1 9em;border:1px solid #d0d7de;border-radius:8px;padding:.6em .9em}
.card b{display:block;font-size:1.7em;font-variant-numeric:tabular-nums}
.card small{color:#57606a}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eaeef2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code.url{display:block;user-select:all;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.45em .7em;margin:.35em 0;word-break:break-all}
footer{margin-top:2em;color:#57606a;font-size:.9em}
)css";

}  // namespace

std::string EscapeHtml(std::string_view text) {
  return MapUtf8(text, [](char c, std::string& out) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  });
}

std::string FormatUptime(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds / 3600 % 24;
  const int64_t minutes = seconds / 60 % 60;
  const int64_t secs = seconds % 60;
  std::string out;
  if (days > 0) StrAppend(&out, days, "d ");
  if (days > 0 || hours > 0) StrAppend(&out, hours, "h ");
  if (days > 0 || hours > 0 || minutes > 0) StrAppend(&out, minutes, "m ");
  StrAppend(&out, secs, "s");
  return out;
}

std::string RenderStatsHtml(const StatsData& data) {
  const std::optional<double> total_rate = TotalRate(data);
  std::string out = StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">"
      "<meta http-equiv=\"refresh\" content=\"60\">"
      "<title>reef tracker statistics</title><style>",
      kStyle, "</style></head><body>\n<h1>reef tracker</h1>\n<p class=\"sub\">version ",
      Stat("version", data.version), ", up ",
      StrCat("<span data-stat=\"uptime_s\" data-value=\"", data.uptime_s, "\">",
             EscapeHtml(FormatUptime(data.uptime_s)), "</span>"),
      "</p>\n<div class=\"cards\">",
      "<div class=\"card\"><b>", Stat("torrents", StrCat(data.torrents)),
      "</b><small>torrents</small></div>",
      "<div class=\"card\"><b>", Stat("peers", StrCat(TotalPeers(data))),
      "</b><small>peers</small></div>",
      "<div class=\"card\"><b>", Stat("seeders", StrCat(data.seeders)),
      "</b><small>seeders</small></div>",
      "<div class=\"card\"><b>", Stat("leechers", StrCat(data.leechers)),
      "</b><small>leechers</small></div>",
      "<div class=\"card\"><b>", Stat("requests_per_second", total_rate ? Rate(total_rate) : "-"),
      "</b><small>requests per second, last minute</small></div></div>\n");

  StrAppend(&out, "<h2>Peers by address family</h2>\n<table><tr><th>family</th><th>peers</th></tr>");
  for (const StatsData::Family& f : data.peers) {
    StrAppend(&out, "<tr><td>", EscapeHtml(f.name), "</td><td class=\"n\">",
              Stat(StrCat("peers.", f.name), StrCat(f.peers)), "</td></tr>");
  }
  StrAppend(&out, "</table>\n");
  if (data.webtorrent.has_value()) {
    const StatsData::WebTorrent& wt = *data.webtorrent;
    auto row = [&out](std::string_view name, std::string_view key, uint64_t value) {
      StrAppend(&out, "<tr><td>", name, "</td><td class=\"n\">",
                Stat(StrCat("webtorrent.", key), StrCat(value)), "</td></tr>");
    };
    StrAppend(&out,
              "<h2>WebTorrent</h2>\n<p class=\"sub\">Browsers over WebSocket: a swarm of its "
              "own, not in the totals above.</p>\n<table>");
    row("torrents", "torrents", wt.torrents);
    row("peers", "peers", wt.seeders + wt.leechers);
    row("seeders", "seeders", wt.seeders);
    row("leechers", "leechers", wt.leechers);
    StrAppend(&out, "</table>\n");
  }
  StrAppend(&out,
            "<h2>Requests by protocol</h2>\n<table><tr><th>protocol</th>"
            "<th>since start</th><th>per second, last minute</th></tr>");
  for (const StatsData::Protocol& p : data.protocols) {
    StrAppend(&out, "<tr><td>", EscapeHtml(p.name), "</td><td class=\"n\">",
              Stat(StrCat("requests.", p.name), StrCat(p.requests)), "</td><td class=\"n\">",
              p.per_second ? Stat(StrCat("requests_per_second.", p.name), Rate(p.per_second))
                           : "-",
              "</td></tr>");
  }
  StrAppend(&out, "</table>\n<h2>Announce URLs</h2>\n");
  if (data.announce_urls.empty()) StrAppend(&out, "<p>No protocol is enabled.</p>\n");
  for (const std::string& url : data.announce_urls) {
    StrAppend(&out, "<code class=\"url\" data-announce-url>", EscapeHtml(url), "</code>\n");
  }
  StrAppend(&out, "<footer>");
  if (!data.homepage.empty()) {
    StrAppend(&out, "<a rel=\"noopener noreferrer\" href=\"", EscapeHtml(data.homepage), "\">",
              EscapeHtml(data.homepage), "</a> &middot; ");
  }
  StrAppend(&out, "The same numbers as JSON: <a href=\"", EscapeHtml(data.json_link), "\">",
            EscapeHtml(data.json_link), "</a></footer>\n</body></html>\n");
  return out;
}

std::string RenderStatsJson(const StatsData& data) {
  // Sized for the page's few numbers and strings; doubled until it fits.
  for (size_t size = 16 << 10;; size *= 2) {
    std::vector<uint8_t> buffer(size);
    ws::JsonWriter j(buffer);
    j.BeginObject();
    j.Key("version");
    j.String(SanitizeUtf8(data.version));
    j.Key("uptime_s");
    j.Uint(static_cast<uint64_t>(std::max<int64_t>(0, data.uptime_s)));
    j.Key("torrents");
    j.Uint(data.torrents);
    j.Key("peers");
    j.Uint(TotalPeers(data));
    j.Key("seeders");
    j.Uint(data.seeders);
    j.Key("leechers");
    j.Uint(data.leechers);
    j.Key("peers_by_family");
    j.BeginObject();
    for (const StatsData::Family& f : data.peers) {
      j.Key(SanitizeUtf8(f.name));
      j.Uint(f.peers);
    }
    j.EndObject();
    j.Key("webtorrent");
    if (data.webtorrent.has_value()) {
      j.BeginObject();
      j.Key("torrents");
      j.Uint(data.webtorrent->torrents);
      j.Key("peers");
      j.Uint(data.webtorrent->seeders + data.webtorrent->leechers);
      j.Key("seeders");
      j.Uint(data.webtorrent->seeders);
      j.Key("leechers");
      j.Uint(data.webtorrent->leechers);
      j.EndObject();
    } else {
      j.Raw("null");
    }
    j.Key("requests");
    j.BeginObject();
    for (const StatsData::Protocol& p : data.protocols) {
      j.Key(SanitizeUtf8(p.name));
      j.Uint(p.requests);
    }
    j.EndObject();
    const std::optional<double> total_rate = TotalRate(data);
    j.Key("requests_per_second");
    j.Raw(total_rate ? Rate(total_rate) : "null");
    j.Key("requests_per_second_by_protocol");
    j.BeginObject();
    for (const StatsData::Protocol& p : data.protocols) {
      j.Key(SanitizeUtf8(p.name));
      j.Raw(p.per_second ? Rate(p.per_second) : "null");
    }
    j.EndObject();
    j.Key("announce_urls");
    j.BeginArray();
    for (const std::string& url : data.announce_urls) j.String(SanitizeUtf8(url));
    j.EndArray();
    j.Key("homepage");
    if (data.homepage.empty()) {
      j.Raw("null");
    } else {
      j.String(SanitizeUtf8(data.homepage));
    }
    j.EndObject();
    if (j.ok()) return std::string(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(j.written())) + "\n";
  }
}

void RateWindow::Record(absl::Duration now, uint64_t total) {
  MutexLock lock(&mu_);
  if (!samples_.empty()) {
    if (now <= samples_.back().at) return;
    if (total < samples_.back().total) samples_.clear();
  }
  samples_.push_back({now, total});
  // Keep one sample at or before the window's start, so a full window is measured.
  size_t drop = 0;
  while (drop + 1 < samples_.size() && now - samples_[drop + 1].at >= window_) ++drop;
  samples_.erase(samples_.begin(), samples_.begin() + static_cast<ptrdiff_t>(drop));
}

std::optional<double> RateWindow::PerSecond() const {
  MutexLock lock(&mu_);
  if (samples_.size() < 2) return std::nullopt;
  const Sample& oldest = samples_.front();
  const Sample& newest = samples_.back();
  const double seconds = absl::ToDoubleSeconds(newest.at - oldest.at);
  return static_cast<double>(newest.total - oldest.total) / seconds;
}

}  // namespace reef::metrics
