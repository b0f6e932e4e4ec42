#!/usr/bin/env bash
# Runs dashboard_test.py with Debian's Python (see its docstring).
set -euo pipefail
exec /usr/bin/python3 contrib/grafana/dashboard_test.py
