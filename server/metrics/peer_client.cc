#include "server/metrics/peer_client.h"

#include <optional>

namespace reef::metrics {
namespace {

// Label values: plain ASCII, so they print the same everywhere.
constexpr std::string_view kNames[] = {
    "other",
    // Azureus-style codes (kAzureus below).
    "aTorrent", "Ares", "Vuze", "BitComet", "BiglyBT", "BitTorrent", "BitWombat",
    "Enhanced CTorrent", "Deluge", "Free Download Manager", "FrostWire", "Freebox",
    "Halite", "KGet", "KTorrent", "libtorrent", "rTorrent", "LimeWire", "MonoTorrent",
    "PicoTorrent", "qBittorrent", "QQDownload", "reef_load", "Thunder", "Shareaza",
    "Tribler", "Transmission", "TuoTu", "uTorrent Mac", "uTorrent", "uTorrent Web",
    "WebTorrent Desktop", "WebTorrent", "Xunlei",
    // Shadow style and Mainline.
    "ABC", "Osprey Permaseed", "BTQueue", "Shadow", "BitTornado", "Mainline",
    // Exceptions.
    "XBT", "Opera", "MLDonkey", "aria2", "BitTyrant", "Bits on Wheels", "Tixati", "btpd",
    "Pando", "FlashGet", "BitTorrent DNA",
};

constexpr uint16_t IndexOf(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) return static_cast<uint16_t>(i);
  }
  return 0xFFFF;  // a typo below fails the static_assert in Check()
}

struct Code {
  std::string_view code;
  uint16_t client;
};

// "-XX1234-": the two characters after the dash.
constexpr Code kAzureus[] = {
    {"7T", IndexOf("aTorrent")},     {"AG", IndexOf("Ares")},
    {"AZ", IndexOf("Vuze")},         {"BC", IndexOf("BitComet")},
    {"BI", IndexOf("BiglyBT")},      {"BT", IndexOf("BitTorrent")},
    {"BW", IndexOf("BitWombat")},    {"CD", IndexOf("Enhanced CTorrent")},
    {"DE", IndexOf("Deluge")},       {"FD", IndexOf("Free Download Manager")},
    {"FW", IndexOf("FrostWire")},    {"FX", IndexOf("Freebox")},
    {"HL", IndexOf("Halite")},       {"KG", IndexOf("KGet")},
    {"KT", IndexOf("KTorrent")},     {"LT", IndexOf("libtorrent")},
    {"lt", IndexOf("rTorrent")},     {"LW", IndexOf("LimeWire")},
    {"MO", IndexOf("MonoTorrent")},  {"PI", IndexOf("PicoTorrent")},
    {"qB", IndexOf("qBittorrent")},  {"QD", IndexOf("QQDownload")},
    {"RL", IndexOf("reef_load")},    {"SD", IndexOf("Thunder")},
    {"SZ", IndexOf("Shareaza")},     {"TL", IndexOf("Tribler")},
    {"TR", IndexOf("Transmission")}, {"TT", IndexOf("TuoTu")},
    {"UM", IndexOf("uTorrent Mac")}, {"UT", IndexOf("uTorrent")},
    {"UW", IndexOf("uTorrent Web")}, {"WD", IndexOf("WebTorrent Desktop")},
    {"WW", IndexOf("WebTorrent")},   {"XL", IndexOf("Xunlei")},
};

// "S58B--": the first character.
constexpr Code kShadow[] = {
    {"A", IndexOf("ABC")},     {"O", IndexOf("Osprey Permaseed")},
    {"Q", IndexOf("BTQueue")}, {"R", IndexOf("Tribler")},
    {"S", IndexOf("Shadow")},  {"T", IndexOf("BitTornado")},
};

// Peer ids that follow no convention: fixed bytes at an offset.
struct Exception {
  size_t offset;
  std::string_view bytes;
  uint16_t client;
};
constexpr Exception kExceptions[] = {
    {0, "exbc", IndexOf("BitComet")},       {0, "XBT", IndexOf("XBT")},
    {0, "OP", IndexOf("Opera")},            {0, "-ML", IndexOf("MLDonkey")},
    {0, "A2-", IndexOf("aria2")},           {0, "AZ2500BT", IndexOf("BitTyrant")},
    {0, "-BOW", IndexOf("Bits on Wheels")}, {0, "TIX", IndexOf("Tixati")},
    {0, "btpd/", IndexOf("btpd")},          {0, "Pando", IndexOf("Pando")},
    {0, "-FG", IndexOf("FlashGet")},        {0, "DNA", IndexOf("BitTorrent DNA")},
};

constexpr bool Check() {
  for (const Code& c : kAzureus) {
    if (c.client >= std::size(kNames) || c.code.size() != 2) return false;
  }
  for (const Code& c : kShadow) {
    if (c.client >= std::size(kNames) || c.code.size() != 1) return false;
  }
  for (const Exception& e : kExceptions) {
    if (e.client >= std::size(kNames) || e.offset + e.bytes.size() > kPeerIdSize) return false;
  }
  for (size_t i = 0; i < std::size(kNames); ++i) {
    for (size_t j = i + 1; j < std::size(kNames); ++j) {
      if (kNames[i] == kNames[j]) return false;
    }
  }
  return true;
}
static_assert(Check(), "every code names a client in kNames, and no name is there twice");

char At(const PeerId& id, size_t i) { return static_cast<char>(id[i]); }

bool Matches(const PeerId& id, size_t offset, std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (At(id, offset + i) != bytes[i]) return false;
  }
  return true;
}

// A version character: 0-9, then A-Z for 10-35 (rTorrent's "0D" is 0.13).
std::optional<int> VersionDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return std::nullopt;
}

bool IsVersionChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         c == '.';
}

void SetVersion(PeerClient& client, int major, int minor_high, int minor_low = -1) {
  // Each part below 100: at most "99.999", which fits version_chars.
  char buffer[8];
  size_t n = 0;
  auto put = [&](int v) {
    if (v >= 10) buffer[n++] = static_cast<char>('0' + v / 10);
    buffer[n++] = static_cast<char>('0' + v % 10);
  };
  put(major);
  buffer[n++] = '.';
  put(minor_high);
  if (minor_low >= 0) put(minor_low);
  for (size_t i = 0; i < n; ++i) client.version_chars[i] = buffer[i];
  client.version_size = static_cast<uint8_t>(n);
}

// Sets the version from two version characters, if both are ones reef reads.
void SetVersionFrom(PeerClient& client, char major, char minor) {
  std::optional<int> a = VersionDigit(major);
  std::optional<int> b = VersionDigit(minor);
  if (a.has_value() && b.has_value()) SetVersion(client, *a, *b);
}

std::optional<PeerClient> Azureus(const PeerId& id) {
  if (At(id, 0) != '-' || At(id, 7) != '-') return std::nullopt;
  for (size_t i = 3; i < 7; ++i) {
    if (!IsVersionChar(At(id, i))) return std::nullopt;
  }
  PeerClient client;
  for (const Code& code : kAzureus) {
    if (Matches(id, 1, code.code)) {
      client.client = code.client;
      break;
    }
  }
  if (client.is_other()) return client;  // Azureus style, but a client reef does not know
  if (client.client == IndexOf("Transmission") && At(id, 3) >= '0' && At(id, 3) <= '3') {
    // Transmission before 4.0 wrote major, then a two-digit minor: "-TR2940-" is 2.94.
    std::optional<int> major = VersionDigit(At(id, 3));
    std::optional<int> tens = VersionDigit(At(id, 4));
    std::optional<int> ones = VersionDigit(At(id, 5));
    if (major && tens && ones && *tens < 10 && *ones < 10) SetVersion(client, *major, *tens, *ones);
    return client;
  }
  SetVersionFrom(client, At(id, 3), At(id, 4));
  return client;
}

std::optional<PeerClient> Shadow(const PeerId& id) {
  if (At(id, 4) != '-' || At(id, 5) != '-') return std::nullopt;
  for (const Code& code : kShadow) {
    if (At(id, 0) == code.code[0]) {
      PeerClient client;
      client.client = code.client;
      SetVersionFrom(client, At(id, 1), At(id, 2));
      return client;
    }
  }
  return std::nullopt;
}

// "M4-3-6--", "M7-10-2--": M, then major-minor-revision in decimal.
std::optional<PeerClient> Mainline(const PeerId& id) {
  if (At(id, 0) != 'M') return std::nullopt;
  int parts[3] = {0, 0, 0};
  size_t i = 1;
  for (int part = 0; part < 3; ++part) {
    size_t digits = 0;
    while (i < kPeerIdSize && At(id, i) >= '0' && At(id, i) <= '9' && digits < 3) {
      parts[part] = parts[part] * 10 + (At(id, i) - '0');
      ++i, ++digits;
    }
    if (digits == 0 || i >= kPeerIdSize || At(id, i) != '-') return std::nullopt;
    ++i;
  }
  if (i >= kPeerIdSize || At(id, i) != '-') return std::nullopt;  // the second dash
  PeerClient client;
  client.client = IndexOf("Mainline");
  if (parts[0] < 100 && parts[1] < 100) SetVersion(client, parts[0], parts[1]);
  return client;
}

}  // namespace

std::string_view PeerClient::name() const {
  return client < std::size(kNames) ? kNames[client] : kNames[0];
}

std::span<const std::string_view> PeerClientNames() { return kNames; }

PeerClient IdentifyPeerClient(const PeerId& peer_id) {
  for (const Exception& e : kExceptions) {
    if (Matches(peer_id, e.offset, e.bytes)) {
      PeerClient client;
      client.client = e.client;
      return client;
    }
  }
  if (std::optional<PeerClient> c = Azureus(peer_id)) return *c;
  if (std::optional<PeerClient> c = Shadow(peer_id)) return *c;
  if (std::optional<PeerClient> c = Mainline(peer_id)) return *c;
  return PeerClient{};
}

}  // namespace reef::metrics
