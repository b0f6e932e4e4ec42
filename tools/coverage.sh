#!/usr/bin/env bash
# Line and branch coverage of the protocol library, per file, from clang's source-based
# coverage over the unit tests, the property tests and the fuzz corpus replays.
#
#   tools/coverage.sh [BAZEL_TARGET_PATTERN ...]     default: //protocol/... //proptest/... //fuzz/...
#
# Builds and runs the tests with --config=coverage (-fprofile-instr-generate
# -fcoverage-mapping), merges the raw profiles with llvm-profdata and prints llvm-cov's
# report for the files under protocol/ (tests excluded). The HTML report is written to
# .coverage/html/index.html. Bazel's own `coverage` command is not used: it needs tools
# Bazel would download.
set -euo pipefail
cd "$(dirname "$0")/.."

patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=(//protocol/... //proptest/... //fuzz/...)

out="$PWD/.coverage"
rm -rf "$out"
mkdir -p "$out/profiles"

# %m: one file per binary; %p: per process, so parallel tests do not clobber each other.
bazel test --config=coverage \
  --test_env=LLVM_PROFILE_FILE="$out/profiles/%m-%p.profraw" \
  "${patterns[@]}"

profiles=("$out"/profiles/*.profraw)
if [ ! -e "${profiles[0]}" ]; then
  echo "coverage: no profiles were written" >&2
  exit 1
fi
llvm-profdata merge -sparse "${profiles[@]}" -o "$out/merged.profdata"

bin="$(bazel info --config=coverage bazel-bin)"
binaries=()
while IFS= read -r label; do
  path="${label#//}"
  path="$bin/${path/://}"
  [ -x "$path" ] && binaries+=("$path")
done < <(bazel query "tests(set(${patterns[*]}))" 2>/dev/null)
# llvm-cov takes the first binary as an argument and every other one after -object.
objects=("${binaries[0]}")
for b in "${binaries[@]:1}"; do objects+=(-object "$b"); done

# Every file under protocol/, tests and test helpers excluded.
ignore='(^|/)(external|testing|proptest|fuzz|bazel-out)/|_test\.cc$|/usr/'
llvm-cov report --instr-profile="$out/merged.profdata" "${objects[@]}" \
  --ignore-filename-regex="$ignore" --show-branch-summary \
  | tee "$out/report.txt"
llvm-cov show --format=html --output-dir="$out/html" \
  --instr-profile="$out/merged.profdata" "${objects[@]}" \
  --ignore-filename-regex="$ignore" --show-branches=count >/dev/null
echo "coverage: per-file report in .coverage/report.txt, HTML in .coverage/html/index.html"
