#!/usr/bin/env bash
# Runs the whole test suite under every sanitizer config and says which failed.
#
#   sanitizers/run_all.sh [CONFIG ...]      default: asan ubsan tsan
#
# Extra Bazel flags can be passed in BAZEL_FLAGS. Exits non-zero if any config failed.
set -uo pipefail
cd "$(dirname "$0")/.."

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(asan ubsan tsan)

failed=()
for config in "${configs[@]}"; do
  start=$(date +%s)
  echo "=== bazel test --config=$config //..."
  # shellcheck disable=SC2086
  if bazel test --config="$config" ${BAZEL_FLAGS:-} //...; then
    echo "=== $config: passed in $(( $(date +%s) - start )) s"
  else
    echo "=== $config: FAILED after $(( $(date +%s) - start )) s"
    failed+=("$config")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitizer configs that failed: ${failed[*]}"
  exit 1
fi
echo "all sanitizer configs passed: ${configs[*]}"
