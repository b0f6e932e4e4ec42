// Parses every request that real clients (python3-libtorrent 2.0.8, transmission-cli
// 3.00, aria2c 1.36) sent to a fake tracker on loopback, as captured by
// tools/captures/http_capture.py into
// protocol/http/testdata/captures/<client>_<path>_<event>.http.
// Each must parse with the values its file name and client promise.
#include <dirent.h>

#include <doctest/doctest.h>

#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "testing/alloc_counter.h"

namespace reef::http {
namespace {

constexpr char kDir[] = "protocol/http/testdata/captures";

std::map<std::string, std::string> LoadCaptures() {
  std::map<std::string, std::string> out;
  DIR* dir = opendir(kDir);
  REQUIRE(dir != nullptr);
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.size() < 5 || name.substr(name.size() - 5) != ".http") continue;
    std::ifstream f(std::string(kDir) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out[name.substr(0, name.size() - 5)] = ss.str();
  }
  closedir(dir);
  return out;
}

struct Client {
  std::string peer_id_prefix;
  bool keep_alive;
};

const std::map<std::string, Client> kClients = {
    {"libtorrent", {"-LT2080-", false}},  // sends Connection: close
    {"transmission", {"-TR3000-", true}},
    {"aria2", {"A2-1-36-0-", true}},
};

TEST_CASE("every captured real-client request parses") {
  auto captures = LoadCaptures();
  std::set<std::string> seen;  // "<client>_<path>"
  std::set<InfoHash> hashes;
  for (const auto& entry : captures) {
    const std::string& name = entry.first;
    const std::string& bytes = entry.second;  // (no structured bindings: clang 14 lambdas)
    CAPTURE(name);
    std::string client = name.substr(0, name.find('_'));
    REQUIRE(kClients.count(client) == 1);
    const Client& expect = kClients.at(client);

    std::array<Header, 32> headers;
    uint64_t allocations = 0;
    auto r = [&] {
      testing::AllocationScope scope;
      auto result = ParseRequest(bytes, headers);
      allocations += scope.allocations();
      return result;
    }();
    REQUIRE(r.ok());
    CHECK(r.consumed() == bytes.size());
    const Request& req = r.value();
    CHECK(req.version_minor == 1);
    CHECK(req.keep_alive == expect.keep_alive);
    CHECK(req.FindHeader("host").has_value());
    CHECK(req.FindHeader("user-agent").has_value());

    const bool announce = name.find("_announce") != std::string::npos;
    CHECK(req.path == (announce ? "/announce" : "/scrape"));
    seen.insert(client + (announce ? "_announce" : "_scrape"));
    if (announce) {
      auto a = [&] {
        testing::AllocationScope scope;
        auto result = ParseAnnounceQuery(req.query);
        allocations += scope.allocations();
        return result;
      }();
      REQUIRE(a.ok());
      CHECK(allocations == 0);
      const AnnounceRequest& q = a.value();
      hashes.insert(q.info_hash);
      std::string_view peer_id(reinterpret_cast<const char*>(q.peer_id.data()), 20);
      CHECK(peer_id.starts_with(expect.peer_id_prefix));
      CHECK(q.port != 0);
      CHECK(q.compact == true);
      CHECK(q.left.has_value());
      CHECK_FALSE(q.key.empty());
      CHECK(q.numwant.has_value());
      std::string event = name.find("_started") != std::string::npos   ? "started"
                          : name.find("_stopped") != std::string::npos ? "stopped"
                          : name.find("_completed") != std::string::npos ? "completed"
                                                                         : "";
      CHECK(EventName(q.event) == event);
    } else {
      auto s = [&] {
        testing::AllocationScope scope;
        auto result = ParseScrapeQuery(req.query);
        allocations += scope.allocations();
        return result;
      }();
      REQUIRE(s.ok());
      CHECK(allocations == 0);
      REQUIRE(s.value().info_hashes.size() == 1);
      hashes.insert(*s.value().info_hashes.begin());
    }
  }
  // One torrent per capture run: every request names the same info hash.
  CHECK(hashes.size() == 1);
  // Every client announced; libtorrent and transmission also scraped (aria2 does not
  // scrape HTTP trackers).
  for (const char* want : {"libtorrent_announce", "libtorrent_scrape", "transmission_announce",
                           "transmission_scrape", "aria2_announce"}) {
    CAPTURE(want);
    CHECK(seen.count(want) == 1);
  }
}

}  // namespace
}  // namespace reef::http
