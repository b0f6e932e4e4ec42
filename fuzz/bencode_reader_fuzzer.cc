// Fuzzes the bencode tokenizer, differentially against the writer.
//
// Properties, not just "does not crash":
//  - read -> write -> read gives the same tokens: every token the reader accepts is
//    written back with BencodeWriter and the result tokenizes to the identical sequence;
//  - since the reader accepts canonical integers and lengths only, the rewrite is also
//    byte-identical to the input bytes it consumed;
//  - strict mode accepts a subset of lenient mode: where lenient succeeds and strict
//    fails, the reason is kBencodeKeyOrder; where both succeed, the tokens are the same;
//  - consumed() never exceeds the input, depth never exceeds the limit;
//  - the tracker-response parsers built on the reader: an accepted announce body's
//    PeerCursor yields exactly peer_count() peers, an accepted scrape body's cursor
//    exactly file_count files.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "protocol/http/bencode.h"
#include "protocol/http/response_parser.h"

namespace {

using namespace reef::http;

constexpr size_t kMaxTokens = 4096;

struct Walk {
  std::array<BencodeToken, kMaxTokens> tokens;
  size_t count = 0;
  bool complete = false;  // the whole value was read
  std::optional<ParseError> error;
  size_t consumed = 0;
};

void Read(std::string_view in, const BencodeLimits& limits, Walk* walk) {
  BencodeReader reader(in, limits);
  BencodeToken t;
  walk->count = 0;
  while (walk->count < kMaxTokens && reader.Next(&t)) {
    FUZZ_CHECK(reader.depth() <= limits.max_depth);
    FUZZ_CHECK(reader.consumed() <= in.size());
    walk->tokens[walk->count++] = t;
  }
  walk->complete = reader.done();
  walk->error = reader.error();
  walk->consumed = reader.consumed();
  FUZZ_CHECK(walk->complete != walk->error.has_value() || walk->count == kMaxTokens);
}

bool Write(const Walk& walk, BencodeWriter& w) {
  for (size_t i = 0; i < walk.count; ++i) {
    const BencodeToken& t = walk.tokens[i];
    switch (t.type) {
      case BencodeType::kInteger: w.Int(t.integer); break;
      case BencodeType::kString: w.String(t.string); break;
      case BencodeType::kListBegin: w.BeginList(); break;
      case BencodeType::kDictBegin: w.BeginDict(); break;
      case BencodeType::kEnd: w.End(); break;
    }
  }
  return w.ok();
}

}  // namespace

void CheckResponses(std::string_view in) {
  auto announce = ParseAnnounceResponse(in);
  if (announce.ok()) {
    PeerCursor cursor(announce.value());
    ParsedPeer peer;
    size_t n = 0;
    while (cursor.Next(&peer)) ++n;
    FUZZ_CHECK(n == announce.value().peer_count());
  }
  auto scrape = ParseScrapeResponse(in);
  if (scrape.ok()) {
    ScrapeFileCursor cursor(scrape.value());
    ScrapeFile file;
    size_t n = 0;
    while (cursor.Next(&file)) ++n;
    FUZZ_CHECK(n == scrape.value().file_count);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckResponses(in);
  static Walk lenient, strict, again;
  static std::array<uint8_t, 1 << 16> buf;
  BencodeLimits limits;
  Read(in, limits, &lenient);
  if (!lenient.complete) return 0;
  FUZZ_CHECK(lenient.consumed <= size);

  BencodeWriter w(buf);
  FUZZ_CHECK(Write(lenient, w));
  std::string_view rewritten(reinterpret_cast<const char*>(buf.data()), w.written());
  FUZZ_CHECK(rewritten == in.substr(0, lenient.consumed));
  Read(rewritten, limits, &again);
  FUZZ_CHECK(again.complete);
  FUZZ_CHECK(again.count == lenient.count);
  for (size_t i = 0; i < again.count; ++i) {
    FUZZ_CHECK(again.tokens[i].type == lenient.tokens[i].type);
    FUZZ_CHECK(again.tokens[i].integer == lenient.tokens[i].integer);
    FUZZ_CHECK(again.tokens[i].string == lenient.tokens[i].string);
  }

  BencodeLimits strict_limits;
  strict_limits.strict = true;
  Read(in, strict_limits, &strict);
  if (strict.complete) {
    FUZZ_CHECK(strict.count == lenient.count);
    FUZZ_CHECK(strict.consumed == lenient.consumed);
  } else {
    FUZZ_CHECK(strict.error == ParseError::kBencodeKeyOrder);
  }
  auto whole = CheckBencode(in, limits);
  FUZZ_CHECK(whole.ok() == (lenient.consumed == size));
  return 0;
}
