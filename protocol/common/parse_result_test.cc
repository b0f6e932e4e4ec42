#include "protocol/common/parse_result.h"

#include <doctest/doctest.h>

#include <string_view>

#include "protocol/common/errors.h"

namespace reef {
namespace {

struct Point {
  int x = 0;
  int y = 0;
};

TEST_CASE("the three outcomes are distinct") {
  auto ok = ParseResult<Point, CodecError>::Ok(Point{1, 2}, 8);
  CHECK(ok.ok());
  CHECK_FALSE(ok.incomplete());
  CHECK_FALSE(ok.failed());
  CHECK(ok.status() == ParseStatus::kOk);
  CHECK(ok.consumed() == 8);
  CHECK(ok.value().y == 2);

  auto more = ParseResult<Point, CodecError>::Incomplete();
  CHECK(more.incomplete());
  CHECK_FALSE(more.ok());
  CHECK(more.consumed() == 0);

  auto bad = ParseResult<Point, CodecError>::Fail(CodecError::kBadHex);
  CHECK(bad.failed());
  CHECK(bad.error() == CodecError::kBadHex);
  CHECK(bad.consumed() == 0);
}

TEST_CASE("every codec and write error has a name and a reason") {
  for (int i = 0; i < static_cast<int>(CodecError::kNumErrors); ++i) {
    auto e = static_cast<CodecError>(i);
    CHECK_FALSE(ErrorName(e).empty());
    CHECK_FALSE(ErrorReason(e).empty());
    CHECK(ErrorName(e).substr(0, 1) == "k");
  }
  CHECK(ErrorName(CodecError::kTrailingBytes) == "kTrailingBytes");
  CHECK(ErrorReason(WriteError::kInvalidValue) == "value cannot be encoded");
}

}  // namespace
}  // namespace reef
