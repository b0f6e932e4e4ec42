#include "testing/skip.h"

#include <unistd.h>

#include <map>
#include <ostream>
#include <utility>

namespace reef::testing {
namespace {

// Test case name -> why it is skipped. Filled while test cases register (before main).
std::map<std::string, std::string>& SkipReasons() {
  static auto* reasons = new std::map<std::string, std::string>();
  return *reasons;
}

// Prints the reason when doctest skips a case that SkipUnless marked (doctest also calls
// test_case_skipped for cases a -tc filter leaves out: those are not in the map).
struct SkipReporter : public doctest::IReporter {
  explicit SkipReporter(const doctest::ContextOptions& options) : out(*options.cout) {}

  void test_case_skipped(const doctest::TestCaseData& test_case) override {
    const auto it = SkipReasons().find(test_case.m_name);
    if (it == SkipReasons().end()) return;
    out << "[doctest] SKIPPED \"" << test_case.m_name << "\": " << it->second << "\n";
  }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}

  std::ostream& out;
};

REGISTER_LISTENER("reef-skips", 1, SkipReporter);

}  // namespace

void SkipUnless::fill(doctest::detail::TestCase& test_case) const {
  test_case.m_skip = skip_;
  if (skip_) SkipReasons()[test_case.m_name] = reason_;
}

SkipUnless NeedsRoot() {
  const uid_t euid = geteuid();
  return SkipUnless(euid == 0, "needs root (effective uid " + std::to_string(euid) + ")");
}

}  // namespace reef::testing
