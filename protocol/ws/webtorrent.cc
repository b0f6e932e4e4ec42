#include "protocol/ws/webtorrent.h"

#include <algorithm>

#include "protocol/ws/json.h"
#include "protocol/ws/utf8.h"

namespace reef::ws {

bool AnnounceRequest::AddOffer(const Offer& offer) {
  if (offer_count >= kMaxOffers) return false;
  offer_storage[offer_count++] = offer;
  has_offers = true;
  return true;
}

bool operator==(const AnnounceRequest& a, const AnnounceRequest& b) {
  return a.info_hash == b.info_hash && a.peer_id == b.peer_id && a.event == b.event &&
         a.numwant == b.numwant && a.uploaded == b.uploaded && a.downloaded == b.downloaded &&
         a.left == b.left && a.has_offers == b.has_offers &&
         std::equal(a.offers().begin(), a.offers().end(), b.offers().begin(),
                    b.offers().end()) &&
         a.to_peer_id == b.to_peer_id && a.offer_id == b.offer_id && a.answer == b.answer;
}

bool ScrapeRequest::Add(const InfoHash& h) {
  if (count >= kMaxScrapeInfoHashes) return false;
  info_hash_storage[count++] = h;
  return true;
}

bool operator==(const ScrapeRequest& a, const ScrapeRequest& b) {
  return a.as_array == b.as_array && std::equal(a.info_hashes().begin(), a.info_hashes().end(),
                                                b.info_hashes().begin(), b.info_hashes().end());
}

bool ScrapeResponse::Add(const ScrapeFile& f) {
  if (count >= kMaxScrapeInfoHashes) return false;
  file_storage[count++] = f;
  return true;
}

bool operator==(const ScrapeResponse& a, const ScrapeResponse& b) {
  return a.min_request_interval == b.min_request_interval &&
         std::equal(a.files().begin(), a.files().end(), b.files().begin(), b.files().end());
}

bool ErrorResponse::SetFailureReason(std::string_view text) {
  if (text.size() > kMaxFailureReasonSize) return false;
  std::copy(text.begin(), text.end(), reason_.begin());
  reason_size_ = text.size();
  return true;
}

bool operator==(const ErrorResponse& a, const ErrorResponse& b) {
  return a.action == b.action && a.info_hash == b.info_hash &&
         a.failure_reason() == b.failure_reason();
}

// --- Parsing ---

namespace {

// Keys the parsers read. Each has a bit, so a duplicate is seen at once.
enum Key : uint32_t {
  kAction,
  kInfoHash,
  kPeerId,
  kEvent,
  kNumwant,
  kUploaded,
  kDownloaded,
  kLeft,
  kOffers,
  kToPeerId,
  kOfferId,
  kAnswer,
  kOffer,
  kComplete,
  kIncomplete,
  kInterval,
  kFiles,
  kFlags,
  kFailureReason,
  kMinRequestInterval,
  kNumKeys,
};

constexpr std::array<std::string_view, kNumKeys> kKeyNames = {
    "action",   "info_hash", "peer_id",  "event",      "numwant",        "uploaded",
    "downloaded", "left",    "offers",   "to_peer_id", "offer_id",       "answer",
    "offer",    "complete",  "incomplete", "interval", "files",          "flags",
    "failure reason", "min_request_interval",
};

// Which known key `key` is, among `allowed`; kNumKeys if none.
Key Lookup(JsonString key, std::initializer_list<Key> allowed) {
  for (Key k : allowed) {
    if (JsonStringEquals(key, kKeyNames[k])) return k;
  }
  return kNumKeys;
}

// The members of one object seen so far.
class SeenKeys {
 public:
  // False if `k` was seen before.
  bool Insert(Key k) {
    const uint32_t bit = uint32_t{1} << k;
    if ((bits_ & bit) != 0) return false;
    bits_ |= bit;
    return true;
  }
  bool Has(Key k) const { return (bits_ & (uint32_t{1} << k)) != 0; }

 private:
  uint32_t bits_ = 0;
};

// Each reader returns true on success; on failure the caller reports kInvalidJson if the
// reader failed (the text is not JSON) and its own field error otherwise.
bool Is(JsonReader& r, JsonType want) {
  JsonType type;
  return r.Peek(&type) && type == want;
}

bool ReadBinary20(JsonReader& r, FixedBytes<20>* out) {
  JsonString s;
  if (!Is(r, JsonType::kString) || !r.ReadString(&s)) return false;
  auto value = DecodeBinaryFixed<20>(s);
  if (!value) return false;
  *out = *value;
  return true;
}

// A count: a non-negative integer, or null for "not given".
bool ReadCount(JsonReader& r, std::optional<uint64_t>* out) {
  JsonType type;
  if (!r.Peek(&type)) return false;
  if (type == JsonType::kNull) {
    *out = std::nullopt;
    return r.ReadNull();
  }
  if (type != JsonType::kNumber) return false;
  // ReadUint64 fails the reader (kWrongType) on -1 or 1.5: the text is still JSON, so
  // validate it as a number first and convert separately.
  std::string_view raw;
  if (!r.ReadNumber(&raw)) return false;
  uint64_t value = 0;
  for (char c : raw) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool ReadCount(JsonReader& r, uint64_t* out) {
  std::optional<uint64_t> v;
  if (!ReadCount(r, &v) || !v) return false;
  *out = *v;
  return true;
}

// A JSON object, kept as its raw text.
bool ReadRawObject(JsonReader& r, std::string_view* out) {
  return Is(r, JsonType::kObject) && r.SkipValue(out);
}

bool ReadEvent(JsonReader& r, AnnounceEvent* out) {
  JsonString s;
  if (!Is(r, JsonType::kString) || !r.ReadString(&s)) return false;
  for (AnnounceEvent e : {AnnounceEvent::kStarted, AnnounceEvent::kStopped,
                          AnnounceEvent::kCompleted, AnnounceEvent::kUpdate,
                          AnnounceEvent::kPaused, AnnounceEvent::kEmpty}) {
    if (JsonStringEquals(s, EventName(e))) {
      *out = e;
      return true;
    }
  }
  return false;
}

bool ReadAction(JsonReader& r, std::optional<Action>* out) {
  JsonString s;
  if (!Is(r, JsonType::kString) || !r.ReadString(&s)) return false;
  if (JsonStringEquals(s, "announce")) {
    *out = Action::kAnnounce;
  } else if (JsonStringEquals(s, "scrape")) {
    *out = Action::kScrape;
  } else {
    *out = std::nullopt;
  }
  return true;
}

}  // namespace

// Parses into the message types; a friend of ErrorResponse.
struct MessageParser {
  using ClientResult = ParseResult<ClientMessage, MessageError>;
  using ServerResult = ParseResult<ServerMessage, MessageError>;

  explicit MessageParser(std::string_view json) : json_(json), r_(json) {}

  // The error to report after a field reader returned false.
  MessageError Field(MessageError e) const { return r_.ok() ? e : MessageError::kInvalidJson; }

  // Reads the whole "offers" array.
  bool ReadOffers(AnnounceRequest* a, MessageError* error) {
    a->has_offers = true;
    if (!Is(r_, JsonType::kArray) || !r_.EnterArray()) {
      *error = Field(MessageError::kBadOffers);
      return false;
    }
    while (r_.NextElement()) {
      if (a->offer_count == kMaxOffers) {
        *error = MessageError::kTooManyOffers;
        return false;
      }
      if (!Is(r_, JsonType::kObject) || !r_.EnterObject()) {
        *error = Field(MessageError::kBadOffers);
        return false;
      }
      Offer offer;
      SeenKeys seen;
      JsonString key;
      while (r_.NextMember(&key)) {
        const Key k = Lookup(key, {kOfferId, kOffer});
        if (k != kNumKeys && !seen.Insert(k)) {
          *error = MessageError::kDuplicateKey;
          return false;
        }
        bool ok = true;
        switch (k) {
          case kOfferId:
            if (!(ok = ReadBinary20(r_, &offer.offer_id))) *error = Field(MessageError::kBadOfferId);
            break;
          case kOffer:
            if (!(ok = ReadRawObject(r_, &offer.offer))) *error = Field(MessageError::kBadOffer);
            break;
          default:
            if (!(ok = r_.SkipValue())) *error = MessageError::kInvalidJson;
        }
        if (!ok) return false;
      }
      if (!r_.ok()) {
        *error = MessageError::kInvalidJson;
        return false;
      }
      if (!seen.Has(kOfferId)) {
        *error = MessageError::kMissingOfferId;
        return false;
      }
      if (!seen.Has(kOffer)) {
        *error = MessageError::kBadOffers;
        return false;
      }
      a->offer_storage[a->offer_count++] = offer;
    }
    if (!r_.ok()) {
      *error = MessageError::kInvalidJson;
      return false;
    }
    return true;
  }

  // "info_hash" of a client message: one string, or (scrape only) an array of them.
  bool ReadClientInfoHash(AnnounceRequest* a, ScrapeRequest* s, MessageError* error) {
    JsonType type;
    if (!r_.Peek(&type)) {
      *error = MessageError::kInvalidJson;
      return false;
    }
    if (type == JsonType::kString) {
      if (!ReadBinary20(r_, &a->info_hash)) {
        *error = Field(MessageError::kBadInfoHash);
        return false;
      }
      s->Add(a->info_hash);
      return true;
    }
    if (type != JsonType::kArray) {
      *error = MessageError::kBadInfoHash;
      return false;
    }
    s->as_array = true;
    r_.EnterArray();
    while (r_.NextElement()) {
      InfoHash h;
      if (!ReadBinary20(r_, &h)) {
        *error = Field(MessageError::kBadInfoHash);
        return false;
      }
      if (!s->Add(h)) {
        *error = MessageError::kTooManyInfoHashes;
        return false;
      }
    }
    if (!r_.ok()) {
      *error = MessageError::kInvalidJson;
      return false;
    }
    return true;
  }

  ClientResult ParseClient() {
    if (!Is(r_, JsonType::kObject)) {
      return ClientResult::Fail(Field(MessageError::kNotAnObject));
    }
    r_.EnterObject();
    AnnounceRequest a;
    ScrapeRequest s;
    std::optional<Action> action;
    SeenKeys seen;
    JsonString key;
    MessageError error = MessageError::kInvalidJson;
    while (r_.NextMember(&key)) {
      const Key k = Lookup(key, {kAction, kInfoHash, kPeerId, kEvent, kNumwant, kUploaded,
                                 kDownloaded, kLeft, kOffers, kToPeerId, kOfferId, kAnswer});
      if (k != kNumKeys && !seen.Insert(k)) return ClientResult::Fail(MessageError::kDuplicateKey);
      bool ok = true;
      switch (k) {
        case kAction:
          ok = ReadAction(r_, &action) && action.has_value();
          if (!ok) error = Field(MessageError::kUnknownAction);
          break;
        case kInfoHash:
          ok = ReadClientInfoHash(&a, &s, &error);
          break;
        case kPeerId:
          if (!(ok = ReadBinary20(r_, &a.peer_id))) error = Field(MessageError::kBadPeerId);
          break;
        case kEvent:
          if (!(ok = ReadEvent(r_, &a.event))) error = Field(MessageError::kBadEvent);
          break;
        case kNumwant:
          if (!(ok = ReadCount(r_, &a.numwant))) error = Field(MessageError::kBadNumber);
          break;
        case kUploaded:
          if (!(ok = ReadCount(r_, &a.uploaded))) error = Field(MessageError::kBadNumber);
          break;
        case kDownloaded:
          if (!(ok = ReadCount(r_, &a.downloaded))) error = Field(MessageError::kBadNumber);
          break;
        case kLeft:
          if (!(ok = ReadCount(r_, &a.left))) error = Field(MessageError::kBadNumber);
          break;
        case kOffers:
          ok = ReadOffers(&a, &error);
          break;
        case kToPeerId: {
          PeerId p;
          if (!(ok = ReadBinary20(r_, &p))) error = Field(MessageError::kBadToPeerId);
          a.to_peer_id = p;
          break;
        }
        case kOfferId: {
          OfferId o;
          if (!(ok = ReadBinary20(r_, &o))) error = Field(MessageError::kBadOfferId);
          a.offer_id = o;
          break;
        }
        case kAnswer:
          if (!(ok = ReadRawObject(r_, &a.answer))) error = Field(MessageError::kBadAnswer);
          break;
        default:
          ok = r_.SkipValue();
          error = MessageError::kInvalidJson;
      }
      if (!ok) return ClientResult::Fail(error);
    }
    if (!r_.Finish()) return ClientResult::Fail(MessageError::kInvalidJson);
    if (!seen.Has(kAction)) return ClientResult::Fail(MessageError::kMissingAction);
    if (*action == Action::kScrape) {
      if (!seen.Has(kInfoHash)) return ClientResult::Fail(MessageError::kFullScrape);
      return ClientResult::Ok(s, json_.size());
    }
    if (!seen.Has(kInfoHash)) return ClientResult::Fail(MessageError::kMissingInfoHash);
    if (s.as_array) return ClientResult::Fail(MessageError::kBadInfoHash);
    if (!seen.Has(kPeerId)) return ClientResult::Fail(MessageError::kMissingPeerId);
    if (seen.Has(kAnswer)) {
      if (!a.to_peer_id) return ClientResult::Fail(MessageError::kMissingToPeerId);
      if (!a.offer_id) return ClientResult::Fail(MessageError::kMissingOfferId);
    }
    return ClientResult::Ok(a, json_.size());
  }

  // "files" of a scrape response.
  bool ReadFiles(ScrapeResponse* out, MessageError* error) {
    *error = MessageError::kBadFiles;
    if (!Is(r_, JsonType::kObject) || !r_.EnterObject()) {
      *error = Field(MessageError::kBadFiles);
      return false;
    }
    JsonString key;
    while (r_.NextMember(&key)) {
      ScrapeFile f;
      auto h = DecodeBinaryFixed<20>(key);
      if (!h) return false;
      f.info_hash = *h;
      for (const ScrapeFile& other : out->files()) {
        if (other.info_hash == f.info_hash) {
          *error = MessageError::kDuplicateKey;
          return false;
        }
      }
      if (!Is(r_, JsonType::kObject) || !r_.EnterObject()) {
        *error = Field(MessageError::kBadFiles);
        return false;
      }
      SeenKeys seen;
      JsonString field;
      while (r_.NextMember(&field)) {
        const Key k = Lookup(field, {kComplete, kIncomplete, kDownloaded});
        if (k != kNumKeys && !seen.Insert(k)) {
          *error = MessageError::kDuplicateKey;
          return false;
        }
        uint64_t* target = k == kComplete     ? &f.complete
                           : k == kIncomplete ? &f.incomplete
                           : k == kDownloaded ? &f.downloaded
                                              : nullptr;
        if (target == nullptr ? !r_.SkipValue() : !ReadCount(r_, target)) {
          *error = Field(MessageError::kBadFiles);
          return false;
        }
      }
      if (!r_.ok()) {
        *error = MessageError::kInvalidJson;
        return false;
      }
      if (!out->Add(f)) {
        *error = MessageError::kTooManyInfoHashes;
        return false;
      }
    }
    if (!r_.ok()) {
      *error = MessageError::kInvalidJson;
      return false;
    }
    return true;
  }

  bool ReadFlags(ScrapeResponse* out, MessageError* error) {
    if (!Is(r_, JsonType::kObject) || !r_.EnterObject()) {
      *error = Field(MessageError::kBadFiles);
      return false;
    }
    SeenKeys seen;
    JsonString key;
    while (r_.NextMember(&key)) {
      const Key k = Lookup(key, {kMinRequestInterval});
      if (k != kNumKeys && !seen.Insert(k)) {
        *error = MessageError::kDuplicateKey;
        return false;
      }
      if (k == kMinRequestInterval ? !ReadCount(r_, &out->min_request_interval)
                                   : !r_.SkipValue()) {
        *error = Field(MessageError::kBadNumber);
        return false;
      }
    }
    if (!r_.ok()) {
      *error = MessageError::kInvalidJson;
      return false;
    }
    return true;
  }

  bool ReadFailureReason(ErrorResponse* out) {
    JsonString s;
    if (!Is(r_, JsonType::kString) || !r_.ReadString(&s)) return false;
    size_t length = 0;
    if (!DecodeJsonString(s, out->reason_, &length)) return false;
    out->reason_size_ = length;
    return true;
  }

  ServerResult ParseServer() {
    if (!Is(r_, JsonType::kObject)) {
      return ServerResult::Fail(Field(MessageError::kNotAnObject));
    }
    r_.EnterObject();
    std::optional<Action> action;
    InfoHash info_hash;
    PeerId peer_id;
    OfferId offer_id;
    std::string_view offer, answer;
    uint64_t complete = 0, incomplete = 0, interval = 0;
    ScrapeResponse scrape;
    ErrorResponse failure;
    SeenKeys seen;
    JsonString key;
    MessageError error = MessageError::kInvalidJson;
    while (r_.NextMember(&key)) {
      const Key k = Lookup(key, {kAction, kInfoHash, kPeerId, kOfferId, kOffer, kAnswer,
                                 kComplete, kIncomplete, kInterval, kFiles, kFlags,
                                 kFailureReason});
      if (k != kNumKeys && !seen.Insert(k)) return ServerResult::Fail(MessageError::kDuplicateKey);
      bool ok = true;
      switch (k) {
        case kAction:
          if (!(ok = ReadAction(r_, &action))) error = Field(MessageError::kUnknownAction);
          break;
        case kInfoHash:
          if (!(ok = ReadBinary20(r_, &info_hash))) error = Field(MessageError::kBadInfoHash);
          break;
        case kPeerId:
          if (!(ok = ReadBinary20(r_, &peer_id))) error = Field(MessageError::kBadPeerId);
          break;
        case kOfferId:
          if (!(ok = ReadBinary20(r_, &offer_id))) error = Field(MessageError::kBadOfferId);
          break;
        case kOffer:
          if (!(ok = ReadRawObject(r_, &offer))) error = Field(MessageError::kBadOffer);
          break;
        case kAnswer:
          if (!(ok = ReadRawObject(r_, &answer))) error = Field(MessageError::kBadAnswer);
          break;
        case kComplete:
          if (!(ok = ReadCount(r_, &complete))) error = Field(MessageError::kBadNumber);
          break;
        case kIncomplete:
          if (!(ok = ReadCount(r_, &incomplete))) error = Field(MessageError::kBadNumber);
          break;
        case kInterval:
          if (!(ok = ReadCount(r_, &interval))) error = Field(MessageError::kBadNumber);
          break;
        case kFiles:
          ok = ReadFiles(&scrape, &error);
          break;
        case kFlags:
          ok = ReadFlags(&scrape, &error);
          break;
        case kFailureReason:
          if (!(ok = ReadFailureReason(&failure))) error = Field(MessageError::kBadFailureReason);
          break;
        default:
          ok = r_.SkipValue();
          error = MessageError::kInvalidJson;
      }
      if (!ok) return ServerResult::Fail(error);
    }
    if (!r_.Finish()) return ServerResult::Fail(MessageError::kInvalidJson);

    if (seen.Has(kFailureReason)) {
      failure.action = action;
      if (seen.Has(kInfoHash)) failure.info_hash = info_hash;
      return ServerResult::Ok(failure, json_.size());
    }
    if (!seen.Has(kAction)) return ServerResult::Fail(MessageError::kMissingAction);
    if (!action) return ServerResult::Fail(MessageError::kUnknownAction);
    if (*action == Action::kScrape) {
      if (!seen.Has(kFiles)) return ServerResult::Fail(MessageError::kMissingField);
      return ServerResult::Ok(scrape, json_.size());
    }
    if (!seen.Has(kInfoHash)) return ServerResult::Fail(MessageError::kMissingInfoHash);
    if (seen.Has(kOffer) || seen.Has(kAnswer)) {
      if (seen.Has(kOffer) && seen.Has(kAnswer)) {
        return ServerResult::Fail(MessageError::kBadAnswer);
      }
      if (!seen.Has(kPeerId)) return ServerResult::Fail(MessageError::kMissingPeerId);
      if (!seen.Has(kOfferId)) return ServerResult::Fail(MessageError::kMissingOfferId);
      if (seen.Has(kOffer)) {
        return ServerResult::Ok(OfferMessage{info_hash, peer_id, offer_id, offer}, json_.size());
      }
      return ServerResult::Ok(AnswerMessage{info_hash, peer_id, offer_id, answer}, json_.size());
    }
    return ServerResult::Ok(AnnounceResponse{info_hash, complete, incomplete, interval},
                            json_.size());
  }

  std::string_view json_;
  JsonReader r_;
};

ParseResult<ClientMessage, MessageError> ParseClientMessage(std::string_view json) {
  return MessageParser(json).ParseClient();
}

ParseResult<ServerMessage, MessageError> ParseServerMessage(std::string_view json) {
  return MessageParser(json).ParseServer();
}

// --- Writing ---

namespace {

// An offer or answer view must look like the object the parser handed out.
bool LooksLikeObject(std::string_view raw) {
  return raw.size() >= 2 && raw.front() == '{' && raw.back() == '}';
}

void OptionalCount(JsonWriter& w, std::string_view key, const std::optional<uint64_t>& v) {
  if (!v) return;
  w.Key(key);
  w.Uint(*v);
}

}  // namespace

WriteResult WriteMessage(std::span<uint8_t> out, const AnnounceRequest& m) {
  if (!m.answer.empty() && !LooksLikeObject(m.answer)) {
    return WriteResult::Fail(WriteError::kInvalidValue);
  }
  JsonWriter w(out);
  w.BeginObject();
  w.Key("action");
  w.String("announce");
  w.Key("info_hash");
  w.BinaryString(m.info_hash);
  w.Key("peer_id");
  w.BinaryString(m.peer_id);
  if (m.event != AnnounceEvent::kNone) {
    w.Key("event");
    w.String(EventName(m.event));
  }
  OptionalCount(w, "numwant", m.numwant);
  OptionalCount(w, "uploaded", m.uploaded);
  OptionalCount(w, "downloaded", m.downloaded);
  OptionalCount(w, "left", m.left);
  if (m.has_offers || m.offer_count > 0) {
    w.Key("offers");
    w.BeginArray();
    for (const Offer& offer : m.offers()) {
      if (!LooksLikeObject(offer.offer)) return WriteResult::Fail(WriteError::kInvalidValue);
      w.BeginObject();
      w.Key("offer");
      w.Raw(offer.offer);
      w.Key("offer_id");
      w.BinaryString(offer.offer_id);
      w.EndObject();
    }
    w.EndArray();
  }
  if (m.to_peer_id) {
    w.Key("to_peer_id");
    w.BinaryString(*m.to_peer_id);
  }
  if (!m.answer.empty()) {
    w.Key("answer");
    w.Raw(m.answer);
  }
  if (m.offer_id) {
    w.Key("offer_id");
    w.BinaryString(*m.offer_id);
  }
  w.EndObject();
  return w.Result();
}

WriteResult WriteMessage(std::span<uint8_t> out, const ScrapeRequest& m) {
  if (!m.as_array && m.count != 1) return WriteResult::Fail(WriteError::kInvalidValue);
  JsonWriter w(out);
  w.BeginObject();
  w.Key("action");
  w.String("scrape");
  w.Key("info_hash");
  if (m.as_array) {
    w.BeginArray();
    for (const InfoHash& h : m.info_hashes()) w.BinaryString(h);
    w.EndArray();
  } else {
    w.BinaryString(m.info_hashes()[0]);
  }
  w.EndObject();
  return w.Result();
}

WriteResult WriteMessage(std::span<uint8_t> out, const AnnounceResponse& m) {
  // bittorrent-tracker's key order.
  JsonWriter w(out);
  w.BeginObject();
  w.Key("complete");
  w.Uint(m.complete);
  w.Key("incomplete");
  w.Uint(m.incomplete);
  w.Key("action");
  w.String("announce");
  w.Key("interval");
  w.Uint(m.interval);
  w.Key("info_hash");
  w.BinaryString(m.info_hash);
  w.EndObject();
  return w.Result();
}

namespace {

WriteResult WriteForwarded(std::span<uint8_t> out, std::string_view kind, std::string_view sdp,
                           const OfferId& offer_id, const PeerId& peer_id,
                           const InfoHash& info_hash) {
  if (!LooksLikeObject(sdp)) return WriteResult::Fail(WriteError::kInvalidValue);
  JsonWriter w(out);
  w.BeginObject();
  w.Key("action");
  w.String("announce");
  w.Key(kind);
  w.Raw(sdp);
  w.Key("offer_id");
  w.BinaryString(offer_id);
  w.Key("peer_id");
  w.BinaryString(peer_id);
  w.Key("info_hash");
  w.BinaryString(info_hash);
  w.EndObject();
  return w.Result();
}

}  // namespace

WriteResult WriteMessage(std::span<uint8_t> out, const OfferMessage& m) {
  return WriteForwarded(out, "offer", m.offer, m.offer_id, m.peer_id, m.info_hash);
}

WriteResult WriteMessage(std::span<uint8_t> out, const AnswerMessage& m) {
  return WriteForwarded(out, "answer", m.answer, m.offer_id, m.peer_id, m.info_hash);
}

WriteResult WriteMessage(std::span<uint8_t> out, const ScrapeResponse& m) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("action");
  w.String("scrape");
  w.Key("files");
  w.BeginObject();
  for (const ScrapeFile& f : m.files()) {
    w.BinaryKey(f.info_hash);
    w.BeginObject();
    w.Key("complete");
    w.Uint(f.complete);
    w.Key("incomplete");
    w.Uint(f.incomplete);
    w.Key("downloaded");
    w.Uint(f.downloaded);
    w.EndObject();
  }
  w.EndObject();
  if (m.min_request_interval) {
    w.Key("flags");
    w.BeginObject();
    w.Key("min_request_interval");
    w.Uint(*m.min_request_interval);
    w.EndObject();
  }
  w.EndObject();
  return w.Result();
}

WriteResult WriteMessage(std::span<uint8_t> out, const ErrorResponse& m) {
  if (!IsValidUtf8(m.failure_reason())) return WriteResult::Fail(WriteError::kInvalidValue);
  JsonWriter w(out);
  w.BeginObject();
  if (m.action) {
    w.Key("action");
    w.String(*m.action == Action::kAnnounce ? "announce" : "scrape");
  }
  w.Key("failure reason");
  w.String(m.failure_reason());
  if (m.info_hash) {
    w.Key("info_hash");
    w.BinaryString(*m.info_hash);
  }
  w.EndObject();
  return w.Result();
}

WriteResult WriteMessage(std::span<uint8_t> out, const ClientMessage& m) {
  return std::visit([&](const auto& v) { return WriteMessage(out, v); }, m);
}

WriteResult WriteMessage(std::span<uint8_t> out, const ServerMessage& m) {
  return std::visit([&](const auto& v) { return WriteMessage(out, v); }, m);
}

}  // namespace reef::ws
