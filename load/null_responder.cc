// null_responder: the do-nothing UDP tracker (responder.h), the ceiling of the bench.
//
//   null_responder --bind 127.0.0.1:0 [--peers 0] [--max_seconds 600]
//
// Prints "listening on ADDRESS" on stdout once bound, answers until SIGINT/SIGTERM or
// --max_seconds, then prints "answered N dropped M" and exits 0.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "load/responder.h"
#include "load/run.h"
#include "load/target.h"

ABSL_FLAG(std::string, bind, "127.0.0.1:0", "address to listen on; port 0 picks a free one");
ABSL_FLAG(int, peers, 0, "fixed peers in each announce reply (0..80)");
ABSL_FLAG(int, max_seconds, 600, "exit after this many seconds even if not told to (1..86400)");
ABSL_FLAG(bool, allow_non_loopback, false, "allow binding a non-loopback address");

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("A do-nothing BEP 15 responder: the kernel's UDP ceiling.");
  absl::ParseCommandLine(argc, argv);
  auto bind = reef::load::ParseEndpoint(absl::GetFlag(FLAGS_bind), /*allow_port_zero=*/true);
  if (!bind.ok()) {
    std::fprintf(stderr, "null_responder: %s\n", bind.status().ToString().c_str());
    return 2;
  }
  if (absl::Status s = reef::load::CheckTargetAllowed(*bind, absl::GetFlag(FLAGS_allow_non_loopback));
      !s.ok()) {
    std::fprintf(stderr, "null_responder: %s\n", s.ToString().c_str());
    return 2;
  }
  const int max_seconds = absl::GetFlag(FLAGS_max_seconds);
  if (max_seconds < 1 || max_seconds > 86400) {
    std::fprintf(stderr, "null_responder: --max_seconds must be in 1..86400\n");
    return 2;
  }
  auto responder = reef::load::NullResponder::Bind(*bind, absl::GetFlag(FLAGS_peers));
  if (!responder.ok()) {
    std::fprintf(stderr, "null_responder: %s\n", responder.status().ToString().c_str());
    return 2;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: recvmmsg returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::printf("listening on %s\n", (*responder)->local().ToString().c_str());
  std::fflush(stdout);
  const uint64_t deadline =
      reef::load::NowNs() + static_cast<uint64_t>(max_seconds) * 1'000'000'000u;
  absl::Status s = (*responder)->Serve(g_stop, deadline);
  std::printf("answered %llu dropped %llu\n",
              static_cast<unsigned long long>((*responder)->answered()),
              static_cast<unsigned long long>((*responder)->dropped()));
  if (!s.ok()) {
    std::fprintf(stderr, "null_responder: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
