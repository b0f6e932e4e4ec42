#!/usr/bin/env bash
# Checks the public headers of the protocol library (the list //protocol:reef-protocol
# installs) the way a consumer meets them:
#   - each alone in a translation unit, with g++ -std=c++20 and reef's warnings as errors,
#     compiles: it includes everything it uses, and a consumer's warnings do not trip on
#     it; clang++ does the same for all of them in one translation unit;
#   - each alone with g++ -std=c++17 fails, and the first error is require_cxx20.h's
#     message naming the flag, not something from deep inside the library; clang++ once.
#
# Arguments: the files of //protocol:reef-protocol (the archive and the header list).
set -euo pipefail
cd "${TEST_SRCDIR}/${TEST_WORKSPACE}"

manifest=""
for file in "$@"; do
  case "$file" in *.headers) manifest="$file" ;; esac
done
[ -n "$manifest" ] || { echo "no .headers file among the arguments: $*" >&2; exit 1; }
mapfile -t headers <"$manifest"
# The listed paths are relative to reef's root, the directory above protocol/: this
# workspace, or ../reef when reef is an external repository of the one running the test.
cd "$(dirname "$manifest")/.."
[ "${#headers[@]}" -gt 0 ] || { echo "no headers listed in $manifest" >&2; exit 1; }
# The start of require_cxx20.h's message.
expected="reef's protocol library needs C++20: compile with -std=c++20"
warnings=(-Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Werror)
scratch=$(mktemp -d "${TEST_TMPDIR:-/tmp}/headers.XXXXXX")
failures=0

# compiles COMPILER TU: compiles with C++20 and the warnings, or says why not.
compiles() {
  if ! "$1" -std=c++20 "${warnings[@]}" -fsyntax-only -I. "$2" 2>"$scratch/out"; then
    echo "FAIL $1 -std=c++20: $(tr '\n' ' ' <"$2")does not compile:"
    head -20 "$scratch/out"
    failures=$((failures + 1))
  fi
}

# stops_at_cxx20_check COMPILER TU: fails with C++17, first with require_cxx20.h's message.
stops_at_cxx20_check() {
  if "$1" -std=c++17 -fsyntax-only -I. "$2" 2>"$scratch/out"; then
    echo "FAIL $1 -std=c++17: $(head -1 "$2") compiled; require_cxx20.h should stop it"
    failures=$((failures + 1))
  elif ! grep -m1 'error:' "$scratch/out" | grep -qF "$expected"; then
    echo "FAIL $1 -std=c++17: the first error for $(head -1 "$2") is not require_cxx20.h's:"
    grep -m3 'error:' "$scratch/out"
    echo "  (a header that includes no other header of the library must include" \
      "\"protocol/common/require_cxx20.h\")"
    failures=$((failures + 1))
  fi
}

for header in "${headers[@]}"; do
  printf '#include "%s"\n' "$header" >"$scratch/one.cc"
  compiles g++ "$scratch/one.cc"
  stops_at_cxx20_check g++ "$scratch/one.cc"
done
if command -v clang++ >/dev/null; then
  printf '#include "%s"\n' "${headers[@]}" >"$scratch/all.cc"
  compiles clang++ "$scratch/all.cc"
  stops_at_cxx20_check clang++ "$scratch/all.cc"
fi
echo "${#headers[@]} public headers checked, $failures failure(s)"
[ "$failures" -eq 0 ]
