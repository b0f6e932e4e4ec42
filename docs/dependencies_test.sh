#!/usr/bin/env bash
# Fails when reef or reef_load needs a shared library that docs/dependencies.md does not
# list, or a third_party/ wrapper is not listed; then shows that the check does fail on a
# list with one library taken out.
set -euo pipefail
check() {
  /usr/bin/python3 docs/dependency_inventory.py --check "$1" \
    --wrappers third_party/*.BUILD -- server/reef load/reef_load
}
check docs/dependencies.md
incomplete="${TEST_TMPDIR:-/tmp}/incomplete.md"
sed 's/`libc\.so\.6`//; s/`@tomlplusplus`//' docs/dependencies.md > "$incomplete"
if out=$(check "$incomplete" 2>&1); then
  echo "the check passed a list without libc.so.6 and @tomlplusplus: it proves nothing" >&2
  exit 1
fi
grep -q 'needs libc.so.6, which' <<< "$out"
grep -q '@tomlplusplus, which' <<< "$out"
