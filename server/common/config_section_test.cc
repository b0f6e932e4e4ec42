// The config machinery on its own, with two sections that exist only in this test: what
// a new section gets from one Section<T> and one Bind line, with no change to the
// machinery (which is built here without any of reef's real sections).
#include "server/common/config_section.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace reef::config {
namespace {

// ---- A section as a protocol would write it (see config_section.h's recipe) ----

enum class Tone { kPlain, kLoud };
std::string_view ToneName(Tone tone) { return tone == Tone::kLoud ? "loud" : "plain"; }

struct GreetingConfig {
  bool enabled = true;
  std::string text = "hello";
  Tone tone = Tone::kPlain;
  int repeat = 1;
  absl::Duration pause = absl::Seconds(5);
  std::vector<SocketAddress> listen = {*SocketAddress::Parse("127.0.0.1:7")};
  std::vector<int> cpus;
  friend bool operator==(const GreetingConfig&, const GreetingConfig&) = default;
};

void CheckGreeting(const GreetingConfig& greeting, Problems& problems) {
  if (greeting.enabled && greeting.text.empty()) problems.Add("text", "is empty while enabled");
}

int system_checks_run = 0;
void CheckGreetingSystem(const GreetingConfig& greeting, Problems& problems) {
  ++system_checks_run;
  if (greeting.text == "unreachable") problems.Add("text", "no such host");
}

const Section<GreetingConfig>& GreetingSection() {
  static const auto* section = [] {
    auto* s = new Section<GreetingConfig>("greeting", "Says hello.\nTwo lines of text.");
    s->Key("enabled", &GreetingConfig::enabled, Bool(), "Whether to greet.");
    s->Key("text", &GreetingConfig::text, String(&NoNul), "What to say.");
    s->Key("tone", &GreetingConfig::tone, Enum<Tone>({Tone::kPlain, Tone::kLoud}, &ToneName),
           "How to say it.");
    s->Key("repeat", &GreetingConfig::repeat, Int(1, 9, "a greeting is short"), "How many times.");
    s->Key("pause_seconds", &GreetingConfig::pause, Seconds(0, 60), "Between times.");
    s->Key("listen", &GreetingConfig::listen, SocketAddressList(3), "Where.");
    s->Key("cpus", &GreetingConfig::cpus, IntList(0, 7, 2), "On which CPUs.");
    s->Check(&CheckGreeting);
    s->CheckSystem(&CheckGreetingSystem);
    return s;
  }();
  return *section;
}

// A second section whose rule reads the first (CheckWith), and blames either side.
struct EchoConfig {
  int times = 1;
  friend bool operator==(const EchoConfig&, const EchoConfig&) = default;
};

void CheckEchoAgainstGreeting(const EchoConfig& echo, const GreetingConfig& greeting,
                              Problems& problems) {
  if (echo.times > greeting.repeat) {
    problems.Add("times", StrCat("must be at most greeting.repeat (", greeting.repeat, ")"));
  }
  if (echo.times == 7 && greeting.tone == Tone::kLoud) {
    problems.AddFor("greeting", "tone", "is too loud for 7 echoes");
  }
}

// A machine check that needs the other section too (CheckSystemWith).
void CheckEchoSystem(const EchoConfig& echo, const GreetingConfig& greeting, Problems& problems) {
  if (echo.times > 0 && greeting.text == "unreachable") {
    problems.Add("times", "cannot echo an unreachable greeting");
  }
}

const Section<EchoConfig>& EchoSection() {
  static const auto* section = [] {
    auto* s = new Section<EchoConfig>("echo", "Repeats.");
    s->Key("times", &EchoConfig::times, Int(0, 100), "How often.");
    s->CheckWith(GreetingSection(), &CheckEchoAgainstGreeting);
    s->CheckSystemWith(GreetingSection(), &CheckEchoSystem);
    return s;
  }();
  return *section;
}

// ---- The aggregate and its registration lines ----

struct TestConfig {
  GreetingConfig greeting;
  EchoConfig echo;
  friend bool operator==(const TestConfig&, const TestConfig&) = default;
};

const Schema<TestConfig>& TestSchema() {
  static const auto* schema = new Schema<TestConfig>(
      "A test file.\n\nSecond paragraph.", {
                                               Bind(&TestConfig::greeting, GreetingSection()),
                                               Bind(&TestConfig::echo, EchoSection()),
                                           });
  return *schema;
}

std::string Error(const std::string& toml) {
  absl::StatusOr<TestConfig> parsed = TestSchema().Parse(toml, "t.toml");
  if (parsed.ok()) return "";
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST_CASE("an empty file gives the struct's defaults; a key overrides only itself") {
  absl::StatusOr<TestConfig> empty = TestSchema().Parse("", "t.toml");
  REQUIRE_MESSAGE(empty.ok(), empty.status());
  CHECK(*empty == TestConfig{});
  absl::StatusOr<TestConfig> some = TestSchema().Parse("[echo]\ntimes = 0\n", "t.toml");
  REQUIRE_MESSAGE(some.ok(), some.status());
  TestConfig expected;
  expected.echo.times = 0;
  CHECK(*some == expected);
}

TEST_CASE("Render writes every section and key under its text, and Parse reads it back") {
  const std::string text = TestSchema().Render(TestConfig{});
  CHECK(text ==
        "# A test file.\n"
        "#\n"
        "# Second paragraph.\n"
        "\n"
        "# Says hello.\n"
        "# Two lines of text.\n"
        "[greeting]\n"
        "\n"
        "# Whether to greet.\n"
        "enabled = true\n"
        "\n"
        "# What to say.\n"
        "text = \"hello\"\n"
        "\n"
        "# How to say it.\n"
        "tone = \"plain\"\n"
        "\n"
        "# How many times.\n"
        "repeat = 1\n"
        "\n"
        "# Between times.\n"
        "pause_seconds = 5\n"
        "\n"
        "# Where.\n"
        "listen = [\"127.0.0.1:7\"]\n"
        "\n"
        "# On which CPUs.\n"
        "cpus = []\n"
        "\n"
        "# Repeats.\n"
        "[echo]\n"
        "\n"
        "# How often.\n"
        "times = 1\n");
  TestConfig changed;
  changed.greeting = {false,
                      "a \"b\"\n\\",
                      Tone::kLoud,
                      9,
                      absl::Seconds(60),
                      {*SocketAddress::Parse("[::1]:1"), *SocketAddress::Parse("10.0.0.1:2")},
                      {7, 0}};
  changed.echo.times = 9;
  absl::StatusOr<TestConfig> back = TestSchema().Parse(TestSchema().Render(changed), "r.toml");
  REQUIRE_MESSAGE(back.ok(), back.status());
  CHECK(*back == changed);
}

TEST_CASE("unknown sections and keys, and keys outside a section, are refused with the line") {
  CHECK(Error("\n[http]\nx = 1\n") ==
        "t.toml:2: unknown section [http] (reef knows greeting, echo)");
  CHECK(Error("[echo]\ntimez = 1\n") == "t.toml:2: echo.timez: unknown key");
  CHECK(Error("times = 1\n") == "t.toml:1: times: unknown key (keys belong in a section)");
  CHECK(Error("echo = 5\n") ==
        "t.toml:1: echo: expected a table, got an integer (write [echo] above its keys)");
  CHECK(Error("[echo.sub]\n") == "t.toml:1: echo.sub: unknown key");
  // Key names that are not bare keys are quoted, so every message stays one line.
  CHECK(Error("[echo]\n\"a b\\n\" = 1\n") == "t.toml:2: echo.\"a b\\n\": unknown key");
  CHECK(Error("[\"x\\u0001\"]\n") ==
        "t.toml:1: unknown section [\"x\\u0001\"] (reef knows greeting, echo)");
}

TEST_CASE("each kind of key refuses the wrong type and values out of range") {
  CHECK(Error("[greeting]\nenabled = 1\n") ==
        "t.toml:2: greeting.enabled: expected true or false, got an integer");
  CHECK(Error("[greeting]\ntext = 1.5\n") ==
        "t.toml:2: greeting.text: expected a string, got a floating-point number");
  CHECK(Error("[greeting]\ntext = \"a\\u0000\"\n") ==
        "t.toml:2: greeting.text: must not contain NUL characters");
  CHECK(Error("[greeting]\ntext = \"a\\tb\"\n").empty());  // NoNul lets a tab through
  CHECK(NoControl("reef") == std::nullopt);
  CHECK(NoControl("r\xc3\xa9"
                  "ef") == std::nullopt);
  for (const char* bad : {"a\nb", "\t", "x\x7f", "\x1b[31m"}) {
    CHECK(NoControl(bad) == "must not contain control characters");
  }
  CHECK(Error("[greeting]\ntone = \"quiet\"\n") ==
        "t.toml:2: greeting.tone: must be one of \"plain\", \"loud\", got \"quiet\"");
  CHECK(Error("[greeting]\ntone = true\n") ==
        "t.toml:2: greeting.tone: expected one of \"plain\", \"loud\", got a boolean");
  CHECK(Error("[greeting]\nrepeat = 10\n") ==
        "t.toml:2: greeting.repeat: must be from 1 to 9 (a greeting is short), got 10");
  CHECK(Error("[greeting]\nrepeat = 9\n").empty());
  CHECK(Error("[echo]\ntimes = -1\n") == "t.toml:2: echo.times: must be from 0 to 100, got -1");
  CHECK(Error("[greeting]\npause_seconds = 61\n") ==
        "t.toml:2: greeting.pause_seconds: must be from 0 to 60 seconds, got 61");
  CHECK(Error("[greeting]\npause_seconds = 1979-05-27T00:00:00Z\n") ==
        "t.toml:2: greeting.pause_seconds: expected an integer (seconds), got a date-time");
  CHECK(Error("[greeting]\nlisten = [\"1.1.1.1:1\", \"1.1.1.1:2\", \"1.1.1.1:3\"]\n").empty());
  CHECK(Error("[greeting]\nlisten = [\"1.1.1.1:1\", \"1.1.1.1:2\", \"1.1.1.1:3\", "
              "\"1.1.1.1:4\"]\n") ==
        "t.toml:2: greeting.listen: must list at most 3 addresses, got 4");
  CHECK(Error("[greeting]\nlisten = [\"1.1.1.1:1\", \"1.1.1.1:1\"]\n") ==
        "t.toml:2: greeting.listen: \"1.1.1.1:1\" is listed twice");
  CHECK(Error("[greeting]\nlisten = [[]]\n") ==
        "t.toml:2: greeting.listen: expected \"ADDRESS:PORT\" strings, got an array");
  CHECK(Error("[greeting]\ncpus = [0, 1, 2]\n") ==
        "t.toml:2: greeting.cpus: must list at most 2 integers, got 3");
  CHECK(Error("[greeting]\ncpus = [8]\n") ==
        "t.toml:2: greeting.cpus: each must be from 0 to 7, got 8");
  CHECK(Error("[greeting]\ncpus = {}\n") ==
        "t.toml:2: greeting.cpus: expected an array of integers, got a table");
}

// Found by reading SocketAddress::Parse, which quotes the text it refuses as it is, and
// confirmed by config_loader_fuzzer's one-line-per-problem property on these bytes: a
// newline in an address split one problem over two lines, the second not starting with
// the file name, and an escape sequence reached the terminal raw.
TEST_CASE("an address with control characters is refused in one printable line") {
  CHECK(Error("[greeting]\nlisten = [\"a\\nb:1\"]\n") ==
        "t.toml:2: greeting.listen: \"a\\nb:1\" is not an address");
  CHECK(Error("[greeting]\nlisten = [\"\\u001b[31m:1\"]\n") ==
        "t.toml:2: greeting.listen: \"\\u001B[31m:1\" is not an address");
  CHECK(Error("[greeting]\nlisten = [\"\\u007f1.2.3.4:1\"]\n") ==
        "t.toml:2: greeting.listen: \"\\u007F1.2.3.4:1\" is not an address");
}

TEST_CASE("a refused value leaves the field as it was; Read(Render(x)) == x") {
  Value wrong;
  wrong.type = ValueType::kString;
  wrong.string = "x";
  int n = 3;
  CHECK(Int(0, 5).Read(wrong, n).has_value());
  CHECK(n == 3);
  Value big;
  big.type = ValueType::kInteger;
  big.integer = 6;
  CHECK(Int(0, 5).Read(big, n).has_value());
  CHECK(n == 3);
  std::vector<int> list = {1};
  Value mixed;
  mixed.type = ValueType::kArray;
  mixed.children = {big, wrong};
  CHECK(IntList(0, 9, 5).Read(mixed, list).has_value());
  CHECK(list == std::vector<int>{1});

  // Each kind's rendering parses back (through TOML) to the same value.
  auto read_back = [](const std::string& rendered) {
    absl::StatusOr<Value> root = ParseToml("v = " + rendered + "\n", "k.toml");
    REQUIRE_MESSAGE(root.ok(), root.status());
    return root->children.at(0);
  };
  absl::Duration d;
  CHECK_FALSE(Seconds(0).Read(read_back(Seconds(0).Render(absl::Seconds(604800))), d));
  CHECK(d == absl::Seconds(604800));
  std::string s;
  const std::string tricky("\"\\\n\x01\xc3\xa9\0", 7);
  CHECK_FALSE(String().Read(read_back(String().Render(tricky)), s));
  CHECK(s == tricky);
  std::vector<SocketAddress> addresses;
  const std::vector<SocketAddress> two = {*SocketAddress::Parse("[::]:0"),
                                          *SocketAddress::Parse("0.0.0.0:65535")};
  CHECK_FALSE(SocketAddressList(2).Read(read_back(SocketAddressList(2).Render(two)), addresses));
  CHECK(addresses == two);
  bool b = false;
  CHECK_FALSE(Bool().Read(read_back(Bool().Render(true)), b));
  CHECK(b);
  Tone tone = Tone::kPlain;
  const Enum<Tone> tones({Tone::kPlain, Tone::kLoud}, &ToneName);
  CHECK_FALSE(tones.Read(read_back(tones.Render(Tone::kLoud)), tone));
  CHECK(tone == Tone::kLoud);
}

TEST_CASE("checks run after the keys read, at the line of the key they blame") {
  CHECK(Error("[greeting]\ntext = \"\"\n") == "t.toml:2: greeting.text: is empty while enabled");
  CHECK(Error("[greeting]\nenabled = false\ntext = \"\"\n").empty());
  // A CheckWith reads the other section; a key the file did not set gets no line.
  CHECK(Error("[echo]\ntimes = 2\n") ==
        "t.toml:2: echo.times: must be at most greeting.repeat (1)");
  CHECK(Error("[greeting]\nrepeat = 7\ntone = \"loud\"\n[echo]\ntimes = 7\n") ==
        "t.toml:3: greeting.tone: is too loud for 7 echoes");
  CHECK(Error("[greeting]\nrepeat = 7\n[echo]\ntimes = 7\n\n[greeting.x]\n") ==
        "t.toml:6: greeting.x: unknown key");  // checks wait for a file that reads
  CHECK(Error("[greeting]\nrepeat = 0\ntext = \"\"\n") ==
        "t.toml:2: greeting.repeat: must be from 1 to 9 (a greeting is short), got 0");
}

TEST_CASE("system checks run only in CheckSystem, never while parsing or rendering") {
  system_checks_run = 0;
  TestConfig config;
  config.greeting.text = "unreachable";
  const std::string text = TestSchema().Render(config);
  CHECK(TestSchema().Parse(text, "t.toml").ok());
  CHECK(system_checks_run == 0);
  CHECK(TestSchema().CheckSystem(config).message() ==
        "config: greeting.text: no such host\n"
        "config: echo.times: cannot echo an unreachable greeting");
  CHECK(system_checks_run == 1);
  CHECK(TestSchema().CheckSystem(TestConfig{}).ok());
}

TEST_CASE("problems come in file order, at most kMaxListedProblems of them") {
  CHECK(Error("[greeting]\nrepeat = 0\ntone = 1\n[echo]\ntimes = \"x\"\n") ==
        "t.toml:2: greeting.repeat: must be from 1 to 9 (a greeting is short), got 0\n"
        "t.toml:3: greeting.tone: expected one of \"plain\", \"loud\", got an integer\n"
        "t.toml:5: echo.times: expected an integer, got a string");
  std::string many = "[echo]\n";
  for (int i = 0; i < 250; ++i) many += "k" + std::to_string(i) + " = 1\n";
  const std::string error = Error(many);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < error.size()) {
    size_t end = error.find('\n', start);
    if (end == std::string::npos) end = error.size();
    lines.push_back(error.substr(start, end - start));
    start = end + 1;
  }
  REQUIRE(lines.size() == kMaxListedProblems + 1);
  CHECK(lines.front() == "t.toml:2: echo.k0: unknown key");
  CHECK(lines[kMaxListedProblems - 1] == "t.toml:101: echo.k99: unknown key");
  CHECK(lines.back() == "t.toml: 150 more problems not listed");
}

TEST_CASE("ReadConfigFile reads a file, and says so when it cannot") {
  const char* dir = getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/section_test.toml";
  FILE* f = fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  fputs("[echo]\ntimes = 0\n", f);
  fclose(f);
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  REQUIRE(text.ok());
  CHECK(*text == "[echo]\ntimes = 0\n");
  f = fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  const std::string big(kMaxTomlBytes + 1, '#');
  fwrite(big.data(), 1, big.size(), f);
  fclose(f);
  CHECK(ReadConfigFile(path).status().message() ==
        "config file " + path + " is larger than 1048576 bytes");
  CHECK(ReadConfigFile(path + ".missing").status().message() ==
        "cannot open config file " + path + ".missing: No such file or directory");
}

}  // namespace
}  // namespace reef::config

namespace reef::config {
namespace {

// A section inside another's table: [greeting.echo].
const Section<EchoConfig>& InnerEchoSection() {
  static const auto* section = [] {
    auto* s = new Section<EchoConfig>("greeting.echo", "Repeats, inside greeting.");
    s->Key("times", &EchoConfig::times, Int(0, 100), "How often.");
    return s;
  }();
  return *section;
}

struct NestedConfig {
  GreetingConfig greeting;
  EchoConfig inner;
  friend bool operator==(const NestedConfig&, const NestedConfig&) = default;
};

const Schema<NestedConfig>& NestedSchema() {
  static const auto* schema = new Schema<NestedConfig>(
      "Nested.", {Bind(&NestedConfig::greeting, GreetingSection()),
                  Bind(&NestedConfig::inner, InnerEchoSection())});
  return *schema;
}

TEST_CASE("a dotted section is the table inside its parent's: read, refused, rendered") {
  absl::StatusOr<NestedConfig> parsed =
      NestedSchema().Parse("[greeting]\nrepeat = 2\n[greeting.echo]\ntimes = 3\n", "n.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(parsed->greeting.repeat == 2);
  CHECK(parsed->inner.times == 3);
  // Without its parent's own keys, and as an inline table, too.
  parsed = NestedSchema().Parse("[greeting.echo]\ntimes = 4\n", "n.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(parsed->inner.times == 4);
  parsed = NestedSchema().Parse("[greeting]\necho = { times = 5 }\n", "n.toml");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status());
  CHECK(parsed->inner.times == 5);

  absl::StatusOr<NestedConfig> bad = NestedSchema().Parse("[greeting.echo]\ntimez = 1\n", "n.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()) == "n.toml:2: greeting.echo.timez: unknown key");
  // A quoted top-level name with a dot is not the nested section.
  bad = NestedSchema().Parse("[\"greeting.echo\"]\ntimes = 1\n", "n.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("unknown section") != std::string::npos);

  NestedConfig changed;
  changed.inner.times = 9;
  const std::string text = NestedSchema().Render(changed);
  CHECK(text.find("\n[greeting.echo]\n") != std::string::npos);
  absl::StatusOr<NestedConfig> back = NestedSchema().Parse(text, "r.toml");
  REQUIRE_MESSAGE(back.ok(), back.status());
  CHECK(*back == changed);
}

}  // namespace
}  // namespace reef::config
