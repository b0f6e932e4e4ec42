#include "server/metrics/peer_client.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "testing/alloc_counter.h"

namespace reef::metrics {
namespace {

// A peer id from its prefix, padded to 20 bytes with `fill`.
PeerId Id(std::string_view prefix, char fill = 'x') {
  std::string bytes(prefix);
  bytes.resize(kPeerIdSize, fill);
  return *PeerId::FromString(bytes);
}

struct Case {
  std::string_view peer_id;
  std::string_view name;
  std::string_view version;
};

TEST_CASE("real clients' peer ids") {
  const Case cases[] = {
      // Azureus style.
      {"-qB4500-", "qBittorrent", "4.5"},
      {"-qB4630-", "qBittorrent", "4.6"},
      {"-TR2940-", "Transmission", "2.94"},  // before 4.0: major, two-digit minor
      {"-TR3000-", "Transmission", "3.00"},
      {"-TR4060-", "Transmission", "4.0"},
      {"-LT2080-", "libtorrent", "2.0"},     // python3-libtorrent 2.0.8, as in tests/
      {"-lt0D80-", "rTorrent", "0.13"},      // libtorrent-rakshasa: D is 13
      {"-UT355W-", "uTorrent", "3.5"},
      {"-UM1870-", "uTorrent Mac", "1.8"},
      {"-DE211s-", "Deluge", "2.1"},
      {"-WW0105-", "WebTorrent", "0.1"},
      {"-BI3610-", "BiglyBT", "3.6"},
      {"-AZ5770-", "Vuze", "5.7"},
      {"-BC0213-", "BitComet", "0.2"},
      {"-RL0001-", "reef_load", "0.0"},
      // Shadow style.
      {"S58B-----", "Shadow", "5.8"},
      {"T03I--", "BitTornado", "0.3"},
      {"A310--", "ABC", "3.1"},
      // Mainline style.
      {"M4-3-6--", "Mainline", "4.3"},
      {"M7-10-2--", "Mainline", "7.10"},
      // Exceptions.
      {"exbc\x01\x02", "BitComet", ""},
      {"XBT054d-", "XBT", ""},
      {"OP1011", "Opera", ""},
      {"-ML2.7.2-", "MLDonkey", ""},
      {"A2-1-36-0-", "aria2", ""},
      {"AZ2500BT", "BitTyrant", ""},
      {"-BOW02A-", "Bits on Wheels", ""},
      {"TIX0193-", "Tixati", ""},
      {"btpd/0.16", "btpd", ""},
  };
  for (const Case& c : cases) {
    const PeerClient client = IdentifyPeerClient(Id(c.peer_id));
    INFO(c.peer_id);
    CHECK(client.name() == c.name);
    CHECK(client.version() == c.version);
  }
}

TEST_CASE("anything else is \"other\", with no version") {
  const std::string_view others[] = {
      "-ZZ1234-",    // Azureus style, a code reef does not list
      "-qB45\x01" "0-",  // a version byte that is not a version character
      "-qB4500x",    // no closing dash
      "Z58B--",      // Shadow style, a letter reef does not list
      "M4-3-6-x",    // Mainline without its second dash
      "M-3-6--",     // Mainline without a major version
      "hello world",
  };
  for (std::string_view id : others) {
    INFO(id);
    const PeerClient client = IdentifyPeerClient(Id(id));
    CHECK(client.is_other());
    CHECK(client.name() == "other");
    CHECK(client.version().empty());
  }
  CHECK(IdentifyPeerClient(PeerId{}).is_other());  // all zero bytes
  CHECK(IdentifyPeerClient(Id("", '\xFF')).is_other());
}

TEST_CASE("the label values are bounded: names from the table, versions of digits and one dot") {
  // Every byte value in every position that matters, with prefixes that reach each rule.
  std::set<std::string_view> names;
  bool versions_ok = true;
  const std::string_view prefixes[] = {"-qB", "-TR", "-ZZ", "S", "T", "M", "-lt"};
  const std::string_view suffixes[] = {"00--0-", "0--", "-0--"};
  for (std::string_view prefix : prefixes) {
    for (std::string_view suffix : suffixes) {
      for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; b += 5) {
          std::string id(prefix);
          id += static_cast<char>(static_cast<unsigned char>(a));
          id += static_cast<char>(static_cast<unsigned char>(b));
          id += suffix;
          const PeerClient client = IdentifyPeerClient(Id(id));
          names.insert(client.name());
          versions_ok &= client.version().size() <= 6;
          for (char c : client.version()) versions_ok &= (c >= '0' && c <= '9') || c == '.';
        }
      }
    }
  }
  CHECK(versions_ok);
  CHECK(names.size() > 5);  // the loop reached several rules
  for (std::string_view name : names) {
    bool listed = false;
    for (std::string_view known : PeerClientNames()) listed |= known == name;
    CHECK(listed);
  }
  CHECK(PeerClientNames().size() < 100);
  CHECK(PeerClientNames()[0] == "other");
}

TEST_CASE("identifying a peer id allocates nothing") {
  const PeerId ids[] = {Id("-qB4500-"), Id("M4-3-6--"), Id("S58B--"), Id("exbc"), PeerId{}};
  reef::testing::AllocationScope scope;
  size_t named = 0;
  for (const PeerId& id : ids) named += IdentifyPeerClient(id).is_other() ? 0u : 1u;
  CHECK(scope.allocations() == 0);
  CHECK(named == 4);
}

}  // namespace
}  // namespace reef::metrics
