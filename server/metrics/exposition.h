// Exposition: metric families collected for one scrape, written in the Prometheus text
// format (version 0.0.4, what every Prometheus server and promtool read).
//
//   Exposition out;
//   out.Add(kRequests, {{"protocol", "udp"}, {"action", "announce"}}, worker0.announces);
//   out.Add(kRequests, {{"protocol", "udp"}, {"action", "announce"}}, worker1.announces);
//   std::string text = out.Render();
//
// Adding to a series that is already there adds the values, so per-worker counters are
// summed by adding each worker's block in turn. Families come out in the order they were
// first added, each with its # HELP and # TYPE lines, then its series in the order they
// were first added.
//
// Names are checked as Prometheus defines them (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
// [a-zA-Z_][a-zA-Z0-9_]*, no "__" label prefix, no "le"/"quantile" on counters and
// gauges), and reef's conventions on top: every family starts with "reef_" or
// "process_", and a counter's name ends in "_total". A family or series that breaks a rule
// is left out of the output and the first problem is kept in status(): names are
// constants in reef's code, so a test that renders everything and checks status() finds
// every bad one. Label values may be any bytes: they are escaped (\\, \", \n) and bytes
// that are not UTF-8 become U+FFFD, so no label value can break the format.
//
// Not thread-safe: one scrape builds one Exposition. Allocates freely (it runs once per
// scrape on the metrics thread, never on a request path).
#ifndef REEF_SERVER_METRICS_EXPOSITION_H_
#define REEF_SERVER_METRICS_EXPOSITION_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace reef::metrics {

enum class MetricType : uint8_t { kCounter, kGauge };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge"

// What a family is: constant for the life of the process.
struct FamilyInfo {
  std::string_view name;  // "reef_requests_total"
  std::string_view help;  // one line; escaped when written
  MetricType type = MetricType::kGauge;
  // Series of this family that are not seen for a while are dropped from the output (see
  // SeriesExpiry). For families whose label values come from clients (peer software),
  // not for fixed label sets, whose zero is a meaningful value.
  bool expires = false;
};

struct Label {
  std::string_view name;
  std::string_view value;
};

// A sample's value: unsigned integers stay exact (counters pass 2^53 on a busy tracker),
// anything else is a double.
using Value = std::variant<uint64_t, double>;
double ToDouble(const Value& value);

// Most series one family may hold; more are left out (and status() says so). Label sets in
// reef are fixed or bounded well below this; it only stops a bug from growing a scrape
// without bound.
inline constexpr size_t kMaxSeriesPerFamily = 10000;

class Exposition {
 public:
  struct Series {
    std::string labels;  // rendered and escaped: {a="x",b="y"}, or empty
    Value value;
  };
  struct Family {
    FamilyInfo info;
    std::vector<Series> series;
  };

  // Adds `value` to the series family{labels}, creating the family (with no series yet)
  // and the series (at zero) as needed.
  void Add(const FamilyInfo& family, std::initializer_list<Label> labels, Value value);
  void Add(const FamilyInfo& family, std::span<const Label> labels, Value value);
  // Declares the family, so that its HELP and TYPE are written even with no series.
  void Declare(const FamilyInfo& family);

  // The Prometheus text format, every family with its HELP and TYPE lines; ends in '\n'.
  std::string Render() const;

  // Families in output order.
  const std::vector<Family>& families() const { return families_; }
  // The family called `name`, or nullptr.
  const Family* Find(std::string_view name) const;
  // Removes the series of `family` for which `drop(series)` is true.
  void RemoveSeriesIf(std::string_view family,
                      absl::FunctionRef<bool(const Series&)> drop);

  // OK, or the first rule a family or series broke (it is not in the output).
  const absl::Status& status() const { return status_; }

 private:
  // The family's index, or -1 if it may not be added (status_ says why).
  int FamilyIndex(const FamilyInfo& family);
  void Fail(absl::Status status);

  std::vector<Family> families_;
  absl::flat_hash_map<std::string, size_t> family_index_;
  // Per family: rendered labels -> index into its series.
  std::vector<absl::flat_hash_map<std::string, size_t>> series_index_;
  absl::Status status_;
};

// Why `name` is not a valid reef metric family name for `type`, or OK.
absl::Status CheckFamilyName(std::string_view name, MetricType type);
// Why `name` is not a valid label name, or OK.
absl::Status CheckLabelName(std::string_view name);

// Escaping as the text format defines it. HELP text: \\ and \n. Label values: \\, \" and
// \n. Both also turn bytes that are not UTF-8 into U+FFFD.
std::string EscapeHelp(std::string_view text);
std::string EscapeLabelValue(std::string_view text);
// A sample value as the text format writes it: integers in decimal, doubles in the
// shortest form that reads back exactly, "NaN", "+Inf", "-Inf".
std::string FormatValue(const Value& value);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_EXPOSITION_H_
