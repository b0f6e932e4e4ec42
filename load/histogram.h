// LatencyHistogram: an HDR-style log-linear histogram of non-negative integer values
// (nanoseconds here), fixed size, no allocation after construction, mergeable.
//
// Values below 2 * kSubBuckets are counted exactly. Above, each power-of-two range
// [2^e, 2^(e+1)) is split into kSubBuckets equal sub-buckets, so a reported value is
// within a factor 1 + 1/kSubBuckets of the true one (under 0.8 % for 128). Every uint64_t
// value fits; nothing saturates except the counts themselves at 2^64.
#ifndef REEF_LOAD_HISTOGRAM_H_
#define REEF_LOAD_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace reef::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Exact buckets [0, 2 * kSubBuckets), then kSubBuckets per power of two up to 2^64.
  static constexpr size_t kNumBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t n) {
    counts_[BucketOf(value)] += n;
    count_ += n;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
    sum_ += static_cast<double>(value) * static_cast<double>(n);
  }

  // Adds every value recorded in `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }

  // The value at quantile q in [0, 1]: the highest value of the bucket holding the
  // ceil(q * count)-th smallest value (at least the first), capped by max(). 0 when empty.
  uint64_t ValueAt(double q) const;

  static constexpr size_t BucketOf(uint64_t value) {
    if (value < 2 * kSubBuckets) return static_cast<size_t>(value);
    const int shift = static_cast<int>(std::bit_width(value)) - (kSubBucketBits + 1);  // >= 1
    return static_cast<size_t>(shift + 1) * kSubBuckets +
           static_cast<size_t>((value >> shift) - kSubBuckets);
  }
  // The smallest and largest value that land in bucket `index`.
  static constexpr uint64_t BucketLow(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const size_t shift = index / kSubBuckets - 1;
    return (kSubBuckets + index % kSubBuckets) << shift;
  }
  static constexpr uint64_t BucketHigh(size_t index) {
    if (index + 1 == kNumBuckets) return std::numeric_limits<uint64_t>::max();
    return BucketLow(index + 1) - 1;
  }

 private:
  std::array<uint64_t, kNumBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
  double sum_ = 0;
};

static_assert(LatencyHistogram::BucketOf(std::numeric_limits<uint64_t>::max()) ==
              LatencyHistogram::kNumBuckets - 1);
static_assert(LatencyHistogram::BucketLow(LatencyHistogram::BucketOf(1000)) <= 1000);

}  // namespace reef::load

#endif  // REEF_LOAD_HISTOGRAM_H_
