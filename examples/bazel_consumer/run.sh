#!/usr/bin/env bash
# Builds and runs this directory as a Bazel workspace of its own, the way a project that
# uses reef's protocol library does (README.md, "Using the protocol library"):
#   1. `bazel run //:protocol_example`: every check of the program must pass;
#   2. the same program built without C++20 (as Bazel 4 does by default, -std=c++0x) must
#      fail, with require_cxx20.h's message naming the flag to add.
# CI runs it (.ci/run). It uses reef's shared disk cache, creates no bazel-* symlinks, and
# stops this workspace's Bazel server when done.
set -euo pipefail
cd "$(dirname "$0")"

flags=(--disk_cache="$HOME/.cache/reef/bazel-disk" --symlink_prefix=/)
trap 'bazel shutdown' EXIT

echo "--- bazel run //:protocol_example (from $(pwd))"
bazel run "${flags[@]}" //:protocol_example

echo "--- the same without C++20 must fail with a message naming the flag"
expected="reef's protocol library needs C++20: compile with -std=c++20"
if output=$(bazel build "${flags[@]}" --cxxopt=-std=c++0x //:protocol_example 2>&1); then
  echo "FAIL: built without C++20; require_cxx20.h should have stopped it" >&2
  exit 1
fi
if ! grep -m1 'error:' <<<"$output" | grep -qF "$expected"; then
  echo "FAIL: the first error is not require_cxx20.h's:" >&2
  grep -m5 'error' <<<"$output" >&2
  exit 1
fi
grep -m1 'error:' <<<"$output"
echo "--- bazel_consumer: ok"
