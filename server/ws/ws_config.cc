#include "server/ws/ws_config.h"

#include <cstdint>

#include "protocol/ws/frame.h"
#include "protocol/ws/webtorrent.h"
#include "server/common/strings.h"

namespace reef {

ws::ConnectionLimits WsConfig::connection_limits() const {
  ws::ConnectionLimits l;
  l.max_message_size = static_cast<size_t>(max_message_size);
  l.max_outbound_bytes = static_cast<size_t>(max_outbound_size);
  l.ping_interval_ms = absl::ToInt64Milliseconds(ping_interval);
  l.idle_timeout_ms = absl::ToInt64Milliseconds(idle_timeout);
  return l;
}

ws::WebTorrentOptions WsConfig::tracker_options() const {
  ws::WebTorrentOptions o;
  o.announce_interval_s = static_cast<uint32_t>(absl::ToInt64Seconds(announce_interval));
  o.max_offers = static_cast<size_t>(max_offers);
  o.max_scrape_hashes = static_cast<size_t>(max_scrape_hashes);
  o.max_torrents_per_connection = static_cast<size_t>(max_torrents_per_connection);
  o.max_message_size = static_cast<size_t>(max_message_size);
  return o;
}

ws::WebTorrentSwarmConfig WsConfig::swarm_config(int shards) const {
  ws::WebTorrentSwarmConfig c;
  c.shards = static_cast<size_t>(shards);
  c.max_peers = static_cast<uint64_t>(max_peers);
  c.max_torrents = static_cast<uint64_t>(max_torrents);
  c.peer_inactivity_timeout_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(peer_inactivity_timeout));
  return c;
}

namespace {

void CheckWs(const WsConfig& c, config::Problems& problems) {
  if (c.idle_timeout <= c.ping_interval) {
    problems.Add("idle_timeout_seconds",
                 StrCat("must be longer than ws.ping_interval_seconds (",
                        absl::ToInt64Seconds(c.ping_interval),
                        " s): a connection is pinged before it is given up, got ",
                        absl::ToInt64Seconds(c.idle_timeout)));
  }
  const int64_t one_frame = int64_t{c.max_message_size} + int64_t{ws::kMaxFrameHeaderSize};
  if (c.max_outbound_size < one_frame) {
    problems.Add("max_outbound_size",
                 StrCat("must hold at least one message of ws.max_message_size (", one_frame,
                        " bytes with its frame header), got ", c.max_outbound_size));
  }
}

}  // namespace

const config::Section<WsConfig>& WsSection() {
  static const auto* section = [] {
    auto* s = new config::Section<WsConfig>(
        "ws",
        "The WebTorrent tracker: WebSocket (RFC 6455) upgrades on the [http] listeners, so\n"
        "ws:// and wss:// share the HTTP and HTTPS ports. Browsers announce over the\n"
        "WebSocket and reef relays their WebRTC offers and answers to other peers of the\n"
        "torrent. WebTorrent peers are a swarm of their own: never given to UDP or HTTP\n"
        "clients, nor theirs to browsers, and counted apart.");
    s->Key("enabled", &WsConfig::enabled, config::Bool(),
           "Answer WebSocket upgrades on the HTTP(S) listeners. Off: such requests are answered\n"
           "as plain HTTP requests, and the ports serve HTTP only. WebTorrent has no listener\n"
           "of its own: with [http] enabled = false it is off too.");
    s->Key("announce_interval_seconds", &WsConfig::announce_interval, config::Seconds(1),
           "Seconds a browser should wait between announces, sent in every announce response\n"
           "(and as a scrape's min_request_interval). 120 is what browsers get from\n"
           "bittorrent-tracker, the tracker most WebTorrent sites run: they re-announce that\n"
           "often to keep getting fresh offers.");
    s->Key("max_message_size", &WsConfig::max_message_size,
           config::Int(static_cast<int>(ws::kMinMessageSize),
                       static_cast<int>(ws::kMaxMessageSizeLimit)),
           "The largest message (and frame) a client may send, in bytes, 1 KiB to 16 MiB; a\n"
           "bigger one closes the connection with code 1009 as soon as its frame header says\n"
           "so. An announce with ten offers of about 1 KiB of SDP each is ~12 KiB; 64 KiB\n"
           "leaves room for SDPs with many ICE candidates and bounds what a connection holds.");
    s->Key("max_outbound_size", &WsConfig::max_outbound_size,
           config::Int(static_cast<int>(ws::kMinMessageSize),
                       static_cast<int>(ws::kMaxOutboundBytesLimit)),
           "Bytes queued for one client, beyond what its TCP connection already buffers. At\n"
           "the limit reef stops reading from the client, and offers and answers relayed to\n"
           "it are dropped and counted: a browser that does not read can never make reef\n"
           "grow. At least one message (max_message_size plus a frame header). 256 KiB holds\n"
           "more than 150 relayed offers.");
    s->Key("ping_interval_seconds", &WsConfig::ping_interval, config::Seconds(1),
           "A connection silent this long gets a WebSocket ping. Browsers announce every\n"
           "announce_interval_seconds, so only idle ones are pinged; a ping also keeps NAT and proxy\n"
           "mappings of the TCP connection alive.");
    s->Key("idle_timeout_seconds", &WsConfig::idle_timeout, config::Seconds(2),
           "A connection silent this long (no message and no answer to the ping) is closed\n"
           "and its peers leave their swarms. Longer than ping_interval_seconds; 150 s covers a\n"
           "browser that announces every 120 s and a slow answer to a ping.");
    s->Key("max_offers", &WsConfig::max_offers,
           config::Int(1, static_cast<int>(ws::kMaxOffers), "the WebTorrent parser's limit"),
           "Offers in one announce; more is refused with a failure reason. Browsers send 5;\n"
           "each offer goes to a different peer, so this caps how many peers one announce\n"
           "makes reef write to.");
    s->Key("max_scrape_hashes", &WsConfig::max_scrape_hashes,
           config::Int(1, static_cast<int>(ws::kMaxScrapeInfoHashes),
                       "the WebTorrent parser's limit"),
           "Info hashes in one scrape; more is refused with a failure reason.");
    s->Key("max_torrents_per_connection", &WsConfig::max_torrents_per_connection,
           config::Int(1, static_cast<int>(ws::kMaxTorrentsPerConnectionLimit)),
           "Swarm entries (torrent and peer id) one connection may hold; one more is refused\n"
           "with a failure reason. A page shares one WebSocket per tracker for all its\n"
           "torrents; 100 is far more than a page holds and bounds what one connection can\n"
           "make the swarm hold.");
    s->Key("max_peers", &WsConfig::max_peers, config::Int(1, kMaxWsPeers),
           "WebTorrent peers the tracker holds, over all torrents, shared out evenly over the\n"
           "[swarm] shards; past it, a new peer gets \"tracker is full\" while known ones keep\n"
           "announcing. About 160 bytes each (webtorrent_benchmark): 4 million are ~640 MiB.");
    s->Key("max_torrents", &WsConfig::max_torrents, config::Int(1, kMaxWsTorrents),
           "WebTorrent torrents the tracker holds; past it, a new torrent gets \"tracker is\n"
           "full\". A torrent leaves as soon as its last peer does.");
    s->Key("peer_inactivity_timeout_seconds", &WsConfig::peer_inactivity_timeout, config::Seconds(1),
           "A peer that has not announced (or answered an offer) for this long is removed by\n"
           "the cleaner although its connection is still open: a page that stopped a torrent\n"
           "without saying so. Ten announce intervals. Peers of closed connections leave at\n"
           "once, whatever this says.");
    s->Key("relay_queue_size", &WsConfig::relay_queue_size,
           config::Int(0, static_cast<int>(ws::kMaxRelayQueueBytes)),
           "Bytes of the queue that carries offers and answers from one [http] socket worker\n"
           "to another (one queue per pair of workers, never locked, never waited for; a\n"
           "full one drops the message and counts it). Rounded up to a power of two and to\n"
           "at least two of the largest relayed messages. 1 MiB holds ~600 offers.");
    s->Check(&CheckWs);
    return s;
  }();
  return *section;
}

}  // namespace reef
