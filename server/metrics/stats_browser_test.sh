#!/usr/bin/env bash
# Runs stats_browser_test.py with Debian's Python (see its docstring).
set -euo pipefail
exec /usr/bin/python3 server/metrics/stats_browser_test.py "$@"
