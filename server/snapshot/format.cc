#include "server/snapshot/format.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "protocol/common/byte_reader.h"
#include "protocol/common/byte_writer.h"
#include "server/common/strings.h"

namespace reef::snapshot {
namespace {

// Bytes the Writer gathers before handing them to the sink.
constexpr size_t kWriteChunk = 1 << 20;
constexpr size_t kDigestSize = 32;

struct EvpContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpContext = std::unique_ptr<EVP_MD_CTX, EvpContextDeleter>;

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(StrCat("snapshot: ", what));
}

std::array<uint8_t, kHeaderSize> EncodeHeader(const Header& header) {
  std::array<uint8_t, kHeaderSize> out{};
  ByteWriter w(out);
  (void)w.WriteString(kMagic);
  (void)w.WriteU32Be(kFormatVersion);
  (void)w.WriteU32Be(static_cast<uint32_t>(kHeaderSize));
  (void)w.WriteI64Be(header.written_at);
  (void)w.WriteU32Be(header.peer_timeout_s);
  (void)w.WriteU32Be(0);
  return out;
}

}  // namespace

uint16_t PeerRecord::port() const {
  const size_t n = v6 ? kCompactV6Size : kCompactV4Size;
  return static_cast<uint16_t>((compact[n - 2] << 8) | compact[n - 1]);
}

struct Writer::Digest {
  EvpContext ctx{EVP_MD_CTX_new()};
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
};

std::array<uint8_t, 32> Checksum(std::span<const uint8_t> bytes) {
  std::array<uint8_t, 32> out{};
  unsigned int length = 0;
  EvpContext ctx(EVP_MD_CTX_new());
  // On the (allocation) failure of any step, an all-zero checksum: it matches no file.
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1 || length != out.size()) {
    out.fill(0);
  }
  return out;
}

Writer::Writer(Sink& sink, const Header& header) : sink_(sink), digest_(new Digest) {
  if (!digest_->ok) {
    Fail(absl::InternalError("snapshot: cannot set up SHA-256 (out of memory?)"));
    return;
  }
  const std::array<uint8_t, kHeaderSize> bytes = EncodeHeader(header);
  Put(bytes);
}

Writer::~Writer() = default;

void Writer::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

void Writer::Flush() {
  if (!status_.ok() || buffer_.empty()) return;
  if (EVP_DigestUpdate(digest_->ctx.get(), buffer_.data(), buffer_.size()) != 1) {
    Fail(absl::InternalError("snapshot: SHA-256 update failed"));
    return;
  }
  Fail(sink_.Write(buffer_));
  buffer_.clear();
}

void Writer::Put(std::span<const uint8_t> bytes) {
  if (!status_.ok()) return;
  if (buffer_.size() + bytes.size() > kWriteChunk) Flush();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void Writer::Torrent(const TorrentRecord& torrent) {
  if (finished_ || v4_left_ != 0 || v6_left_ != 0) {
    Fail(absl::FailedPreconditionError("snapshot: a torrent before the last one's peers"));
  }
  if (!status_.ok()) return;
  std::array<uint8_t, kTorrentRecordSize> bytes{};
  ByteWriter w(bytes);
  (void)w.WriteFixed(torrent.info_hash);
  (void)w.WriteU32Be(torrent.completed_v4);
  (void)w.WriteU32Be(torrent.completed_v6);
  (void)w.WriteU32Be(torrent.v4_peers);
  (void)w.WriteU32Be(torrent.v6_peers);
  Put(bytes);
  v4_left_ = torrent.v4_peers;
  v6_left_ = torrent.v6_peers;
  ++torrents_;
}

void Writer::Peer(const PeerRecord& peer) {
  uint32_t& left = v4_left_ > 0 ? v4_left_ : v6_left_;
  if (finished_ || left == 0 || peer.v6 != (v4_left_ == 0)) {
    Fail(absl::FailedPreconditionError(
        "snapshot: a peer the torrent record did not announce (or IPv6 before IPv4)"));
  }
  if (!status_.ok()) return;
  std::array<uint8_t, kPeerV6RecordSize> bytes{};
  ByteWriter w(bytes);
  (void)w.WriteBytes(peer.compact_view());
  (void)w.WriteFixed(peer.peer_id);
  (void)w.WriteU8(static_cast<uint8_t>((peer.seeder ? kSeederFlag : 0) |
                                       (peer.completed ? kCompletedFlag : 0)));
  (void)w.WriteU32Be(peer.age_s);
  Put(std::span<const uint8_t>(bytes).first(w.written()));
  --left;
  ++peers_;
}

absl::Status Writer::Finish() {
  if (finished_) return absl::FailedPreconditionError("snapshot: Finish() called twice");
  if (v4_left_ != 0 || v6_left_ != 0) {
    Fail(absl::FailedPreconditionError("snapshot: the last torrent's peers are missing"));
  }
  finished_ = true;
  std::array<uint8_t, 16> counts{};
  ByteWriter w(counts);
  (void)w.WriteU64Be(torrents_);
  (void)w.WriteU64Be(peers_);
  Put(counts);
  Flush();
  if (!status_.ok()) return status_;
  std::array<uint8_t, kDigestSize> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(digest_->ctx.get(), digest.data(), &length) != 1 ||
      length != kDigestSize) {
    return absl::InternalError("snapshot: SHA-256 final failed");
  }
  return sink_.Write(digest);
}

namespace {

// One pass over the records between header and trailer. With a null visitor it only
// checks; the caller runs it twice, so the visitor sees a file already known to be good.
absl::Status Walk(std::span<const uint8_t> body, uint64_t expected_torrents,
                  uint64_t expected_peers, const Limits& limits, Visitor* visitor) {
  ByteReader r(body);
  uint64_t torrents = 0;
  uint64_t peers = 0;
  while (r.remaining() > 0) {
    if (torrents == expected_torrents) {
      return Corrupt(StrCat(r.remaining(), " bytes after the last of ", expected_torrents,
                            " torrents"));
    }
    TorrentRecord torrent;
    if (!r.ReadFixed(&torrent.info_hash) || !r.ReadU32Be(&torrent.completed_v4) ||
        !r.ReadU32Be(&torrent.completed_v6) || !r.ReadU32Be(&torrent.v4_peers) ||
        !r.ReadU32Be(&torrent.v6_peers)) {
      return Corrupt(StrCat("torrent ", torrents, ": record cut short"));
    }
    if (torrent.v4_peers > limits.max_peers_per_torrent ||
        torrent.v6_peers > limits.max_peers_per_torrent) {
      return Corrupt(StrCat("torrent ", torrents, ": ", torrent.v4_peers, " IPv4 and ",
                            torrent.v6_peers, " IPv6 peers, over the limit of ",
                            limits.max_peers_per_torrent, " per family"));
    }
    // Checked before the loop, so a made-up count cannot make it run long.
    const uint64_t bytes = uint64_t{torrent.v4_peers} * kPeerV4RecordSize +
                           uint64_t{torrent.v6_peers} * kPeerV6RecordSize;
    if (bytes > r.remaining()) {
      return Corrupt(StrCat("torrent ", torrents, ": its peers are cut short"));
    }
    if (visitor != nullptr) visitor->OnTorrent(torrent);
    const uint64_t count = uint64_t{torrent.v4_peers} + torrent.v6_peers;
    for (uint64_t i = 0; i < count; ++i) {
      PeerRecord peer;
      peer.v6 = i >= torrent.v4_peers;
      uint8_t flags = 0;
      const size_t compact = peer.v6 ? kCompactV6Size : kCompactV4Size;
      if (!r.ReadBytes(std::span<uint8_t>(peer.compact).first(compact)) ||
          !r.ReadFixed(&peer.peer_id) || !r.ReadU8(&flags) || !r.ReadU32Be(&peer.age_s)) {
        return Corrupt(StrCat("torrent ", torrents, ": peer ", i, ": cut short"));
      }
      if ((flags & ~(kSeederFlag | kCompletedFlag)) != 0) {
        return Corrupt(StrCat("torrent ", torrents, ": peer ", i, ": unknown flags ",
                              static_cast<int>(flags)));
      }
      if (peer.port() == 0) return Corrupt(StrCat("torrent ", torrents, ": peer ", i, ": port 0"));
      peer.seeder = (flags & kSeederFlag) != 0;
      peer.completed = (flags & kCompletedFlag) != 0;
      if (visitor != nullptr) visitor->OnPeer(torrent, peer);
    }
    ++torrents;
    peers += count;
    if (peers > limits.max_peers) {
      return Corrupt(StrCat("more than ", limits.max_peers, " peers, the limit"));
    }
    if (torrents > limits.max_torrents) {
      return Corrupt(StrCat("more than ", limits.max_torrents, " torrents, the limit"));
    }
  }
  if (torrents != expected_torrents || peers != expected_peers) {
    return Corrupt(StrCat(torrents, " torrents and ", peers, " peers, the trailer says ",
                          expected_torrents, " and ", expected_peers));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Summary> Read(std::span<const uint8_t> file, const Limits& limits,
                             Visitor* visitor) {
  // The magic first, so a file of something else is called that, whatever its size.
  const size_t magic_bytes = std::min(file.size(), kMagic.size());
  if (!std::equal(file.begin(), file.begin() + static_cast<ptrdiff_t>(magic_bytes),
                  kMagic.begin())) {
    return Corrupt("not a reef snapshot (no REEFSNAP at the start)");
  }
  if (file.size() < kHeaderSize + kTrailerSize) {
    return Corrupt(StrCat("too short: ", file.size(), " bytes, a snapshot has at least ",
                          kHeaderSize + kTrailerSize));
  }
  ByteReader header_reader(file.subspan(kMagic.size(), kHeaderSize - kMagic.size()));
  uint32_t version = 0, header_size = 0, reserved = 0;
  Summary summary;
  (void)header_reader.ReadU32Be(&version);
  if (version != kFormatVersion) {
    return Corrupt(StrCat("format version ", version, "; this reef reads version ",
                          kFormatVersion));
  }
  (void)header_reader.ReadU32Be(&header_size);
  (void)header_reader.ReadI64Be(&summary.header.written_at);
  (void)header_reader.ReadU32Be(&summary.header.peer_timeout_s);
  (void)header_reader.ReadU32Be(&reserved);
  if (header_size != kHeaderSize || reserved != 0) {
    return Corrupt(StrCat("header size ", header_size, " (reserved ", reserved,
                          "); version 1 has ", kHeaderSize, " (reserved 0)"));
  }
  const std::span<const uint8_t> sealed = file.first(file.size() - kDigestSize);
  const std::array<uint8_t, kDigestSize> digest = Checksum(sealed);
  if (!std::equal(digest.begin(), digest.end(), file.end() - kDigestSize)) {
    return Corrupt("checksum mismatch: the file is damaged or was cut short");
  }
  ByteReader trailer(file.subspan(file.size() - kTrailerSize, 16));
  (void)trailer.ReadU64Be(&summary.torrents);
  (void)trailer.ReadU64Be(&summary.peers);
  const std::span<const uint8_t> body =
      file.subspan(kHeaderSize, file.size() - kHeaderSize - kTrailerSize);
  if (absl::Status checked = Walk(body, summary.torrents, summary.peers, limits, nullptr);
      !checked.ok()) {
    return checked;
  }
  if (visitor != nullptr) {
    // Cannot fail: the same bytes just passed.
    if (absl::Status visited = Walk(body, summary.torrents, summary.peers, limits, visitor);
        !visited.ok()) {
      return visited;
    }
  }
  return summary;
}

}  // namespace reef::snapshot
