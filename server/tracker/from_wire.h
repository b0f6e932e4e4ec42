// Each protocol's announce, in the core's terms (tracker.h): the one place that says what
// a field of UDP (BEP 15), HTTP (BEP 3, 23) or WebTorrent means to the core.
//
//   field       UDP                       HTTP                      WebTorrent
//   event       none/started/stopped/     paused (BEP 21) -> none   update, paused, empty
//               completed as they are                               -> none
//   left        negative -> not given     absent -> not given       absent/null -> not given
//   num_want    negative (-1) -> not      absent/negative -> not    absent -> not given;
//               given                     given                     above 2^32-1 capped
//   port        announced port            port=                     none (WebRTC peers
//                                                                   have no endpoint: 0)
//   ip          ignored                   ip=, ipv4=, ipv6= ignored —
//
// A WebTorrent announce is never passed to Tracker::Announce (its peers are not
// endpoints; see torrent_store.h); the WebTorrent server applies the same rules to it
// (CheckInfoHash, PeersWanted, IsSeeder, the event) on its own store path.
#ifndef REEF_SERVER_TRACKER_FROM_WIRE_H_
#define REEF_SERVER_TRACKER_FROM_WIRE_H_

#include "protocol/http/query.h"
#include "protocol/udp/messages.h"
#include "protocol/ws/webtorrent.h"
#include "server/tracker/tracker.h"

namespace reef::tracker {

Event EventFrom(udp::AnnounceEvent event);
Event EventFrom(http::Event event);
Event EventFrom(ws::AnnounceEvent event);

AnnounceRequest FromUdp(const udp::AnnounceRequest& request);
AnnounceRequest FromHttp(const http::AnnounceRequest& request);
AnnounceRequest FromWebTorrent(const ws::AnnounceRequest& request);

}  // namespace reef::tracker

#endif  // REEF_SERVER_TRACKER_FROM_WIRE_H_
