#include "server/common/config_section.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_join.h"
#include "server/common/strings.h"

namespace reef::config {
namespace {

// A wiring mistake in a section or schema: every test that builds it ends here.
[[noreturn]] void Misconfigured(std::string_view what) {
  fprintf(stderr, "reef config schema: %.*s\n", static_cast<int>(what.size()), what.data());
  abort();
}

bool IsBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

std::string KeyText(std::string_view name) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), IsBareKeyChar)) {
    return std::string(name);
  }
  return TomlString(name);
}

void ProblemList::Add(uint32_t line, std::string_view key, std::string_view reason) {
  const std::string where = line > 0 ? StrCat(source_, ":", line) : source_;
  lines_.emplace_back(line > 0 ? line : UINT32_MAX, key.empty()
                                                        ? StrCat(where, ": ", reason)
                                                        : StrCat(where, ": ", key, ": ", reason));
}

void ProblemList::AddForKey(const std::string& key, std::string_view reason) {
  auto it = key_lines_.find(key);
  Add(it == key_lines_.end() ? 0 : it->second, key, reason);
}

absl::Status ProblemList::ToStatus() const {
  if (lines_.empty()) return absl::OkStatus();
  // In file order (tables hand out keys sorted by name); problems without a line last.
  std::vector<std::pair<uint32_t, std::string>> sorted = lines_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> texts;
  for (auto& [line, text] : sorted) {
    if (texts.size() == kMaxListedProblems) break;
    texts.push_back(std::move(text));
  }
  if (sorted.size() > kMaxListedProblems) {
    texts.push_back(
        StrCat(source_, ": ", sorted.size() - kMaxListedProblems, " more problems not listed"));
  }
  return absl::InvalidArgumentError(absl::StrJoin(texts, "\n"));
}

void Problems::Add(std::string_view key, std::string_view reason) { AddFor(section_, key, reason); }

void Problems::AddFor(std::string_view section, std::string_view key, std::string_view reason) {
  list_.AddForKey(StrCat(section, ".", key), reason);
}

// A section name is a bare key, or bare keys joined by dots for a table inside another
// section's table ("http.tls").
bool IsSectionName(std::string_view name) {
  while (true) {
    const size_t dot = name.find('.');
    const std::string_view part = name.substr(0, dot);
    if (part.empty() || KeyText(part) != part) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

SectionBase::SectionBase(std::string_view name, std::string_view doc) : name_(name), doc_(doc) {
  if (!IsSectionName(name)) Misconfigured(StrCat("bad section name ", name));
  if (doc.empty()) Misconfigured(StrCat("section [", name, "] has no text"));
}

const SectionBase::KeyBase* SectionBase::FindKey(std::string_view name) const {
  for (const auto& key : keys_) {
    if (key->name() == name) return key.get();
  }
  return nullptr;
}

void SectionBase::AddKey(std::unique_ptr<KeyBase> key) {
  const std::string path = StrCat(name_, ".", key->name());
  if (key->name().empty() || KeyText(key->name()) != key->name()) {
    Misconfigured(StrCat("bad key name ", path));
  }
  if (FindKey(key->name()) != nullptr) Misconfigured(StrCat(path, " is registered twice"));
  if (key->doc().empty()) Misconfigured(StrCat(path, " has no text"));
  keys_.push_back(std::move(key));
}

SchemaBase::SchemaBase(std::string_view preamble, std::vector<Entry> sections)
    : preamble_(preamble), sections_(std::move(sections)) {
  for (size_t i = 0; i < sections_.size(); ++i) {
    const SectionBase& section = *sections_[i].section;
    for (size_t j = 0; j < i; ++j) {
      if (sections_[j].section->name() == section.name()) {
        Misconfigured(StrCat("section [", section.name(), "] is registered twice"));
      }
    }
  }
  for (const Entry& entry : sections_) {
    for (const SectionBase::CheckEntry& check : entry.section->checks()) {
      if (check.other != nullptr && Find(check.other->name()) == nullptr) {
        Misconfigured(StrCat("[", entry.section->name(), "] has a check that reads [",
                             check.other->name(), "], which is not registered"));
      }
    }
  }
}

const SchemaBase::Entry* SchemaBase::Find(std::string_view name) const {
  for (const Entry& entry : sections_) {
    if (entry.section->name() == name) return &entry;
  }
  return nullptr;
}

void SchemaBase::ReadSection(const Entry& entry, const Value& table, void* aggregate,
                             ProblemList& problems) const {
  void* section = entry.get(aggregate);
  for (const Value& value : table.children) {
    const std::string path = StrCat(entry.section->name(), ".", KeyText(value.key));
    problems.RememberLine(path, value.line);
    const SectionBase::KeyBase* key = entry.section->FindKey(value.key);
    if (key == nullptr) {
      // A table inside the section's table ([http.tls]) is the section of that name.
      const Entry* inner =
          value.type == ValueType::kTable ? Find(StrCat(entry.section->name(), ".", value.key))
                                          : nullptr;
      if (inner != nullptr) {
        ReadSection(*inner, value, aggregate, problems);
      } else {
        problems.Add(value.line, path, "unknown key");
      }
      continue;
    }
    if (std::optional<std::string> why = key->Read(value, section); why.has_value()) {
      problems.Add(value.line, path, *why);
    }
  }
}

absl::Status SchemaBase::ParseInto(std::string_view text, std::string_view source,
                                   void* aggregate) const {
  absl::StatusOr<Value> root = ParseToml(text, source);
  if (!root.ok()) return root.status();

  ProblemList problems(source);
  for (const Value& top : root->children) {
    const std::string section_name = KeyText(top.key);
    // A dotted name is a table inside its parent's ([http.tls]), never a top-level one.
    const Entry* entry = top.key.find('.') == std::string::npos ? Find(top.key) : nullptr;
    if (entry == nullptr) {
      if (top.type == ValueType::kTable) {
        std::vector<std::string> known;
        for (const Entry& e : sections_) known.push_back(std::string(e.section->name()));
        problems.Add(top.line, "",
                     StrCat("unknown section [", section_name, "] (reef knows ",
                            absl::StrJoin(known, ", "), ")"));
      } else {
        problems.Add(top.line, section_name, "unknown key (keys belong in a section)");
      }
      continue;
    }
    if (top.type != ValueType::kTable) {
      problems.Add(
          top.line, section_name,
          StrCat(Expected("a table", top), " (write [", section_name, "] above its keys)"));
      continue;
    }
    ReadSection(*entry, top, aggregate, problems);
  }
  // Checks assume values in range, so they wait for a file whose keys all read.
  if (problems.empty()) RunChecks(aggregate, /*system=*/false, problems);
  return problems.ToStatus();
}

void SchemaBase::RunChecks(void* aggregate, bool system, ProblemList& problems) const {
  for (const Entry& entry : sections_) {
    Problems reporter(problems, entry.section->name());
    for (const SectionBase::CheckEntry& check : entry.section->checks()) {
      if (check.system != system) continue;
      const void* other =
          check.other == nullptr ? nullptr : Find(check.other->name())->get(aggregate);
      check.run(entry.get(aggregate), other, reporter);
    }
  }
}

absl::Status SchemaBase::CheckSystemOf(const void* aggregate) const {
  ProblemList problems("config");
  // RunChecks hands checks const views only; the cast lets it share the getters.
  RunChecks(const_cast<void*>(aggregate), /*system=*/true, problems);
  return problems.ToStatus();
}

std::string SchemaBase::RenderFrom(const void* aggregate) const {
  std::string out;
  auto comment = [&out](std::string_view text) {
    while (true) {
      size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      StrAppend(&out, line.empty() ? "#" : "# ", line, "\n");
      if (end == std::string_view::npos) break;
      text.remove_prefix(end + 1);
    }
  };
  comment(preamble_);
  void* config = const_cast<void*>(aggregate);  // Render only reads through it
  for (const Entry& entry : sections_) {
    out += "\n";
    comment(entry.section->doc());
    StrAppend(&out, "[", entry.section->name(), "]\n");
    const void* section = entry.get(config);
    for (const auto& key : entry.section->keys()) {
      out += "\n";
      comment(key->doc());
      StrAppend(&out, key->name(), " = ", key->Render(section), "\n");
    }
  }
  return out;
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        StrCat("cannot open config file ", path, ": ", strerror(errno)));
  }
  std::string text;
  char buffer[16384];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string reason = strerror(errno);
      close(fd);
      return absl::InvalidArgumentError(StrCat("cannot read config file ", path, ": ", reason));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxTomlBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          StrCat("config file ", path, " is larger than ", kMaxTomlBytes, " bytes"));
    }
  }
  close(fd);
  return text;
}

}  // namespace reef::config
