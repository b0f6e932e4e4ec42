#include "server/common/access_list.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "server/common/clock.h"
#include "server/common/supervisor.h"
#include "server/common/test_log_sink.h"

namespace reef {
namespace {

using testing::TestLogSink;

// The info hash whose 40 hex digits are all `fill` (a hex digit).
InfoHash Hash(char fill) {
  std::optional<InfoHash> hash = InfoHash::FromHex(std::string(40, fill));
  REQUIRE(hash.has_value());
  return *hash;
}

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Writes `text` to `path` so that the change is always visible to a stat: a new inode
// (write to a side file, rename over), as editors and deploy tools do.
void WriteFile(const std::string& path, const std::string& text) {
  const std::string side = path + ".new";
  {
    std::ofstream out(side, std::ios::trunc | std::ios::binary);
    out << text;
  }
  REQUIRE(rename(side.c_str(), path.c_str()) == 0);
}

// Waits (bounded) until `done()` holds.
template <typename F>
bool Eventually(F done, absl::Duration limit = absl::Seconds(10)) {
  const absl::Duration deadline = MonotonicNow() + limit;
  while (MonotonicNow() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

TEST_CASE("mode names round trip") {
  for (AccessListMode mode :
       {AccessListMode::kOff, AccessListMode::kAllow, AccessListMode::kDeny}) {
    CHECK(ParseAccessListMode(AccessListModeName(mode)) == mode);
  }
  CHECK_FALSE(ParseAccessListMode("whitelist").has_value());
}

TEST_CASE("the file format: hex either case, whitespace, comments, blank lines, CRLF") {
  const std::string text =
      "# a comment line\n"
      "\n"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
      "  BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB  \t\n"
      "cccccccccccccccccccccccccccccccccccccccc # trailing comment\n"
      "DdDdDdDdDdDdDdDdDdDdDdDdDdDdDdDdDdDdDdDd\r\n"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"  // a repeat is fine
      "   \t  \n"
      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";  // no final newline
  absl::StatusOr<InfoHashSet> parsed = ParseAccessList(text);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(parsed->size() == 5);
  for (char c : {'a', 'b', 'c', 'd', 'e'}) CHECK(parsed->contains(Hash(c)));
  CHECK(ParseAccessList("").value().empty());
  CHECK(ParseAccessList("# only comments\n\n").value().empty());
}

TEST_CASE("a bad line is refused with its number and text") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",  // 39 digits
       "line 1: expected 40 hex digits, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
      {"# ok\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",  // 41 digits
       "line 2: expected 40 hex digits, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
      {"\n\ngaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",  // not hex
       "line 3: expected 40 hex digits, got \"gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
      {"aaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaa\n",  // a space inside
       "line 1: expected 40 hex digits, got \"aaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaa\""},
      {"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "line 1: expected 40 hex digits"},
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x01\n",  // a control character is quoted
       "line 1: expected 40 hex digits, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\x01\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<InfoHashSet> parsed = ParseAccessList(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK_MESSAGE(std::string(parsed.status().message()).find(c.message) == 0,
                  parsed.status().message());
  }
  // A long bad line is quoted only in part.
  absl::StatusOr<InfoHashSet> long_line = ParseAccessList(std::string(500, 'z'));
  REQUIRE_FALSE(long_line.ok());
  CHECK(long_line.status().message().size() < 120);
  CHECK(std::string(long_line.status().message()).find("...\"") != std::string::npos);
}

TEST_CASE("allow, deny and off modes") {
  InfoHashSet listed = {Hash('1'), Hash('2')};
  AccessList allow(AccessListMode::kAllow);
  AccessList deny(AccessListMode::kDeny);
  AccessList off(AccessListMode::kOff);
  CHECK_FALSE(allow.Allows(Hash('1')));  // empty allow list: nothing yet
  CHECK(deny.Allows(Hash('1')));
  allow.Replace(listed);
  deny.Replace(listed);
  off.Replace(listed);
  CHECK(allow.Allows(Hash('1')));
  CHECK(allow.Allows(Hash('2')));
  CHECK_FALSE(allow.Allows(Hash('3')));
  CHECK_FALSE(deny.Allows(Hash('1')));
  CHECK_FALSE(deny.Allows(Hash('2')));
  CHECK(deny.Allows(Hash('3')));
  for (char c : {'1', '2', '3'}) CHECK(off.Allows(Hash(c)));
  CHECK(allow.size() == 2);
}

TEST_CASE("two lists used in turn by one thread never see each other's hashes") {
  AccessList a(AccessListMode::kAllow);
  AccessList b(AccessListMode::kAllow);
  a.Replace({Hash('a')});
  b.Replace({Hash('b')});
  for (int i = 0; i < 3; ++i) {
    CHECK(a.Allows(Hash('a')));
    CHECK_FALSE(b.Allows(Hash('a')));
    CHECK(b.Allows(Hash('b')));
    CHECK_FALSE(a.Allows(Hash('b')));
  }
}

TEST_CASE("LoadFile puts a good file in force; a broken or missing one keeps the old list") {
  const std::string path = TempPath("load.txt");
  AccessList list(AccessListMode::kAllow);
  WriteFile(path, std::string(40, 'a') + "\n" + std::string(40, 'b') + "\n");
  REQUIRE(list.LoadFile(path).ok());
  CHECK(list.Allows(Hash('a')));
  CHECK(list.Allows(Hash('b')));

  WriteFile(path, std::string(40, 'c') + "\n# fine\nnot-a-hash\n");
  absl::Status broken = list.LoadFile(path);
  CHECK(broken.code() == absl::StatusCode::kInvalidArgument);
  CHECK(broken.message() ==
        "access list " + path + ": line 3: expected 40 hex digits, got \"not-a-hash\"");
  CHECK(list.Allows(Hash('a')));  // the old list is still in force
  CHECK_FALSE(list.Allows(Hash('c')));

  absl::Status missing = list.LoadFile(TempPath("no-such-file.txt"));
  CHECK(std::string(missing.message()).find("cannot open: No such file or directory") !=
        std::string::npos);
  CHECK(list.Allows(Hash('a')));

  CHECK_FALSE(list.LoadFile(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp").ok());
  CHECK(list.size() == 2);
}

TEST_CASE("a file at the size limit loads; one byte more is refused") {
  const std::string path = TempPath("limit.txt");
  const std::string line = std::string(40, 'a') + "\n";  // 41 bytes
  AccessList list(AccessListMode::kAllow);
  WriteFile(path, line);
  CHECK(list.LoadFile(path, /*max_bytes=*/41).ok());
  WriteFile(path, line + "\n");
  absl::Status too_big = list.LoadFile(path, /*max_bytes=*/41);
  CHECK(std::string(too_big.message()).find("more than the limit of 41") != std::string::npos);
  CHECK(list.Allows(Hash('a')));
}

// Runs `load` on a thread and returns its status, failing the test if it is still
// running after 5 s; then a writer opens `fifo` so that a reader stuck in open(2) returns
// and the test can end.
absl::Status WithinFiveSeconds(const std::function<absl::Status()>& load,
                               const std::string& fifo) {
  std::atomic<bool> done{false};
  absl::Status status;
  std::thread loader([&] {
    status = load();
    done.store(true);
  });
  const bool returned = Eventually([&] { return done.load(); }, absl::Seconds(5));
  CHECK_MESSAGE(returned, "blocked: still in LoadFile after 5 s");
  if (!returned) {
    const int writer = open(fifo.c_str(), O_WRONLY);  // the blocked reader lets this return
    loader.join();
    if (writer >= 0) close(writer);
  } else {
    loader.join();
  }
  return status;
}

TEST_CASE("a FIFO, a directory or a device is refused at once, never waited on") {
  // open(2) of a FIFO without O_NONBLOCK waits for a writer; at start reef has its
  // signals blocked, so only SIGKILL would end that wait.
  const std::string fifo = TempPath("list.fifo");
  unlink(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  AccessList list(AccessListMode::kAllow);
  list.Replace({Hash('a')});
  for (const std::string& path : {fifo, std::string("/dev/null"), TempPath("")}) {
    CAPTURE(path);
    absl::Status status = WithinFiveSeconds([&] { return list.LoadFile(path); }, fifo);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(std::string(status.message()).find("not a regular file") != std::string::npos,
                  status);
    CHECK(list.Allows(Hash('a')));  // the list in force stays
  }
  // Through AccessListFile (what start-up and the reload worker use) too.
  AccessListFile file(std::make_shared<AccessList>(AccessListMode::kAllow), fifo);
  for (bool force : {true, false}) {
    absl::Status status = WithinFiveSeconds(
        [&] {
          absl::StatusOr<bool> reloaded = file.Reload(force);
          return reloaded.ok() ? absl::OkStatus() : reloaded.status();
        },
        fifo);
    if (force) CHECK_FALSE(status.ok());
  }
  unlink(fifo.c_str());
}

TEST_CASE("blank lines and comments reserve nothing: only lines that can be hashes count") {
  CHECK(CountHashLines("") == 0);
  CHECK(CountHashLines("\n\n\n") == 0);
  CHECK(CountHashLines(" \t\r\n\v\f\n") == 0);
  CHECK(CountHashLines("# one\n  # two\n#" + std::string(40, 'a') + "\n") == 0);
  CHECK(CountHashLines(std::string(40, 'a')) == 1);
  CHECK(CountHashLines("\n" + std::string(40, 'a') + " # x\n\n  b\n") == 2);
  // A file of nothing but newlines: before, one slot was reserved per newline (a 512 MiB
  // file reserved some 22 GB); now the set stays empty and unallocated.
  const std::string blank(size_t{4} << 20, '\n');
  absl::StatusOr<InfoHashSet> parsed = ParseAccessList(blank);
  REQUIRE(parsed.ok());
  CHECK(parsed->empty());
  CHECK(parsed->capacity() == 0);
  // Hashes among many blank lines: room for the hashes, not the lines.
  std::string sparse;
  for (char fill : {'1', '2', '3'}) sparse += std::string(size_t{1} << 20, '\n') + std::string(40, fill);
  absl::StatusOr<InfoHashSet> three = ParseAccessList(sparse);
  REQUIRE(three.ok());
  CHECK(three->size() == 3);
  CHECK(three->capacity() < 16);
}

TEST_CASE("a reader's old list is freed by the next Replace, not by the reader") {
  AccessList list(AccessListMode::kAllow);
  list.Replace({Hash('1')});
  std::weak_ptr<const InfoHashSet> first = list.Snapshot();
  CHECK(list.Allows(Hash('1')));  // this thread now caches the first list
  list.Replace({Hash('2')});
  CHECK_FALSE(first.expired());   // still cached by this thread
  CHECK(list.Allows(Hash('2')));  // moves on: the first list is now unused...
  CHECK_FALSE(first.expired());   // ...but not freed here, on the reader's thread
  list.Replace({Hash('3')});
  CHECK(first.expired());  // freed by the thread that replaced the list
}

TEST_CASE("AccessListFile reloads only what changed, and reports a broken file once") {
  const std::string path = TempPath("reload.txt");
  WriteFile(path, std::string(40, 'a') + "\n");
  auto list = std::make_shared<AccessList>(AccessListMode::kDeny);
  AccessListFile file(list, path);
  CHECK(file.Reload(/*force=*/true).value() == true);
  CHECK_FALSE(list->Allows(Hash('a')));
  CHECK(file.Reload(/*force=*/false).value() == false);  // unchanged
  CHECK(file.Reload(/*force=*/true).value() == true);    // forced: read again

  WriteFile(path, "broken\n");
  absl::StatusOr<bool> broken = file.Reload(false);
  REQUIRE_FALSE(broken.ok());
  CHECK(std::string(broken.status().message()).find("line 1") != std::string::npos);
  CHECK(file.Reload(false).value() == false);  // same broken file: not reported again
  CHECK_FALSE(list->Allows(Hash('a')));        // old list still in force

  WriteFile(path, std::string(40, 'b') + "\n");
  CHECK(file.Reload(false).value() == true);
  CHECK(list->Allows(Hash('a')));
  CHECK_FALSE(list->Allows(Hash('b')));

  REQUIRE(unlink(path.c_str()) == 0);
  CHECK_FALSE(file.Reload(false).ok());        // gone: reported...
  CHECK(file.Reload(false).value() == false);  // ...once
  CHECK_FALSE(list->Allows(Hash('b')));
}

TEST_CASE("the worker reloads a changed file on its interval and logs a bad line") {
  TestLogSink log;
  const std::string path = TempPath("interval.txt");
  WriteFile(path, std::string(40, 'a') + "\n");
  auto list = std::make_shared<AccessList>(AccessListMode::kAllow);
  auto file = std::make_shared<AccessListFile>(list, path);
  REQUIRE(file->Reload(true).ok());
  std::unique_ptr<PeriodicWorker> worker = MakeAccessListWorker(file, absl::Milliseconds(5));
  CHECK(worker->name() == "access-list");
  StopSignal stop;
  std::thread thread([&] { CHECK(worker->Run(stop).ok()); });

  WriteFile(path, std::string(40, 'b') + "\n");
  CHECK(Eventually([&] { return list->Allows(Hash('b')); }));
  CHECK_FALSE(list->Allows(Hash('a')));
  CHECK(log.WaitFor("access list " + path + " reloaded: 1 hashes", std::chrono::seconds(10)));

  WriteFile(path, std::string(40, 'c') + "\n" + "zzz\n");
  CHECK(log.WaitFor("line 2: expected 40 hex digits, got \"zzz\"; keeping the previous list",
                    std::chrono::seconds(10)));
  CHECK(list->Allows(Hash('b')));
  CHECK_FALSE(list->Allows(Hash('c')));
  stop.Request();
  thread.join();
}

TEST_CASE("SIGUSR1 reloads through the supervisor, even with no interval") {
  TestLogSink log;
  const std::string path = TempPath("signal.txt");
  WriteFile(path, std::string(40, 'a') + "\n");
  auto list = std::make_shared<AccessList>(AccessListMode::kAllow);
  auto file = std::make_shared<AccessListFile>(list, path);
  REQUIRE(file->Reload(true).ok());
  std::unique_ptr<PeriodicWorker> worker = MakeAccessListWorker(file, absl::ZeroDuration());
  PeriodicWorker* reloader = worker.get();

  Supervisor supervisor;
  supervisor.OnSignal(SIGUSR1, [reloader] { reloader->Trigger(); });
  supervisor.Add(std::move(worker));
  const pthread_t supervisor_thread = pthread_self();
  std::atomic<bool> reloaded{false};
  supervisor.Add(MakeWorker("test", [&](const StopSignal& stop) {
    WriteFile(path, std::string(40, 'b') + "\n");
    // Without the signal nothing happens (no interval)...
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    const bool early = list->Allows(Hash('b'));
    // ...with it, the new list comes into force. (pthread_kill: see supervisor_test.)
    pthread_kill(supervisor_thread, SIGUSR1);
    reloaded = Eventually([&] { return list->Allows(Hash('b')); }) && !early;
    supervisor.RequestStop();
    stop.WaitFor(absl::InfiniteDuration());
    return absl::OkStatus();
  }));
  CHECK(supervisor.Run().ok());
  CHECK(reloaded);
  CHECK(log.Contains("received SIGUSR1"));
  CHECK(log.Contains("reloaded: 1 hashes (allow mode)"));
}

// Readers on several threads while the list is replaced again and again. Every version
// holds `always`; `sometimes` comes and goes. Under --config=tsan this is the data-race
// check of the swap; in every config it checks no reader ever sees a torn state.
TEST_CASE("concurrent readers during swaps") {
  AccessList list(AccessListMode::kAllow);
  const InfoHash always = Hash('a');
  const InfoHash sometimes = Hash('b');
  const InfoHash never = Hash('f');
  list.Replace({always});
  constexpr int kReaders = 3;
  constexpr int kSwaps = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<long> reads{0};
  std::atomic<int> saw_sometimes{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      long local = 0;
      bool seen = false;
      while (!done.load(std::memory_order_acquire)) {
        if (!list.Allows(always)) ++wrong;
        if (list.Allows(never)) ++wrong;
        seen = list.Allows(sometimes) || seen;
        ++local;
      }
      reads += local;
      if (seen) ++saw_sometimes;
    });
  }
  for (int i = 0; i < kSwaps; ++i) {
    InfoHashSet next = {always};
    if (i % 2 == 0) next.insert(sometimes);
    for (int j = 0; j < 50; ++j) next.insert(Hash(static_cast<char>('0' + j % 10)));
    list.Replace(std::move(next));
  }
  done.store(true, std::memory_order_release);
  for (auto& reader : readers) reader.join();
  CHECK(wrong == 0);
  CHECK(reads > 0);
  list.Replace({always});  // the final state is seen by a fresh read
  CHECK_FALSE(list.Allows(sometimes));
  MESSAGE("reads: " << reads.load() << ", readers that saw the swapped-in hash: "
                    << saw_sometimes.load());
}

}  // namespace
}  // namespace reef
