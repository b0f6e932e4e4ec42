// Tests that run the reef binary: //server:reef for flags and configuration,
// //server:reef_test_hooks (the same main.cc plus test-only fault hooks, test_hooks.h)
// for the supervisor's behaviour as a process. Every config used here either disables UDP
// and metrics or listens on 127.0.0.1 port 0 (one test holds the default metrics address
// to see reef step aside from it), so no test binds a fixed port of its own; every wait
// is bounded and a child still running at the end is killed by pid.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server/common/sanitizers.h"
#include "server/config.h"
#include "server/common/subprocess_for_test.h"
#include "server/udp/udp_server_test_util.h"
#include "server/ws/webtorrent_test_util.h"
#include "server/ws/ws_test_client.h"
#include "testing/skip.h"

namespace reef {
namespace {

using testing::DescribeWaitStatus;
using testing::Subprocess;

constexpr char kReef[] = "server/reef";
constexpr char kReefWithHooks[] = "server/reef_test_hooks";

// Generous bounds for a loaded 2-core machine under TSan; a passing run takes a fraction.
constexpr absl::Duration kStartLimit = absl::Seconds(30);
constexpr absl::Duration kExitLimit = absl::Seconds(30);

// A real UDP worker on a free loopback port, and the cleaner; test-hook workers join
// them; the access list is on in some tests so that its real worker runs too.
constexpr char kServeConfig[] =
    "[udp]\n"
    "listen = [\"127.0.0.1:0\"]\n"
    "[http]\n"
    "enabled = false\n"
    "[metrics]\n"
    "listen = [\"127.0.0.1:0\"]\n";

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  const std::string side = path + ".new";
  {
    std::ofstream out(side, std::ios::trunc | std::ios::binary);
    out << text;
  }
  REQUIRE(rename(side.c_str(), path.c_str()) == 0);
  return path;
}

struct Result {
  int status = -1;  // wait status
  std::string out;
  std::string err;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs a binary to completion.
Result Run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv, env);
  REQUIRE_MESSAGE(child.ok(), child.status());
  std::optional<int> status = (*child)->Wait(kExitLimit);
  REQUIRE_MESSAGE(status.has_value(), "did not exit: ", (*child)->stderr_text());
  return Result{*status, (*child)->stdout_text(), (*child)->stderr_text()};
}

std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env = {}) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv, env);
  REQUIRE_MESSAGE(child.ok(), child.status());
  return *std::move(child);
}

// Waits for the supervisor to be up (its "running"/"no workers" line).
void WaitUntilRunning(Subprocess& child) {
  const bool up = child.WaitForStderr("supervisor: ", kStartLimit);
  REQUIRE_MESSAGE(up, child.stderr_text());
}

int WaitExitCode(Subprocess& child) {
  std::optional<int> status = child.Wait(kExitLimit);
  REQUIRE_MESSAGE(status.has_value(), "did not exit: ", child.stderr_text());
  INFO(child.stderr_text());
  CHECK_MESSAGE(WIFEXITED(*status), DescribeWaitStatus(*status));
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_CASE("--help prints usage and exits 0; a bad flag exits 2") {
  Result help = Run({kReef, "--help"});
  CHECK(help.exit_code() == 0);
  CHECK(help.out.rfind("Usage: reef [--config FILE] [--print-config] [--check-config FILE] [--help]", 0) == 0);
  for (const char* bad : {"--bogus", "positional", "--config"}) {
    Result result = Run({kReef, bad});
    CHECK_MESSAGE(result.exit_code() == 2, bad);
    CHECK(Has(result.err, "Usage: reef"));
  }
  CHECK(Has(Run({kReef, "--config"}).err, "reef: --config needs a FILE"));
  CHECK(Has(Run({kReef, "--config=a", "--config=b"}).err, "--config given twice"));
}

TEST_CASE("--print-config prints the defaults, which --config reads back identically") {
  Result printed = Run({kReef, "--print-config"});
  REQUIRE(printed.exit_code() == 0);
  CHECK(printed.out == RenderConfig(Config{}));
  const std::string path = WriteFile("printed.toml", printed.out);
  Result again = Run({kReef, "--config", path, "--print-config"});
  CHECK(again.exit_code() == 0);
  CHECK(again.out == printed.out);  // byte for byte
  // And a changed file prints as what reef would run with.
  const std::string changed = WriteFile("changed.toml", "[swarm]\nshards = 7\n");
  Result effective = Run({kReef, "--config=" + changed, "--print-config"});
  CHECK(effective.exit_code() == 0);
  CHECK(Has(effective.out, "\nshards = 7\n"));
  CHECK(ParseConfig(effective.out, "printed").value().swarm.shards == 7);
}

TEST_CASE("a bad configuration exits 2 with a message naming the key and the reason") {
  struct Case {
    const char* toml;
    const char* message;
  };
  const Case cases[] = {
      {"[udp]\nsocket_wrokers = 2\n", ":2: udp.socket_wrokers: unknown key"},
      {"[udp]\nsocket_workers = \"2\"\n",
       ":2: udp.socket_workers: expected an integer, got a string"},
      {"[udp]\nlisten = [\"0.0.0.0:70000\"]\n",
       ":2: udp.listen: \"0.0.0.0:70000\": port must be a number from 0 to 65535"},
      {"[udp]\nsocket_workers = 0\n", ":2: udp.socket_workers: must be from 1 to 256, got 0"},
      {"[swarm]\npeer_inactivity_timeout_seconds = 0\n",
       ":2: swarm.peer_inactivity_timeout_seconds: must be from 1 to 604800 seconds, got 0"},
      {"[swarm]\nmax_response_peers = 0\n",
       ":2: swarm.max_response_peers: must be from 1 to 1024, got 0"},
      {"[udp]\nmax_datagram_size = 1501\n",
       ":2: udp.max_datagram_size: must be from 136 to 1500 (an error reply must fit, and "
       "reef's BEP 15 parser takes no request longer than 1500 bytes), got 1501"},
      {"[swarm]\nannounce_interval_seconds = 300\n",
       "swarm.min_announce_interval_seconds: must be at most "
       "swarm.announce_interval_seconds (300), got 900"},
      {"[udp]\nbackend = \"kqueue\"\n",
       ":2: udp.backend: must be one of \"epoll\", \"io_uring\", got \"kqueue\""},
      {"[access_list]\nmode = \"allow\"\npath = \"/nonexistent/reef-list.txt\"\n",
       "access_list.path: cannot read \"/nonexistent/reef-list.txt\": No such file or "
       "directory"},
      {"[privileges]\nuser = \"reef-no-such-user\"\n",
       "privileges.user: no user \"reef-no-such-user\""},
      {"[udp\n", ":1:"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteFile("bad.toml", c.toml);
    Result result = Run({kReef, "--config", path});
    CHECK_MESSAGE(result.exit_code() == 2, c.toml, "\n", result.err);
    CHECK_MESSAGE(Has(result.err, "reef: invalid configuration:"), result.err);
    CHECK_MESSAGE(Has(result.err, c.message), c.toml, "\n", result.err);
  }
  // A table header 100,000 levels deep crashed reef inside toml++ (stack overflow).
  std::string deep = "[a";
  for (int i = 0; i < 100000; ++i) deep += ".a";
  Result too_deep = Run({kReef, "--config", WriteFile("deep.toml", deep + "]\n")});
  CHECK(too_deep.exit_code() == 2);
  CHECK_MESSAGE(Has(too_deep.err, "deep.toml:1: nesting deeper than 32 levels"), too_deep.err);
  Result missing = Run({kReef, "--config", TempPath("no-such-config.toml")});
  CHECK(missing.exit_code() == 2);
  CHECK(Has(missing.err, "cannot open config file"));
}

// A socket of `type` the test binds on 127.0.0.1, at `port` (0: any free one), and
// listens on if it is TCP; closed at the end of the scope. ok() is false if the port was
// taken.
class HeldPort {
 public:
  HeldPort(int type, uint16_t port) : fd_(socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
          (type != SOCK_STREAM || listen(fd_, 1) == 0) &&
          getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    port_ = ntohs(address.sin_port);
  }
  ~HeldPort() { close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;

  bool ok() const { return ok_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  bool ok_ = false;
  uint16_t port_ = 0;
};

TEST_CASE("--check-config FILE: 0 for a file reef would start with, 2 with the reasons") {
  // A port the test holds: --check-config must not bind (the running service holds its
  // ports while systemd checks a new file), so it is not an error here.
  auto held = std::make_unique<HeldPort>(SOCK_DGRAM, 0);
  REQUIRE(held->ok());
  const std::string list = WriteFile("check-list.txt", std::string(40, 'a') + "\n");
  const std::string good = WriteFile(
      "check-good.toml", "[udp]\nlisten = [\"" + held->address() + "\"]\n[access_list]\nmode = \"allow\"\npath = \"" + list + "\"\n");
  Result ok = Run({kReef, "--check-config", good});
  CHECK_MESSAGE(ok.exit_code() == 0, ok.err);
  CHECK(ok.out == "reef: " + good + ": configuration OK\n");
  CHECK_FALSE(Has(ok.err, "supervisor"));  // it never started serving
  held.reset();
  CHECK(Run({kReef, "--check-config=" + good}).exit_code() == 0);

  struct Case {
    std::string toml;
    std::string message;
  };
  const std::string broken_list = WriteFile("check-broken.txt", "nope\n");
  const Case cases[] = {
      {"[udp]\nsocket_wrokers = 2\n",
       "reef: invalid configuration:\n  " + TempPath("check-bad.toml") +
           ":2: udp.socket_wrokers: unknown key"},
      {"[udp\n", "reef: invalid configuration:"},
      {"[privileges]\nuser = \"reef-no-such-user\"\n", "privileges.user: no user"},
      {"[access_list]\nmode = \"allow\"\npath = \"/nonexistent/list.txt\"\n",
       "access_list.path: cannot read"},
      // Reads the file too, as a start does, not only its name.
      {"[access_list]\nmode = \"deny\"\npath = \"" + broken_list + "\"\n",
       "reef: invalid access list:\n  access list " + broken_list +
           ": line 1: expected 40 hex digits"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteFile("check-bad.toml", c.toml);
    Result bad = Run({kReef, "--check-config", path});
    CHECK_MESSAGE(bad.exit_code() == 2, c.toml, "\n", bad.err);
    CHECK_MESSAGE(Has(bad.err, c.message), c.toml, "\n", bad.err);
    CHECK(bad.out.empty());
  }
  Result missing = Run({kReef, "--check-config", TempPath("no-such.toml")});
  CHECK(missing.exit_code() == 2);
  CHECK(Has(missing.err, "cannot open config file"));

  // The flag's own mistakes are usage errors (2) too.
  CHECK(Has(Run({kReef, "--check-config"}).err, "reef: --check-config needs a FILE"));
  CHECK(Has(Run({kReef, "--check-config="}).err, "reef: --check-config needs a FILE"));
  CHECK(Has(Run({kReef, "--check-config", good, "--check-config", good}).err,
            "--check-config given twice"));
  Result both = Run({kReef, "--config", good, "--check-config", good});
  CHECK(both.exit_code() == 2);
  CHECK(Has(both.err, "--check-config takes its FILE alone"));
}

TEST_CASE("an access list that does not parse at start exits 2, naming the line") {
  const std::string list = WriteFile("start-list.txt", std::string(40, 'a') + "\nnope\n");
  const std::string config = WriteFile(
      "start.toml", std::string(kServeConfig) + "[access_list]\nmode = \"allow\"\npath = \"" +
                        list + "\"\n");
  Result result = Run({kReef, "--config", config});
  CHECK(result.exit_code() == 2);
  CHECK(Has(result.err, "reef: invalid access list:"));
  CHECK(Has(result.err, list + ": line 2: expected 40 hex digits, got \"nope\""));
}

TEST_CASE("an access list that is a FIFO stops reef at start (exit 2), without waiting") {
  // Opened without O_NONBLOCK, a FIFO with no writer hung reef at start with its signals
  // blocked: only SIGKILL ended it.
  const std::string fifo = TempPath("start-list.fifo");
  unlink(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::string config = WriteFile(
      "fifo.toml", std::string(kServeConfig) + "[access_list]\nmode = \"allow\"\npath = \"" +
                       fifo + "\"\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  std::optional<int> status = reef->Wait(absl::Seconds(10));
  CHECK_MESSAGE(status.has_value(), "reef still running 10 s after start: ", reef->stderr_text());
  if (status.has_value()) {
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK(Has(reef->stderr_text(), fifo + ": not a regular file"));
  }
  unlink(fifo.c_str());
}

TEST_CASE("SIGTERM and SIGINT stop reef cleanly with exit 0") {
  const std::string list = WriteFile("term-list.txt", std::string(40, 'a') + "\n");
  const std::string config = WriteFile(
      "term.toml", std::string(kServeConfig) + "[access_list]\nmode = \"allow\"\npath = \"" +
                       list + "\"\n");
  for (int signo : {SIGTERM, SIGINT}) {
    std::unique_ptr<Subprocess> reef =
        Start({kReefWithHooks, "--config", config}, {"REEF_TEST_WORKERS=a:idle,b:idle"});
    WaitUntilRunning(*reef);
    CHECK(Has(reef->stderr_text(), "running 7 workers: access-list, udp-0, cleaner, metrics, stats, a, b"));
    REQUIRE(reef->Signal(signo));
    CHECK(WaitExitCode(*reef) == 0);
    const std::string& log = reef->stderr_text();
    CHECK(Has(log, signo == SIGTERM ? "received SIGTERM" : "received SIGINT"));
    CHECK(Has(log, "stopped cleanly; all 7 worker threads joined"));
    CHECK(Has(log, "reef stopped"));
  }
}

TEST_CASE("with no protocol workers reef says so, and still stops cleanly") {
  const std::string config = WriteFile(
      "none.toml", "[udp]\nenabled = false\n[http]\nenabled = false\n[metrics]\nenabled = false\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  WaitUntilRunning(*reef);
  CHECK(Has(reef->stderr_text(), "no protocol is enabled"));
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
  CHECK(Has(reef->stderr_text(), "stopped cleanly; all 0 worker threads joined"));
}

TEST_CASE("a worker that fails stops the process, non-zero, promptly") {
  const std::string list = WriteFile("fail-list.txt", std::string(40, 'a') + "\n");
  const std::string config = WriteFile(
      "fail.toml", std::string(kServeConfig) + "[access_list]\nmode = \"allow\"\npath = \"" +
                       list + "\"\n");
  std::unique_ptr<Subprocess> reef =
      Start({kReefWithHooks, "--config", config},
            {"REEF_TEST_WORKERS=faulty:fail:300"});
  REQUIRE_MESSAGE(reef->WaitForStderr("worker faulty failed", kStartLimit),
                  reef->stderr_text());
  const absl::Duration seen = absl::Now() - absl::UnixEpoch();
  CHECK(WaitExitCode(*reef) == 1);
  const absl::Duration exited = absl::Now() - absl::UnixEpoch();
  // From the failure being logged to the process being gone, every thread joined: well
  // under a second here; the check allows 3 s, room for TSan on two busy cores, still
  // short of the 5 s stop deadline a supervisor waiting out its workers would reach.
  MESSAGE("failure logged to exit: ", absl::FormatDuration(exited - seen));
  CHECK(exited - seen < absl::Seconds(3));
  const std::string& log = reef->stderr_text();
  CHECK(Has(log, "worker faulty failed: INTERNAL: injected fault"));
  CHECK(Has(log, "stopping every worker because faulty failed"));
  CHECK(Has(log, "stopped after a failure; all 6 worker threads joined"));
  CHECK(Has(log, "reef stopped: INTERNAL: worker faulty: injected fault"));
}

TEST_CASE("a worker that returns OK without being asked is a failure too") {
  std::unique_ptr<Subprocess> reef =
      Start({kReefWithHooks, "--config", WriteFile("early.toml", kServeConfig)},
            {"REEF_TEST_WORKERS=steady:idle,early:return:100"});
  CHECK(WaitExitCode(*reef) == 1);
  const std::string& log = reef->stderr_text();
  CHECK(Has(log, "worker early returned without being asked to stop"));
  CHECK(Has(log, "all 6 worker threads joined"));  // udp-0, cleaner, metrics, stats, steady, early
}

TEST_CASE("a worker that ignores its stop signal: logged by name, exit 3 at the deadline") {
  std::unique_ptr<Subprocess> reef =
      Start({kReefWithHooks, "--config", WriteFile("stuck.toml", kServeConfig)},
            {"REEF_TEST_WORKERS=fine:idle,stuck:hang", "REEF_TEST_STOP_DEADLINE_MS=200"});
  WaitUntilRunning(*reef);
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 3);
  CHECK(Has(reef->stderr_text(),
            "worker stuck did not stop within 200ms; exiting with status 3 without joining"));
}

TEST_CASE("SIGUSR1 and SIGHUP reload the access list; a broken file keeps the old one") {
  const std::string list = WriteFile("usr1-list.txt", std::string(40, 'a') + "\n");
  const std::string config = WriteFile(
      "usr1.toml", std::string(kServeConfig) +
                       "[access_list]\nmode = \"deny\"\nreload_interval_seconds = 0\npath = \"" +
                       list + "\"\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  WaitUntilRunning(*reef);
  CHECK(Has(reef->stderr_text(), "access list: deny mode, 1 hashes from " + list));

  WriteFile("usr1-list.txt", std::string(40, 'a') + "\n" + std::string(40, 'b') + "\n");
  REQUIRE(reef->Signal(SIGUSR1));
  CHECK_MESSAGE(reef->WaitForStderr("reloaded: 2 hashes (deny mode)", kStartLimit),
                reef->stderr_text());

  WriteFile("usr1-list.txt", "# fine\n" + std::string(39, 'c') + "\n");
  REQUIRE(reef->Signal(SIGUSR1));
  CHECK_MESSAGE(reef->WaitForStderr("line 2: expected 40 hex digits, got \"" +
                                        std::string(39, 'c') +
                                        "\"; keeping the previous list (2 hashes)",
                                    kStartLimit),
                reef->stderr_text());

  // SIGHUP reloads too (and does not end reef, as its default action would).
  WriteFile("usr1-list.txt", std::string(40, 'a') + "\n" + std::string(40, 'b') + "\n" +
                                 std::string(40, 'd') + "\n");
  REQUIRE(reef->Signal(SIGHUP));
  CHECK_MESSAGE(reef->WaitForStderr("reloaded: 3 hashes (deny mode)", kStartLimit),
                reef->stderr_text());
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
}

// GET `path` from 127.0.0.1:`port`; the whole response ("" if the connection failed).
std::string HttpGet(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{.tv_sec = 20, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

// The port of the first "metrics: serving http://127.0.0.1:PORT" line.
uint16_t MetricsPort(Subprocess& reef) {
  const std::string needle = "metrics: serving http://127.0.0.1:";
  REQUIRE_MESSAGE(reef.WaitForStderr(needle, kStartLimit), reef.stderr_text());
  const std::string& log = reef.stderr_text();
  return static_cast<uint16_t>(std::stoi(log.substr(log.find(needle) + needle.size())));
}

TEST_CASE("[metrics]: the binary serves /metrics on its own listener") {
  const std::string config = WriteFile(
      "metrics.toml", "[udp]\nlisten = [\"127.0.0.1:0\"]\n[http]\nenabled = false\n[metrics]\nlisten = [\"127.0.0.1:0\"]\n"
                      "path = \"/m\"\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  const uint16_t port = MetricsPort(*reef);
  WaitUntilRunning(*reef);
  CHECK(Has(reef->stderr_text(), "metrics: serving http://127.0.0.1:" + std::to_string(port) + "/m"));
  const std::string response = HttpGet(port, "/m");
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(Has(response, "\nreef_build_info{version=\""));
  CHECK(Has(response, "\nprocess_start_time_seconds "));
  CHECK(Has(response, "\nprocess_open_fds "));
  CHECK(HttpGet(port, "/metrics").rfind("HTTP/1.1 404", 0) == 0);
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
}

TEST_CASE("[metrics]: a WebSocket announce shows in /metrics and /stats.json") {
  const std::string config = WriteFile(
      "ws-metrics.toml",
      "[udp]\nenabled = false\n[http]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\n"
      "listen = [\"127.0.0.1:0\"]\n[snapshot]\nenabled = false\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  const std::string needle = "http: listening on 127.0.0.1:";
  REQUIRE_MESSAGE(reef->WaitForStderr(needle, kStartLimit), reef->stderr_text());
  const std::string http_port = std::to_string(std::stoi(
      reef->stderr_text().substr(reef->stderr_text().find(needle) + needle.size())));
  const uint16_t metrics_port = MetricsPort(*reef);
  WaitUntilRunning(*reef);

  auto browser = ws::testing::WsTestClient::Connect(*SocketAddress::Parse("127.0.0.1:" + http_port));
  REQUIRE(browser != nullptr);
  REQUIRE(browser->SendText(ws::testing::AnnounceJson(
      ws::testing::Id20('T', 1), ws::testing::Id20('P', 1), ws::AnnounceEvent::kStarted, 500,
      std::nullopt, {})));
  std::optional<std::vector<ws::testing::ReceivedFrame>> reply = browser->Read(1);
  REQUIRE(reply.has_value());
  REQUIRE(reply->size() == 1);
  CHECK(Has((*reply)[0].payload, "\"interval\""));

  // The browser is still connected: its peer is in the swarm.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  INFO(metrics);
  CHECK(Has(metrics, "\nreef_webtorrent_messages_total{type=\"announce\"} 1\n"));
  CHECK(Has(metrics, "\nreef_webtorrent_messages_total{type=\"scrape\"} 0\n"));
  CHECK(Has(metrics, "\nreef_websocket_connections_open 1\n"));
  CHECK(Has(metrics, "\nreef_websocket_connections_opened_total 1\n"));
  CHECK(Has(metrics, "\nreef_webtorrent_torrents 1\n"));
  CHECK(Has(metrics, "\nreef_webtorrent_peers{status=\"leecher\"} 1\n"));
  CHECK(Has(metrics, "\nreef_webtorrent_peers{status=\"seeder\"} 0\n"));
  const std::string stats = HttpGet(metrics_port, "/stats.json");
  INFO(stats);
  CHECK(Has(stats, "\"webtorrent\":{\"torrents\":1,\"peers\":1,\"seeders\":0,\"leechers\":1}"));
  CHECK(Has(stats, "\"webtorrent\":1}"));  // the last of "requests"
  CHECK(Has(stats, "\"ws://127.0.0.1:" + http_port + "/announce\""));
  browser.reset();
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
}

TEST_CASE("[metrics]: a chosen address that is taken stops reef; the default one does not") {
  // A port the test holds.
  auto held = std::make_unique<HeldPort>(SOCK_STREAM, 0);
  REQUIRE(held->ok());
  const std::string taken = held->address();
  Result result = Run({kReef, "--config",
                       WriteFile("taken.toml", "[udp]\nlisten = [\"127.0.0.1:0\"]\n[http]\nenabled = false\n[metrics]\nlisten = [\"" +
                                                   taken + "\"]\n")});
  CHECK(result.exit_code() == 1);
  CHECK(Has(result.err, "cannot start: UNAVAILABLE: metrics: bind " + taken + ": address already in use"));
  held.reset();

  // The default address: held here if it is free, so that it is taken either way.
  HeldPort default_holder(SOCK_STREAM, 9469);
  const bool holding = default_holder.ok();
  if (holding) {
    std::unique_ptr<Subprocess> reef = Start({kReef, "--config", WriteFile("default.toml", "[udp]\nlisten = [\"127.0.0.1:0\"]\n[http]\nenabled = false\n")});
    WaitUntilRunning(*reef);
    CHECK(Has(reef->stderr_text(), "metrics: bind 127.0.0.1:9469: address already in use; serving "
                                   "without metrics (another reef here? set [metrics] listen)"));
    REQUIRE(reef->Signal(SIGTERM));
    CHECK(WaitExitCode(*reef) == 0);
  } else {
    MESSAGE("127.0.0.1:9469 is held by another process: the default-address case is not run");
  }
}

// ---- [snapshot]: the swarms across a restart, through the binary ----------------------

// The UDP port of reef's "udp: listening on 127.0.0.1:PORT" line.
uint16_t UdpPort(Subprocess& reef) {
  const std::string needle = "udp: listening on 127.0.0.1:";
  REQUIRE_MESSAGE(reef.WaitForStderr(needle, kStartLimit), reef.stderr_text());
  const std::string& log = reef.stderr_text();
  return static_cast<uint16_t>(std::stoi(log.substr(log.find(needle) + needle.size())));
}

constexpr uint8_t kSwarmHash = 0x5a;

InfoHash SwarmHash() {
  std::array<uint8_t, 20> bytes;
  bytes.fill(kSwarmHash);
  return InfoHash(bytes);
}

// Announces from 127.0.0.1 with announced port `port` (each port is a peer of its own);
// the peers in the answer, by port.
udp::AnnounceRequest UdpAnnounceRequest(uint64_t connection_id, uint16_t port, int64_t left,
                                        udp::AnnounceEvent event, const InfoHash& info_hash) {
  udp::AnnounceRequest announce;
  announce.connection_id = connection_id;
  announce.transaction_id = port;
  announce.info_hash = info_hash;
  announce.peer_id = *PeerId::FromString("-qB4500-" + std::to_string(100000000000 + port));
  announce.left = left;
  announce.event = event;
  announce.port = port;
  return announce;
}

std::vector<uint16_t> UdpAnnounce(udp::testing::TestClient& client, uint64_t connection_id,
                                  uint16_t port, int64_t left, udp::AnnounceEvent event) {
  const udp::AnnounceRequest announce =
      UdpAnnounceRequest(connection_id, port, left, event, SwarmHash());
  std::vector<uint8_t> storage;
  std::optional<udp::Response> reply = client.Exchange(announce, &storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<udp::AnnounceResponse>(*reply));
  std::vector<uint16_t> ports;
  const udp::PeerList& peers = std::get<udp::AnnounceResponse>(*reply).peers;
  for (size_t i = 0; i < peers.size(); ++i) ports.push_back(peers[i].port);
  std::sort(ports.begin(), ports.end());
  return ports;
}

udp::TorrentStats UdpScrape(udp::testing::TestClient& client, uint64_t connection_id) {
  const InfoHash hash = SwarmHash();
  udp::ScrapeRequest scrape{.connection_id = connection_id,
                            .transaction_id = 9,
                            .info_hashes = udp::InfoHashList::FromBytes(hash.bytes()).value()};
  std::vector<uint8_t> storage;
  std::optional<udp::Response> reply = client.Exchange(scrape, &storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<udp::ScrapeResponse>(*reply));
  REQUIRE(std::get<udp::ScrapeResponse>(*reply).stats.size() == 1);
  return std::get<udp::ScrapeResponse>(*reply).stats[0];
}

struct Served {
  std::unique_ptr<Subprocess> reef;
  std::unique_ptr<udp::testing::TestClient> client;
  uint64_t connection_id = 0;
  uint16_t metrics_port = 0;
};

Served StartServing(const std::string& config) {
  Served served;
  served.reef = Start({kReef, "--config", config});
  const uint16_t udp_port = UdpPort(*served.reef);
  served.metrics_port = MetricsPort(*served.reef);
  WaitUntilRunning(*served.reef);
  served.client = std::make_unique<udp::testing::TestClient>(
      *SocketAddress::Parse("127.0.0.1:" + std::to_string(udp_port)));
  served.connection_id = served.client->Connect();
  return served;
}

// The store's budget and its events, through the binary: a prefix at its cap evicts, a
// full shard refuses a new torrent, and /metrics counts both beside the budget.
TEST_CASE("[metrics]: a full store and a prefix at its cap show in /metrics") {
  const std::string config = WriteFile(
      "budget.toml", std::string(kServeConfig) +
                         "[swarm]\nshards = 1\nmax_torrents = 1\nmax_peers = 100\nprefix_cap = 2\n");
  Served served = StartServing(config);
  UdpAnnounce(*served.client, served.connection_id, 1001, 500, udp::AnnounceEvent::kStarted);
  UdpAnnounce(*served.client, served.connection_id, 1002, 500, udp::AnnounceEvent::kStarted);
  // A third port of 127.0.0.1: the oldest of the two gives way.
  CHECK(UdpAnnounce(*served.client, served.connection_id, 1003, 500,
                    udp::AnnounceEvent::kStarted) == std::vector<uint16_t>{1002});
  // A second torrent does not fit max_torrents = 1.
  InfoHash other = SwarmHash();
  other.mutable_bytes()[0] ^= 0xff;
  std::vector<uint8_t> storage;
  std::optional<udp::Response> reply = served.client->Exchange(
      UdpAnnounceRequest(served.connection_id, 1004, 0, udp::AnnounceEvent::kStarted, other),
      &storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<udp::ErrorResponse>(*reply));
  CHECK(std::get<udp::ErrorResponse>(*reply).message == "tracker is full");
  const std::string metrics = HttpGet(served.metrics_port, "/metrics");
  CHECK(Has(metrics, "\nreef_errors_sent_total{protocol=\"udp\",reason=\"tracker full\"} 1\n"));
  CHECK(Has(metrics, "\nreef_store_events_total{protocol=\"udp\",event=\"prefix_cap_evictions\"} 1\n"));
  CHECK(Has(metrics, "\nreef_store_events_total{protocol=\"udp\",event=\"completed_not_counted\"} 0\n"));
  CHECK(Has(metrics, "\nreef_store_max_torrents 1\n"));
  CHECK(Has(metrics, "\nreef_store_max_peers 100\n"));
  CHECK(Has(metrics, "\nreef_torrents 1\n"));
  CHECK(Has(metrics, "\nreef_peers{family=\"ipv4\"} 2\n"));
  REQUIRE(served.reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*served.reef) == 0);
}

TEST_CASE("[snapshot]: announce, SIGTERM, start again: the same peers and counts are back") {
  const std::string dir = TempPath("snapshot-e2e");
  mkdir(dir.c_str(), 0700);
  const std::string path = dir + "/reef.snapshot";
  unlink(path.c_str());
  // The default seccomp filter is on: the write at SIGTERM goes through its allow-list.
  const std::string config =
      WriteFile("snapshot.toml", std::string(kServeConfig) + "[snapshot]\npath = \"" + path + "\"\n");
  {
    Served first = StartServing(config);
    CHECK(Has(first.reef->stderr_text(), "no snapshot at " + path + ": starting with no swarms"));
    UdpAnnounce(*first.client, first.connection_id, 1001, 0, udp::AnnounceEvent::kCompleted);
    UdpAnnounce(*first.client, first.connection_id, 1002, 500, udp::AnnounceEvent::kStarted);
    UdpAnnounce(*first.client, first.connection_id, 1003, 500, udp::AnnounceEvent::kStarted);
    CHECK(UdpScrape(*first.client, first.connection_id) ==
          udp::TorrentStats{.seeders = 1, .completed = 1, .leechers = 2});
    REQUIRE(first.reef->Signal(SIGTERM));
    CHECK(WaitExitCode(*first.reef) == 0);
    CHECK(Has(first.reef->stderr_text(), "snapshot " + path + ": wrote 1 torrents and 3 peers"));
  }
  {
    Served second = StartServing(config);
    CHECK(Has(second.reef->stderr_text(), "snapshot " + path + ": loaded 1 torrents and 3 peers"));
    CHECK(UdpScrape(*second.client, second.connection_id) ==
          udp::TorrentStats{.seeders = 1, .completed = 1, .leechers = 2});
    // A new peer is handed the three from before the restart.
    CHECK(UdpAnnounce(*second.client, second.connection_id, 1004, 500,
                      udp::AnnounceEvent::kStarted) == std::vector<uint16_t>{1001, 1002, 1003});
    // The seeder's completed was counted before the restart: a repeat is not.
    UdpAnnounce(*second.client, second.connection_id, 1001, 0, udp::AnnounceEvent::kCompleted);
    CHECK(UdpScrape(*second.client, second.connection_id).completed == 1);
    const std::string metrics = HttpGet(second.metrics_port, "/metrics");
    CHECK(Has(metrics, "\nreef_torrents 1\n"));
    CHECK(Has(metrics, "\nreef_peers{family=\"ipv4\"} 4\n"));
    CHECK(Has(metrics,
              "\nreef_requests_total{protocol=\"udp\",action=\"announce\",family=\"ipv4\"} 2\n"));
    CHECK(Has(metrics,
              "\nreef_requests_total{protocol=\"udp\",action=\"connect\",family=\"ipv4\"} 1\n"));
    CHECK(Has(metrics,
              "\nreef_requests_total{protocol=\"udp\",action=\"scrape\",family=\"ipv4\"} 2\n"));
    const std::string stats = HttpGet(second.metrics_port, "/stats.json");
    CHECK(stats.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(Has(stats, "\"torrents\":1"));
    REQUIRE(second.reef->Signal(SIGTERM));
    CHECK(WaitExitCode(*second.reef) == 0);
    CHECK(Has(second.reef->stderr_text(), "snapshot " + path + ": wrote 1 torrents and 4 peers"));
  }
  // A damaged snapshot: moved aside with the reason, and reef starts empty.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(40);
    file.put('\xff');
  }
  Served third = StartServing(config);
  const std::string log = third.reef->stderr_text();
  CHECK(Has(log, "snapshot " + path + " not loaded: snapshot: checksum mismatch"));
  CHECK(Has(log, "moved to " + path + ".bad-"));
  CHECK(Has(log, "starting with no swarms"));
  CHECK(UdpScrape(*third.client, third.connection_id) == udp::TorrentStats{});
  REQUIRE(third.reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*third.reef) == 0);
}

TEST_CASE("an allocation that fails ends reef with exit 1 and a line saying so") {
  if (kSanitizerAllocator) {
    MESSAGE("the sanitizer's operator new reports allocation failures itself: skipped");
    return;
  }
  // 1 GiB of address space (reef starts in a fraction of it); the test-hook worker then
  // allocates until the limit is hit. Without the new-handler, std::bad_alloc thrown into
  // code built without exceptions ended in std::terminate and SIGABRT.
  std::unique_ptr<Subprocess> reef =
      Start({"/usr/bin/prlimit", "--as=1073741824", "--", kReefWithHooks, "--config",
             WriteFile("hog.toml", kServeConfig)},
            {"REEF_TEST_WORKERS=hog:allocate"});
  CHECK(WaitExitCode(*reef) == 1);
  CHECK(Has(reef->stderr_text(),
            " FATAL [hog] out of memory: an allocation failed; exiting with status 1\n"));
}

TEST_CASE("under the seccomp filter, a forbidden system call ends reef, naming the call") {
  const std::string list = WriteFile("seccomp-list.txt", std::string(40, 'a') + "\n");
  const std::string config = WriteFile(
      "seccomp.toml", std::string(kServeConfig) +
                          "[access_list]\nmode = \"allow\"\nreload_interval_seconds = 0\npath = \"" +
                          list + "\"\n");
  // Serving, reloading and stopping work under the filter: every other test here runs
  // with it too, this one checks that it is there.
  std::unique_ptr<Subprocess> reef =
      Start({kReefWithHooks, "--config", config}, {"REEF_TEST_WORKERS=intruder:forbidden"});
  CHECK(WaitExitCode(*reef) == 1);
  const std::string& log = reef->stderr_text();
  CHECK(Has(log, "seccomp: "));
  CHECK(Has(log, " system calls allowed; any other ends reef (exit 1, naming the call)"));
  CHECK(Has(log, " FATAL [intruder] seccomp: system call " + std::to_string(SYS_socket) +
                     " (socket) is not on reef's allow-list (server/common/seccomp.cc); "
                     "exiting with status 1\n"));
  CHECK_FALSE(Has(log, "was not stopped"));
}

TEST_CASE("[privileges] seccomp = false: no filter, so the forbidden call runs") {
  std::unique_ptr<Subprocess> reef = Start(
      {kReefWithHooks, "--config",
       WriteFile("no-seccomp.toml", std::string(kServeConfig) + "[privileges]\nseccomp = false\n")},
      {"REEF_TEST_WORKERS=intruder:forbidden"});
  CHECK(WaitExitCode(*reef) == 1);
  const std::string& log = reef->stderr_text();
  CHECK(Has(log, "worker intruder failed: INTERNAL: socket(2) was not stopped"));
  CHECK(Has(log, "seccomp: off ([privileges] seccomp = false)"));
  CHECK_FALSE(Has(log, "FATAL"));
}

// The uid of a running process, from /proc.
std::string UidLine(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) return line;
  }
  return "";
}

TEST_CASE("as root: an access list the user reef will run as cannot read stops it (exit 2)" *
          testing::NeedsRoot()) {
  // Root reads a 0600 root-owned list at start; every reload as nobody would then fail.
  char dir_template[] = "/tmp/reef-list-as-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  REQUIRE(chmod(dir.c_str(), 0755) == 0);
  const std::string list = dir + "/list.txt";
  {
    std::ofstream out(list);
    out << std::string(40, 'a') << "\n";
  }
  REQUIRE(chmod(list.c_str(), 0600) == 0);
  const std::string config = WriteFile(
      "list-as-nobody.toml", std::string(kServeConfig) +
                                 "[privileges]\nuser = \"nobody\"\n[access_list]\nmode = "
                                 "\"allow\"\nreload_interval_seconds = 0\npath = \"" +
                                 list + "\"\n");
  Result refused = Run({kReef, "--config", config});
  CHECK(refused.exit_code() == 2);
  CHECK(Has(refused.err, "access_list.path: cannot read \"" + list +
                             "\" as user \"nobody\": Permission denied"));
  // Readable by nobody: reef starts, drops to nobody and reloads on SIGUSR1.
  REQUIRE(chmod(list.c_str(), 0644) == 0);
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  WaitUntilRunning(*reef);
  CHECK(Has(reef->stderr_text(), "running as uid 65534"));
  REQUIRE(reef->Signal(SIGUSR1));
  CHECK_MESSAGE(reef->WaitForStderr("reloaded: 1 hashes (allow mode)", kStartLimit),
                reef->stderr_text());
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
  unlink(list.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("as root, [privileges] user = nobody: the serving process runs as nobody" *
          testing::NeedsRoot()) {
  const std::string config = WriteFile(
      "nobody.toml", std::string(kServeConfig) + "[privileges]\nuser = \"nobody\"\n");
  std::unique_ptr<Subprocess> reef = Start({kReef, "--config", config});
  WaitUntilRunning(*reef);
  CHECK(Has(reef->stderr_text(), "running as uid 65534, gid 65534"));
  CHECK(UidLine(reef->pid()) == "Uid:\t65534\t65534\t65534\t65534");
  REQUIRE(reef->Signal(SIGTERM));
  CHECK(WaitExitCode(*reef) == 0);
}

}  // namespace
}  // namespace reef
