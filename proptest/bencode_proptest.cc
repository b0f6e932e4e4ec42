// Properties of the bencode reader and writer (protocol/http/bencode.h):
//  - any value the writer writes reads back as the identical token sequence, in strict
//    mode too when dictionary keys are sorted and unique;
//  - the reader rejects every non-canonical encoding it promises to: an integer with a
//    leading zero or "-0", a string length with a leading zero (always), and, in strict
//    mode, a dictionary with two keys swapped or a key repeated;
//  - every proper prefix of a written value is kBencodeTruncated.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proptest/rapidcheck_doctest.h"
#include "protocol/http/bencode.h"

namespace reef::http {
namespace {

struct Value {
  enum class Kind { kInt, kString, kList, kDict };
  Kind kind = Kind::kInt;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> list;
  std::map<std::string, Value> dict;  // sorted, unique keys (byte order)
};

rc::Gen<Value> GenValue(int depth) {
  rc::Gen<Value> integer = rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) {
    Value v;
    v.kind = Value::Kind::kInt;
    v.integer = i;
    return v;
  });
  rc::Gen<Value> string = rc::gen::map(rc::gen::arbitrary<std::string>(), [](std::string s) {
    Value v;
    v.kind = Value::Kind::kString;
    v.string = std::move(s);
    return v;
  });
  if (depth == 0) return rc::gen::oneOf(integer, string);
  rc::Gen<Value> child = GenValue(depth - 1);
  rc::Gen<Value> list = rc::gen::mapcat(rc::gen::inRange(0, 5), [child](int n) {
    return rc::gen::map(rc::gen::container<std::vector<Value>>(static_cast<size_t>(n), child),
                        [](std::vector<Value> items) {
                          Value v;
                          v.kind = Value::Kind::kList;
                          v.list = std::move(items);
                          return v;
                        });
  });
  rc::Gen<Value> dict = rc::gen::mapcat(rc::gen::inRange(0, 5), [child](int n) {
    return rc::gen::map(
        rc::gen::container<std::vector<std::pair<std::string, Value>>>(
            static_cast<size_t>(n),
            rc::gen::pair(rc::gen::resize(8, rc::gen::arbitrary<std::string>()), child)),
        [](std::vector<std::pair<std::string, Value>> entries) {
          Value v;
          v.kind = Value::Kind::kDict;
          for (auto& [k, val] : entries) v.dict.emplace(k, std::move(val));
          return v;
        });
  });
  return rc::gen::oneOf(integer, string, list, dict);
}

// What the encoder should get wrong, at the n-th chance (n counts down).
struct Mutation {
  enum class Kind { kNone, kIntLeadingZero, kNegativeZero, kLengthLeadingZero, kSwapKeys,
                    kRepeatKey };
  Kind kind = Kind::kNone;
  int countdown = 0;
  bool applied = false;
  bool Take() {
    if (applied || countdown-- != 0) return false;
    applied = true;
    return true;
  }
};

void EncodeString(const std::string& s, Mutation& m, std::string& out) {
  if (m.kind == Mutation::Kind::kLengthLeadingZero && m.Take()) out += '0';
  out += std::to_string(s.size()) + ":" + s;
}

void Encode(const Value& v, Mutation& m, std::string& out) {
  switch (v.kind) {
    case Value::Kind::kInt:
      if (m.kind == Mutation::Kind::kIntLeadingZero && m.Take()) {
        // "i05e" / "i-05e"
        std::string digits = std::to_string(v.integer);
        if (v.integer < 0) {
          out += "i-0" + digits.substr(1) + "e";
        } else {
          out += "i0" + digits + "e";
        }
      } else if (m.kind == Mutation::Kind::kNegativeZero && m.Take()) {
        out += "i-0e";  // in place of this integer
      } else {
        out += "i" + std::to_string(v.integer) + "e";
      }
      break;
    case Value::Kind::kString:
      EncodeString(v.string, m, out);
      break;
    case Value::Kind::kList:
      out += 'l';
      for (const Value& item : v.list) Encode(item, m, out);
      out += 'e';
      break;
    case Value::Kind::kDict: {
      out += 'd';
      std::vector<const std::pair<const std::string, Value>*> entries;
      for (const auto& entry : v.dict) entries.push_back(&entry);
      if (m.kind == Mutation::Kind::kSwapKeys && entries.size() >= 2 && m.Take()) {
        std::swap(entries[0], entries[1]);
      }
      if (m.kind == Mutation::Kind::kRepeatKey && !entries.empty() && m.Take()) {
        entries.insert(entries.begin() + 1, entries[0]);
      }
      for (const auto* entry : entries) {
        EncodeString(entry->first, m, out);
        Encode(entry->second, m, out);
      }
      out += 'e';
      break;
    }
  }
}

void Flatten(const Value& v, std::vector<BencodeToken>& out) {
  switch (v.kind) {
    case Value::Kind::kInt:
      out.push_back({BencodeType::kInteger, v.integer, {}});
      break;
    case Value::Kind::kString:
      out.push_back({BencodeType::kString, 0, v.string});
      break;
    case Value::Kind::kList:
      out.push_back({BencodeType::kListBegin, 0, {}});
      for (const Value& item : v.list) Flatten(item, out);
      out.push_back({BencodeType::kEnd, 0, {}});
      break;
    case Value::Kind::kDict:
      out.push_back({BencodeType::kDictBegin, 0, {}});
      for (const auto& [k, item] : v.dict) {
        out.push_back({BencodeType::kString, 0, k});
        Flatten(item, out);
      }
      out.push_back({BencodeType::kEnd, 0, {}});
      break;
  }
}

// Writes v with BencodeWriter (the code under test).
bool Write(const Value& v, BencodeWriter& w) {
  switch (v.kind) {
    case Value::Kind::kInt:
      return w.Int(v.integer);
    case Value::Kind::kString:
      return w.String(v.string);
    case Value::Kind::kList:
      w.BeginList();
      for (const Value& item : v.list) Write(item, w);
      return w.End();
    case Value::Kind::kDict:
      w.BeginDict();
      for (const auto& [k, item] : v.dict) {
        w.String(k);
        Write(item, w);
      }
      return w.End();
  }
  return false;
}

// Counts how often a mutation can apply, so the countdown can pick each place.
int Chances(const Value& v, Mutation::Kind kind) {
  int n = 0;
  switch (v.kind) {
    case Value::Kind::kInt:
      n += kind == Mutation::Kind::kIntLeadingZero || kind == Mutation::Kind::kNegativeZero;
      break;
    case Value::Kind::kString:
      n += kind == Mutation::Kind::kLengthLeadingZero;
      break;
    case Value::Kind::kList:
      for (const Value& item : v.list) n += Chances(item, kind);
      break;
    case Value::Kind::kDict:
      n += (kind == Mutation::Kind::kSwapKeys && v.dict.size() >= 2) ||
           (kind == Mutation::Kind::kRepeatKey && !v.dict.empty());
      for (const auto& [k, item] : v.dict) {
        n += kind == Mutation::Kind::kLengthLeadingZero;
        n += Chances(item, kind);
      }
      break;
  }
  return n;
}

std::vector<BencodeToken> Read(std::string_view in, bool strict, std::optional<ParseError>* error) {
  BencodeLimits limits;
  limits.strict = strict;
  BencodeReader r(in, limits);
  std::vector<BencodeToken> out;
  BencodeToken t;
  while (r.Next(&t)) out.push_back(t);
  *error = r.error();
  if (!*error && r.consumed() != in.size()) *error = ParseError::kBencodeTrailingBytes;
  return out;
}

TEST_CASE("bencode: write then read gives the same tokens, strict and lenient") {
  proptest::Check("read(write(v)) == tokens(v)", [] {
    Value v = *GenValue(4);
    std::vector<uint8_t> buf(1 << 20);
    BencodeWriter w(buf);
    RC_ASSERT(Write(v, w));
    std::string_view written(reinterpret_cast<const char*>(buf.data()), w.written());
    Mutation none;
    std::string reference;
    Encode(v, none, reference);
    RC_ASSERT(written == reference);
    std::vector<BencodeToken> expected;
    Flatten(v, expected);
    for (bool strict : {false, true}) {
      std::optional<ParseError> error;
      std::vector<BencodeToken> got = Read(written, strict, &error);
      RC_ASSERT(!error.has_value());
      RC_ASSERT(got == expected);
    }
  });
}

TEST_CASE("bencode: the reader rejects every non-canonical encoding it promises to") {
  proptest::Check("non-canonical encodings are refused", [] {
    Value v = *GenValue(4);
    const auto kind = *rc::gen::element(
        Mutation::Kind::kIntLeadingZero, Mutation::Kind::kNegativeZero,
        Mutation::Kind::kLengthLeadingZero, Mutation::Kind::kSwapKeys,
        Mutation::Kind::kRepeatKey);
    const int chances = Chances(v, kind);
    RC_PRE(chances > 0);
    Mutation m;
    m.kind = kind;
    m.countdown = *rc::gen::inRange(0, chances);
    std::string bad;
    Encode(v, m, bad);
    RC_ASSERT(m.applied);
    RC_TAG(static_cast<int>(kind));
    std::optional<ParseError> lenient_error;
    std::optional<ParseError> strict_error;
    Read(bad, false, &lenient_error);
    Read(bad, true, &strict_error);
    switch (kind) {
      case Mutation::Kind::kIntLeadingZero:
      case Mutation::Kind::kNegativeZero:
        RC_ASSERT(lenient_error == ParseError::kBencodeBadInteger);
        RC_ASSERT(strict_error == ParseError::kBencodeBadInteger);
        break;
      case Mutation::Kind::kLengthLeadingZero:
        RC_ASSERT(lenient_error == ParseError::kBencodeBadLength);
        RC_ASSERT(strict_error == ParseError::kBencodeBadLength);
        break;
      case Mutation::Kind::kSwapKeys:
      case Mutation::Kind::kRepeatKey:
        RC_ASSERT(!lenient_error.has_value());  // only strict mode checks key order
        RC_ASSERT(strict_error == ParseError::kBencodeKeyOrder);
        break;
      case Mutation::Kind::kNone:
        break;
    }
  });
}

TEST_CASE("bencode: every proper prefix of a value is truncated") {
  proptest::Check("prefixes are kBencodeTruncated", [] {
    Value v = *GenValue(3);
    Mutation none;
    std::string text;
    Encode(v, none, text);
    const size_t cut = *rc::gen::inRange<size_t>(0, text.size());
    auto r = CheckBencode(std::string_view(text).substr(0, cut));
    RC_ASSERT(r.failed());
    RC_ASSERT(r.error() == ParseError::kBencodeTruncated);
  });
}

}  // namespace
}  // namespace reef::http
