#include "server/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "server/common/strings.h"
#include "server/metrics/text.h"

namespace reef::metrics {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Escape(std::string_view text, bool quote) {
  return MapUtf8(text, [quote](char c, std::string& out) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  });
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
  }
  return "untyped";
}

double ToDouble(const Value& value) {
  if (const uint64_t* integer = std::get_if<uint64_t>(&value)) {
    return static_cast<double>(*integer);
  }
  return std::get<double>(value);
}

absl::Status CheckFamilyName(std::string_view name, MetricType type) {
  if (name.empty() || !IsNameStart(name[0])) {
    return absl::InvalidArgumentError(StrCat("metric name \"", name, "\" must start with a letter or _"));
  }
  for (char c : name) {
    if (!IsNameChar(c) && c != ':') {
      return absl::InvalidArgumentError(StrCat("metric name \"", name, "\" has a character outside [a-zA-Z0-9_:]"));
    }
  }
  if (!StartsWith(name, "reef_") && !StartsWith(name, "process_")) {
    return absl::InvalidArgumentError(StrCat("metric name \"", name, "\" must start with reef_ (or process_)"));
  }
  if (type == MetricType::kCounter && !EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(StrCat("counter \"", name, "\" must end in _total"));
  }
  if (type != MetricType::kCounter && EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(StrCat("\"", name, "\" ends in _total but is not a counter"));
  }
  return absl::OkStatus();
}

absl::Status CheckLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) {
    return absl::InvalidArgumentError(StrCat("label name \"", name, "\" must start with a letter or _"));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return absl::InvalidArgumentError(StrCat("label name \"", name, "\" has a character outside [a-zA-Z0-9_]"));
    }
  }
  if (StartsWith(name, "__")) {
    return absl::InvalidArgumentError(StrCat("label name \"", name, "\" is reserved (__ prefix)"));
  }
  if (name == "le" || name == "quantile") {
    return absl::InvalidArgumentError(StrCat("label name \"", name, "\" is reserved for histograms and summaries"));
  }
  return absl::OkStatus();
}

std::string EscapeHelp(std::string_view text) { return Escape(text, /*quote=*/false); }
std::string EscapeLabelValue(std::string_view text) { return Escape(text, /*quote=*/true); }

std::string FormatValue(const Value& value) {
  if (const uint64_t* integer = std::get_if<uint64_t>(&value)) return StrCat(*integer);
  const double d = std::get<double>(value);
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), d);
  return std::string(buffer, result.ptr);
}

void Exposition::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

int Exposition::FamilyIndex(const FamilyInfo& family) {
  const std::string name(family.name);
  if (auto it = family_index_.find(name); it != family_index_.end()) {
    const FamilyInfo& known = families_[it->second].info;
    if (known.type != family.type || known.help != family.help ||
        known.expires != family.expires) {
      Fail(absl::InvalidArgumentError(
          StrCat("metric \"", family.name, "\" added twice with different help or type")));
      return -1;
    }
    return static_cast<int>(it->second);
  }
  if (absl::Status valid = CheckFamilyName(family.name, family.type); !valid.ok()) {
    Fail(std::move(valid));
    return -1;
  }
  if (family.help.empty()) {
    Fail(absl::InvalidArgumentError(StrCat("metric \"", family.name, "\" has no help text")));
    return -1;
  }
  family_index_.emplace(name, families_.size());
  families_.push_back(Family{family, {}});
  series_index_.emplace_back();
  return static_cast<int>(families_.size() - 1);
}

void Exposition::Declare(const FamilyInfo& family) { FamilyIndex(family); }

void Exposition::Add(const FamilyInfo& family, std::initializer_list<Label> labels,
                     Value value) {
  Add(family, std::span<const Label>(labels.begin(), labels.size()), value);
}

void Exposition::Add(const FamilyInfo& family, std::span<const Label> labels, Value value) {
  const int index = FamilyIndex(family);
  if (index < 0) return;
  std::string rendered;
  for (const Label& label : labels) {
    if (absl::Status valid = CheckLabelName(label.name); !valid.ok()) {
      Fail(absl::InvalidArgumentError(StrCat(family.name, ": ", valid.message())));
      return;
    }
    StrAppend(&rendered, rendered.empty() ? "{" : ",", label.name, "=\"",
              EscapeLabelValue(label.value), "\"");
  }
  if (!rendered.empty()) rendered += "}";
  if (family.type == MetricType::kCounter) {
    const double d = ToDouble(value);
    if (!(d >= 0)) {  // also NaN
      Fail(absl::InvalidArgumentError(
          StrCat("counter \"", family.name, "\" given ", FormatValue(value))));
      return;
    }
  }
  Family& f = families_[static_cast<size_t>(index)];
  auto& known = series_index_[static_cast<size_t>(index)];
  if (auto it = known.find(rendered); it != known.end()) {
    Value& sum = f.series[it->second].value;
    const uint64_t* a = std::get_if<uint64_t>(&sum);
    const uint64_t* b = std::get_if<uint64_t>(&value);
    if (a != nullptr && b != nullptr) {
      sum = *a + *b;
    } else {
      sum = ToDouble(sum) + ToDouble(value);
    }
    return;
  }
  if (f.series.size() >= kMaxSeriesPerFamily) {
    Fail(absl::ResourceExhaustedError(
        StrCat("metric \"", family.name, "\" has more than ", kMaxSeriesPerFamily, " series")));
    return;
  }
  known.emplace(rendered, f.series.size());
  f.series.push_back(Series{std::move(rendered), value});
}

const Exposition::Family* Exposition::Find(std::string_view name) const {
  auto it = family_index_.find(std::string(name));
  return it == family_index_.end() ? nullptr : &families_[it->second];
}

void Exposition::RemoveSeriesIf(std::string_view family,
                                absl::FunctionRef<bool(const Series&)> drop) {
  auto it = family_index_.find(std::string(family));
  if (it == family_index_.end()) return;
  Family& f = families_[it->second];
  auto& index = series_index_[it->second];
  std::vector<Series> kept;
  kept.reserve(f.series.size());
  index.clear();
  for (Series& series : f.series) {
    if (drop(series)) continue;
    index.emplace(series.labels, kept.size());
    kept.push_back(std::move(series));
  }
  f.series = std::move(kept);
}

std::string Exposition::Render() const {
  std::string out;
  for (const Family& family : families_) {
    StrAppend(&out, "# HELP ", family.info.name, " ", EscapeHelp(family.info.help), "\n",
              "# TYPE ", family.info.name, " ", MetricTypeName(family.info.type), "\n");
    for (const Series& series : family.series) {
      StrAppend(&out, family.info.name, series.labels, " ", FormatValue(series.value), "\n");
    }
  }
  return out;
}

}  // namespace reef::metrics
