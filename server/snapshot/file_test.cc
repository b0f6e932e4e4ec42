#include "server/snapshot/file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "server/snapshot/test_dir.h"

namespace reef::snapshot {
namespace {

using testing::TempDir;


std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Exists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0;
}

absl::Status WriteText(Sink& sink, std::string_view text) {
  return sink.Write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                             text.size()));
}

TEST_CASE("WriteAtomically writes the file whole, mode 0600, with no temporary left") {
  const std::string path = TempDir("atomic") + "/reef.snapshot";
  absl::StatusOr<uint64_t> written =
      WriteAtomically(path, [](Sink& sink) { return WriteText(sink, "first"); });
  REQUIRE(written.ok());
  CHECK(*written == 5);
  CHECK(Contents(path) == "first");
  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK_FALSE(Exists(path + ".tmp"));
  // A second write replaces it.
  REQUIRE(WriteAtomically(path, [](Sink& sink) { return WriteText(sink, "second"); }).ok());
  CHECK(Contents(path) == "second");
}

TEST_CASE("a write that fails leaves the old file as it was and no temporary") {
  const std::string path = TempDir("failing") + "/reef.snapshot";
  REQUIRE(WriteAtomically(path, [](Sink& sink) { return WriteText(sink, "good"); }).ok());
  absl::StatusOr<uint64_t> failed = WriteAtomically(path, [](Sink& sink) {
    (void)WriteText(sink, "half");
    return absl::InternalError("writer gave up");
  });
  CHECK(failed.status().message() == "writer gave up");
  CHECK(Contents(path) == "good");
  CHECK_FALSE(Exists(path + ".tmp"));
  // A temporary left by a crash is overwritten, not appended to.
  std::ofstream(path + ".tmp") << "stale stale stale";
  REQUIRE(WriteAtomically(path, [](Sink& sink) { return WriteText(sink, "new"); }).ok());
  CHECK(Contents(path) == "new");
}

TEST_CASE("a directory that does not exist is an error naming the file") {
  absl::StatusOr<uint64_t> written = WriteAtomically(
      "/nonexistent-reef-dir/reef.snapshot", [](Sink& sink) { return WriteText(sink, "x"); });
  CHECK(written.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(written.status().message(), "open directory /nonexistent-reef-dir"));
  CHECK_FALSE(CheckDirectoryWritable("/nonexistent-reef-dir/reef.snapshot").ok());
  CHECK(CheckDirectoryWritable(TempDir("writable") + "/reef.snapshot").ok());
  const std::string file = TempDir("notdir") + "/plain";
  std::ofstream(file) << "x";
  CHECK(absl::StrContains(CheckDirectoryWritable(file + "/reef.snapshot").message(),
                          "is not a directory"));
}

TEST_CASE("SnapshotDirectory writes through the directory's descriptor, moved or not") {
  const std::string dir = TempDir("through-fd");
  absl::StatusOr<SnapshotDirectory> opened = SnapshotDirectory::Open(dir + "/s");
  REQUIRE(opened.ok());
  SnapshotDirectory directory = *std::move(opened);  // moves keep the descriptor
  CHECK(directory.fd() >= 0);
  CHECK(directory.file_path() == dir + "/s");
  REQUIRE(directory.WriteAtomically([](Sink& sink) { return WriteText(sink, "one"); }).ok());
  CHECK(Contents(dir + "/s") == "one");
  CHECK_FALSE(SnapshotDirectory::Open("relative").ok());
  CHECK_FALSE(SnapshotDirectory::Open(dir + "/").ok());
}

TEST_CASE("ReadWhole: the bytes, NotFound, or an error past the size limit") {
  const std::string path = TempDir("read") + "/reef.snapshot";
  std::ofstream(path, std::ios::binary) << "0123456789";
  absl::StatusOr<std::vector<uint8_t>> read = ReadWhole(path, 10);
  REQUIRE(read.ok());
  CHECK(read->size() == 10);
  CHECK((*read)[9] == '9');
  CHECK(ReadWhole(path, 9).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(ReadWhole(path + ".missing", 10).status().code() == absl::StatusCode::kNotFound);
  CHECK(ReadWhole(TempDir("read"), 10).status().code() ==
        absl::StatusCode::kFailedPrecondition);  // a directory
}

TEST_CASE("MoveAside renames to .bad-<time>, then .1, .2 when that is taken") {
  const std::string dir = TempDir("aside");
  const std::string path = dir + "/reef.snapshot";
  for (const char* expected : {".bad-1000", ".bad-1000.1", ".bad-1000.2"}) {
    std::ofstream(path) << expected;
    absl::StatusOr<std::string> moved = MoveAside(path, 1000);
    REQUIRE(moved.ok());
    CHECK(*moved == path + expected);
    CHECK(Contents(*moved) == expected);
    CHECK_FALSE(Exists(path));
  }
  CHECK_FALSE(MoveAside(path, 1000).ok());  // nothing to move
}

}  // namespace
}  // namespace reef::snapshot
