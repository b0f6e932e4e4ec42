#include "server/ws/webtorrent_tracker.h"

#include <algorithm>
#include <array>
#include <limits>
#include <variant>

#include "absl/strings/str_cat.h"
#include "protocol/ws/frame.h"

namespace reef::ws {
namespace {

// Room in a frame for what the tracker adds to a relayed SDP: three binary strings of up
// to 120 characters each (every byte escaped as \u00XX), the keys and punctuation.
constexpr size_t kRelayOverhead = 1024;
// The longest scrape response: per info hash a key of up to 122 characters and three
// counts of up to 20 digits with their keys, ~230 bytes; 256 each with the flags.
constexpr size_t kScrapeBytesPerHash = 256;
// Unmasked server frames have at most 10 header bytes.
constexpr size_t kServerHeaderMax = 10;

PeerEvent ToPeerEvent(AnnounceEvent e) {
  switch (e) {
    case AnnounceEvent::kStarted: return PeerEvent::kStarted;
    case AnnounceEvent::kStopped: return PeerEvent::kStopped;
    case AnnounceEvent::kCompleted: return PeerEvent::kCompleted;
    default: return PeerEvent::kUpdate;
  }
}

uint64_t Count(uint32_t n) { return n; }

}  // namespace

absl::Status ValidateWebTorrentOptions(const WebTorrentOptions& o) {
  if (o.announce_interval_s < 1) {
    return absl::InvalidArgumentError("announce_interval must be at least 1 s");
  }
  if (o.max_offers < 1 || o.max_offers > kMaxOffers) {
    return absl::InvalidArgumentError(absl::StrCat("max_offers must be 1..", kMaxOffers));
  }
  if (o.max_scrape_hashes < 1 || o.max_scrape_hashes > kMaxScrapeInfoHashes) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_scrape_hashes must be 1..", kMaxScrapeInfoHashes));
  }
  if (o.max_torrents_per_connection < 1 ||
      o.max_torrents_per_connection > kMaxTorrentsPerConnectionLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_torrents_per_connection must be 1..",
                                                   kMaxTorrentsPerConnectionLimit));
  }
  if (o.max_message_size < kMinMessageSize || o.max_message_size > kMaxMessageSizeLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_size must be ", kMinMessageSize,
                                                   "..", kMaxMessageSizeLimit, " bytes"));
  }
  return absl::OkStatus();
}

size_t WebTorrentTracker::RelayBufferSize(const WebTorrentOptions& options) {
  return kServerHeaderMax + std::max(options.max_message_size + kRelayOverhead,
                                     kScrapeBytesPerHash * kMaxScrapeInfoHashes + kRelayOverhead);
}

WebTorrentTracker::WebTorrentTracker(const WebTorrentOptions& options, WebTorrentSwarm& swarm,
                                     const AccessList& access_list, Relay& relay,
                                     uint64_t rng_seed)
    : options_(options),
      swarm_(swarm),
      access_list_(access_list),
      relay_(relay),
      rng_(rng_seed),
      buffer_size_(RelayBufferSize(options)),
      buffer_data_(new uint8_t[buffer_size_]),
      buffer_(buffer_data_.get(), buffer_size_) {}

template <typename Message>
std::span<const uint8_t> WebTorrentTracker::BuildFrame(const Message& message) {
  // The JSON goes after room for the longest header; the header is written right before
  // it, so the frame is contiguous without a move.
  const WriteResult json = WriteMessage(buffer_.subspan(kServerHeaderMax),
                                        message);
  if (!json.ok()) return {};
  const size_t header = FrameHeaderSize(json.length(), /*masked=*/false);
  const size_t start = kServerHeaderMax - header;
  const WriteResult written = WriteFrameHeader(buffer_.subspan(start, header),
                                               true, Opcode::kText, json.length());
  if (!written.ok()) return {};
  return buffer_.subspan(start, header + json.length());
}

template <typename Message>
void WebTorrentTracker::Reply(WsConnection& connection, const Message& message) {
  const WriteResult json = WriteMessage(buffer_, message);
  if (json.ok()) connection.SendText(std::span<const uint8_t>(buffer_.data(), json.length()));
}

void WebTorrentTracker::SendError(WsConnection& connection, std::optional<Action> action,
                                  std::optional<InfoHash> info_hash, std::string_view reason) {
  Bump(stats_.errors_sent);
  ErrorResponse error;
  error.action = action;
  error.info_hash = info_hash;
  error.SetFailureReason(reason);
  Reply(connection, error);
}

void WebTorrentTracker::OnMessage(PeerSession& session, WsConnection& connection,
                                  std::string_view message, int64_t now_s) {
  const auto parsed = ParseClientMessage(message);
  if (!parsed.ok()) {
    SendError(connection, std::nullopt, std::nullopt, ErrorReason(parsed.error()));
    return;
  }
  if (const auto* scrape = std::get_if<ScrapeRequest>(&parsed.value())) {
    Scrape(connection, *scrape);
    return;
  }
  const auto& announce = std::get<AnnounceRequest>(parsed.value());
  if (!access_list_.Allows(announce.info_hash)) {
    Bump(stats_.refused_access);
    SendError(connection, Action::kAnnounce, announce.info_hash, kReasonNotAllowed);
    return;
  }
  if (!announce.answer.empty()) {
    Answer(session, announce, now_s);
    return;
  }
  Announce(session, connection, announce, now_s);
}

void WebTorrentTracker::Announce(PeerSession& session, WsConnection& connection,
                                 const AnnounceRequest& request, int64_t now_s) {
  const std::span<const Offer> offers = request.offers();
  if (offers.size() > options_.max_offers) {
    SendError(connection, Action::kAnnounce, request.info_hash, kReasonTooManyOffers);
    return;
  }
  const auto entry = std::find_if(session.entries.begin(), session.entries.end(),
                                  [&](const PeerSession::Entry& e) {
                                    return e.info_hash == request.info_hash &&
                                           e.peer_id == request.peer_id;
                                  });
  const bool known = entry != session.entries.end();
  if (!known && request.event != AnnounceEvent::kStopped &&
      session.entries.size() >= options_.max_torrents_per_connection) {
    Bump(stats_.refused_too_many_torrents);
    SendError(connection, Action::kAnnounce, request.info_hash, kReasonTooManyTorrents);
    return;
  }
  Bump(stats_.announces);

  PeerAnnounce a;
  a.info_hash = request.info_hash;
  a.peer_id = request.peer_id;
  a.connection = session.handle;
  a.event = ToPeerEvent(request.event);
  a.seeder = request.left.has_value() ? *request.left == 0
                                      : request.event == AnnounceEvent::kCompleted;
  const uint64_t wanted = std::min<uint64_t>(offers.size(), request.numwant.value_or(offers.size()));
  a.receivers_wanted = static_cast<uint32_t>(wanted);
  std::array<ConnectionHandle, kMaxOffers> receivers;
  const AnnounceOutcome outcome = swarm_.Announce(a, now_s, receivers, rng_);
  switch (outcome.status) {
    case AnnounceStatus::kNotOwner:
      // A remembered entry the cleaner removed and another connection then took.
      if (known) {
        *entry = session.entries.back();
        session.entries.pop_back();
      }
      Bump(stats_.refused_not_owner);
      SendError(connection, Action::kAnnounce, request.info_hash, kReasonPeerIdInUse);
      return;
    case AnnounceStatus::kFull:
      Bump(stats_.refused_full);
      SendError(connection, Action::kAnnounce, request.info_hash, kReasonTrackerFull);
      return;
    case AnnounceStatus::kOk:
      break;
  }
  if (outcome.added && !known) {
    session.entries.push_back({request.info_hash, request.peer_id});
  } else if (outcome.removed && known) {
    *entry = session.entries.back();
    session.entries.pop_back();
  }

  AnnounceResponse response;
  response.info_hash = request.info_hash;
  response.complete = Count(outcome.counts.seeders);
  response.incomplete = Count(outcome.counts.leechers);
  response.interval = options_.announce_interval_s;
  Reply(connection, response);

  for (uint32_t i = 0; i < outcome.receivers; ++i) {
    OfferMessage offer;
    offer.info_hash = request.info_hash;
    offer.peer_id = request.peer_id;
    offer.offer_id = offers[i].offer_id;
    offer.offer = offers[i].offer;
    const auto frame = BuildFrame(offer);
    if (frame.empty()) {
      Bump(stats_.relay_too_big);
      continue;
    }
    Bump(stats_.offers_relayed);
    relay_.Deliver(receivers[i], frame);
  }
}

void WebTorrentTracker::Answer(PeerSession& session, const AnnounceRequest& request,
                               int64_t now_s) {
  Bump(stats_.answers);
  // The parser guarantees both for a message with an answer.
  if (!request.to_peer_id.has_value() || !request.offer_id.has_value()) return;
  const AnswerRoute route = swarm_.RouteAnswer(request.info_hash, request.peer_id,
                                               session.handle, *request.to_peer_id, now_s);
  switch (route.status) {
    case AnswerStatus::kNotInSwarm:
      Bump(stats_.answers_not_in_swarm);
      return;
    case AnswerStatus::kNoSuchPeer:
      Bump(stats_.answers_no_peer);
      return;
    case AnswerStatus::kForward:
      break;
  }
  AnswerMessage answer;
  answer.info_hash = request.info_hash;
  answer.peer_id = request.peer_id;
  answer.offer_id = *request.offer_id;
  answer.answer = request.answer;
  const auto frame = BuildFrame(answer);
  if (frame.empty()) {
    Bump(stats_.relay_too_big);
    return;
  }
  Bump(stats_.answers_relayed);
  relay_.Deliver(route.to, frame);
}

void WebTorrentTracker::Scrape(WsConnection& connection, const ScrapeRequest& request) {
  if (request.info_hashes().size() > options_.max_scrape_hashes) {
    SendError(connection, Action::kScrape, std::nullopt, kReasonTooManyInfoHashes);
    return;
  }
  Bump(stats_.scrapes);
  ScrapeResponse response;
  response.min_request_interval = options_.announce_interval_s;
  for (const InfoHash& info_hash : request.info_hashes()) {
    ScrapeFile file;
    file.info_hash = info_hash;
    // A refused hash scrapes as unknown, without saying whether the list holds it.
    if (access_list_.Allows(info_hash)) {
      const SwarmCounts counts = swarm_.Scrape(info_hash);
      file.complete = counts.seeders;
      file.incomplete = counts.leechers;
      file.downloaded = counts.completed;
    }
    // The same hash twice is one key in the response object, as in bittorrent-tracker.
    const auto files = response.files();
    if (std::none_of(files.begin(), files.end(),
                     [&](const ScrapeFile& f) { return f.info_hash == info_hash; })) {
      response.Add(file);
    }
  }
  Reply(connection, response);
}

void WebTorrentTracker::OnClosing(PeerSession& session) {
  for (const PeerSession::Entry& e : session.entries) {
    if (swarm_.Remove(e.info_hash, e.peer_id, session.handle)) {
      Bump(stats_.entries_removed_on_close);
    }
  }
  std::vector<PeerSession::Entry>().swap(session.entries);
}

}  // namespace reef::ws
