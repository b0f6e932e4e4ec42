// reef's config machinery: sections that own their keys, and the schema that reads and
// writes a file of them. It knows no section by name; each section lives beside the code
// it configures and is registered in one line (server/config.h).
//
// A section is a plain struct whose member initializers are the defaults, plus a
// config::Section<T> that says, for each key: its name, the member it fills, the kind of
// value with its range (config_keys.h), and the text --print-config prints above it
// (what the key does and why its default is what it is). Checks that involve more than
// one key, or another section, or the machine, hang off the same object.
//
// ## How to add a section (say [http])
//
// 1. server/http/http_config.h: the struct, defaults as member initializers, and
//      struct HttpConfig {
//        bool enabled = false;
//        std::vector<SocketAddress> listen = {...};
//        friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
//      };
//      const config::Section<HttpConfig>& HttpSection();
// 2. server/http/http_config.cc: the section, built once:
//      const config::Section<HttpConfig>& HttpSection() {
//        static const auto* section = [] {
//          auto* s = new config::Section<HttpConfig>("http", "The HTTP tracker protocol.");
//          s->Key("enabled", &HttpConfig::enabled, config::Bool(), "Serve HTTP ...");
//          s->Check(&CheckHttp);   // optional: rules across its keys
//          return s;
//        }();
//        return *section;
//      }
//    and a reef_cc_library for them depending on //server/common:config_section.
// 3. server/config.h: a member `HttpConfig http;` in Config and its registration line
//    `config::Bind(&Config::http, HttpSection()),` in ConfigSchema(), where it should
//    appear in --print-config; the library joins //server:config's deps.
// That is all: parsing, unknown-key errors with file and line, --print-config, the round
// trip ParseConfig(RenderConfig(c)) == c, and CheckConfigAgainstSystem pick it up. Then
// the tests: server/config_proptest.cc's RandomValidConfig() gives the new fields random
// valid values (so the round trip covers them), server/config_test.cc's
// "every section and key ... has a comment" counts them, and each limit gets a test at it
// and just past it. The section itself needs no test of the machinery:
// config_section_test.cc builds two test-only sections exactly this way.
//
// A table inside a section's table is a section of its own named with a dot: register
// config::Section<HttpTlsConfig>("http.tls", ...) after [http], and the file's
// [http.tls] table (TOML's table inside [http]) is read into it; --print-config writes it
// as [http.tls] after [http].
//
// ## How to add a key
//
// A member with its default in the struct, and one Key(...) line in the section, in the
// order --print-config should show it. The text says what the key does, its range, and
// why the default is what it is; wrap it at about 88 columns with '\n'. Take limits from
// the code the key configures (protocol/udp's sizes, the store's limits), never a copy of
// a number; a range the text states must be the kind's. A rule that ties keys together is
// a Check; a rule that needs another section is a CheckWith on the section that owns the
// rule (see [udp]'s check against [swarm] in server/udp/udp_config.cc); anything that
// asks the machine (files, users, CPUs) is a CheckSystem, or a CheckSystemWith when it
// needs another section (say, the access list read as [privileges] user), which
// --print-config and parsing never run. The kinds of key are in config_keys.h; a key
// that needs a new kind (a size with units, a list of paths) gets one there if other
// sections may use it, else beside its section.
//
// ## What a check sees
//
// Checks run after every key of the file was read without a problem, so values are in
// range. They report through config::Problems, naming a key; the message gets the file
// and the line where the file set that key, or just the file when it did not:
//   test.toml:4: udp.max_datagram_size: is too small for ...
#ifndef REEF_SERVER_COMMON_CONFIG_SECTION_H_
#define REEF_SERVER_COMMON_CONFIG_SECTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/common/config_keys.h"
#include "server/common/config_toml.h"

namespace reef::config {

// At most this many problems are listed for one file, in file order; a last line says
// how many more there were. A file of 100,000 misspelt keys gets a readable answer.
inline constexpr size_t kMaxListedProblems = 100;

// Collects problems as "<source>:<line>: <section>.<key>: <reason>" lines.
class ProblemList {
 public:
  explicit ProblemList(std::string_view source) : source_(source) {}

  // `key` may be empty (a problem with the file rather than a key); line 0 is unknown.
  void Add(uint32_t line, std::string_view key, std::string_view reason);
  // Where the file set `key` ("udp.listen"), for problems found later by checks.
  void RememberLine(const std::string& key, uint32_t line) { key_lines_[key] = line; }
  // A problem with a key that may not be in the file: at its line if it is.
  void AddForKey(const std::string& key, std::string_view reason);

  bool empty() const { return lines_.empty(); }
  // OK when empty; else InvalidArgument, one problem a line, in file order (problems
  // without a line last).
  absl::Status ToStatus() const;

 private:
  std::string source_;
  std::vector<std::pair<uint32_t, std::string>> lines_;
  std::map<std::string, uint32_t> key_lines_;
};

// What a section's check reports to.
class Problems {
 public:
  Problems(ProblemList& list, std::string_view section) : list_(list), section_(section) {}
  // A problem with `key` of the section being checked.
  void Add(std::string_view key, std::string_view reason);
  // A problem with `key` of another section (a CheckWith that blames the other side).
  void AddFor(std::string_view section, std::string_view key, std::string_view reason);

 private:
  ProblemList& list_;
  std::string_view section_;
};

// `name` as a TOML key: bare when it can be, else a quoted, escaped string. Used for
// every key a message or the rendered file names, so both stay one printable line.
std::string KeyText(std::string_view name);

// The part of a section that does not depend on its struct; see Section<T> below.
class SectionBase {
 public:
  SectionBase(const SectionBase&) = delete;
  SectionBase& operator=(const SectionBase&) = delete;
  virtual ~SectionBase() = default;

  std::string_view name() const { return name_; }
  std::string_view doc() const { return doc_; }

  class KeyBase {
   public:
    KeyBase(std::string_view name, std::string_view doc) : name_(name), doc_(doc) {}
    virtual ~KeyBase() = default;
    std::string_view name() const { return name_; }
    std::string_view doc() const { return doc_; }
    // Stores the value in the section struct at `section`, or returns why it cannot
    // (leaving the struct as it was).
    virtual std::optional<std::string> Read(const Value& value, void* section) const = 0;
    // The value's TOML text.
    virtual std::string Render(const void* section) const = 0;

   private:
    std::string_view name_;
    std::string_view doc_;
  };

  struct CheckEntry {
    const SectionBase* other;  // the section it also reads, or nullptr
    bool system;               // asks the machine: run by CheckSystem only
    std::function<void(const void* self, const void* other, Problems&)> run;
  };

  const std::vector<std::unique_ptr<KeyBase>>& keys() const { return keys_; }
  const KeyBase* FindKey(std::string_view name) const;
  const std::vector<CheckEntry>& checks() const { return checks_; }

 protected:
  SectionBase(std::string_view name, std::string_view doc);
  // Both abort on a programming error (a repeated key name, a key without text), which
  // any test that builds the section finds.
  void AddKey(std::unique_ptr<KeyBase> key);
  void AddCheck(CheckEntry check) { checks_.push_back(std::move(check)); }

 private:
  std::string_view name_;
  std::string_view doc_;
  std::vector<std::unique_ptr<KeyBase>> keys_;
  std::vector<CheckEntry> checks_;
};

// The keys and checks of a section whose values live in a struct T. Build it once (a
// function-local static) and never change it afterwards; name, doc and the key texts
// are string literals (the section keeps views of them).
template <typename T>
class Section final : public SectionBase {
 public:
  Section(std::string_view name, std::string_view doc) : SectionBase(name, doc) {}

  // A key `name` stored in `field`, read and written as `kind` (config_keys.h).
  template <typename Kind>
  Section& Key(std::string_view name, typename Kind::Type T::*field, Kind kind,
               std::string_view doc) {
    AddKey(std::make_unique<BoundKey<Kind>>(name, doc, field, std::move(kind)));
    return *this;
  }

  // A rule across this section's keys, run after parsing.
  Section& Check(std::type_identity_t<void (*)(const T&, Problems&)> check) {
    return AddCheckOf(/*system=*/false, check);
  }

  // A rule that also reads another section, run after parsing. The other section must be
  // registered in the same schema (the schema aborts at construction otherwise).
  template <typename Other>
  Section& CheckWith(const Section<Other>& other,
                     std::type_identity_t<void (*)(const T&, const Other&, Problems&)> check) {
    return AddCheckWith(other, /*system=*/false, check);
  }

  // What depends on the machine (a file can be read, a user exists, a CPU is usable):
  // run by CheckSystem(), never by parsing or rendering.
  Section& CheckSystem(std::type_identity_t<void (*)(const T&, Problems&)> check) {
    return AddCheckOf(/*system=*/true, check);
  }

  template <typename Other>
  Section& CheckSystemWith(
      const Section<Other>& other,
      std::type_identity_t<void (*)(const T&, const Other&, Problems&)> check) {
    return AddCheckWith(other, /*system=*/true, check);
  }

 private:
  Section& AddCheckOf(bool system, void (*check)(const T&, Problems&)) {
    AddCheck({nullptr, system, [check](const void* self, const void*, Problems& problems) {
                check(*static_cast<const T*>(self), problems);
              }});
    return *this;
  }

  template <typename Other>
  Section& AddCheckWith(const Section<Other>& other, bool system,
                        void (*check)(const T&, const Other&, Problems&)) {
    AddCheck({&other, system, [check](const void* self, const void* that, Problems& problems) {
                check(*static_cast<const T*>(self), *static_cast<const Other*>(that), problems);
              }});
    return *this;
  }

  template <typename Kind>
  class BoundKey final : public KeyBase {
   public:
    BoundKey(std::string_view name, std::string_view doc, typename Kind::Type T::*field, Kind kind)
        : KeyBase(name, doc), field_(field), kind_(std::move(kind)) {}
    std::optional<std::string> Read(const Value& value, void* section) const override {
      return kind_.Read(value, static_cast<T*>(section)->*field_);
    }
    std::string Render(const void* section) const override {
      return kind_.Render(static_cast<const T*>(section)->*field_);
    }

   private:
    typename Kind::Type T::*field_;
    Kind kind_;
  };
};

// The part of a schema that does not depend on the aggregate struct; see Schema<C>.
class SchemaBase {
 public:
  struct Entry {
    const SectionBase* section;
    std::function<void*(void*)> get;  // the section's struct inside the aggregate
  };

  // Aborts on a programming error: two sections of one name, a CheckWith whose other
  // section is not registered.
  SchemaBase(std::string_view preamble, std::vector<Entry> sections);

  const std::vector<Entry>& sections() const { return sections_; }

 protected:
  absl::Status ParseInto(std::string_view text, std::string_view source, void* aggregate) const;
  std::string RenderFrom(const void* aggregate) const;
  absl::Status CheckSystemOf(const void* aggregate) const;

 private:
  const Entry* Find(std::string_view name) const;
  // Reads the keys of `table` into `entry`'s section, and the tables in it into the
  // sections named after them ("http" holding "tls" is [http.tls]).
  void ReadSection(const Entry& entry, const Value& table, void* aggregate,
                   ProblemList& problems) const;
  void RunChecks(void* aggregate, bool system, ProblemList& problems) const;

  std::string_view preamble_;
  std::vector<Entry> sections_;
};

// A section bound to its member of the aggregate config struct C.
template <typename C>
struct Bound {
  const SectionBase* section;
  std::function<void*(C&)> get;
};

template <typename C, typename T>
Bound<C> Bind(T C::*member, const Section<T>& section) {
  return {&section, [member](C& config) -> void* { return &(config.*member); }};
}

// The whole file: the sections of an aggregate struct C (whose members are the section
// structs), in the order --print-config writes them, under a preamble (plain text; it is
// printed as a comment at the top).
template <typename C>
class Schema final : public SchemaBase {
 public:
  Schema(std::string_view preamble, std::vector<Bound<C>> sections)
      : SchemaBase(preamble, Erase(std::move(sections))) {}

  // TOML text over the defaults C{}: keys that are absent keep their default. `source`
  // names the text in messages. Every problem found is reported, one a line, in one
  // InvalidArgument status: "<source>:<line>: <section>.<key>: <reason>".
  absl::StatusOr<C> Parse(std::string_view text, std::string_view source) const {
    C config;
    if (absl::Status parsed = ParseInto(text, source, &config); !parsed.ok()) return parsed;
    return config;
  }

  // Every section and key, each under its text; Parse(Render(c)) == c for every c that
  // Parse can return.
  std::string Render(const C& config) const { return RenderFrom(&config); }

  // Runs every CheckSystem; problems read "config: <section>.<key>: <reason>".
  absl::Status CheckSystem(const C& config) const { return CheckSystemOf(&config); }

 private:
  static std::vector<Entry> Erase(std::vector<Bound<C>> sections) {
    std::vector<Entry> entries;
    for (Bound<C>& bound : sections) {
      entries.push_back({bound.section, [get = std::move(bound.get)](void* config) {
                           return get(*static_cast<C*>(config));
                         }});
    }
    return entries;
  }
};

// Reads a whole config file, refusing one larger than kMaxTomlBytes without reading it
// all. Errors (InvalidArgument) name the path and the reason.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

}  // namespace reef::config

#endif  // REEF_SERVER_COMMON_CONFIG_SECTION_H_
