#!/bin/sh
echo "bazel coverage is not supported offline; run tools/coverage.sh" >&2
exit 1
