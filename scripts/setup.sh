#!/usr/bin/env bash
# Installs every package reef needs on a fresh Debian 12 machine. Idempotent: run it
# again and it changes nothing. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  bazel-bootstrap g++ clang lld llvm libclang-rt-14-dev afl++ git ca-certificates
  pkg-config
  # libraries (wrapped in third_party/)
  libabsl-dev libssl-dev doctest-dev librapidcheck-dev liburing-dev
  libtomlplusplus-dev libbenchmark-dev libsimdjson-dev libseccomp-dev libhiredis-dev
  # the Redis swarm backend's tests start their own Redis Cluster (tests/redis_cluster.py)
  redis-server redis-tools
  # real clients, captures and peers for tests and benchmarks
  python3 python3-libtorrent transmission-cli aria2 tshark tcpdump
  opentracker wrk util-linux procps iproute2 time
  # operating reef: promtool checks the /metrics output, systemd-analyze the unit;
  # headless chromium shows the statistics page and runs the real WebTorrent (WebRTC)
  # transfer test, driven by npm playwright-core from tools/webtorrent/
  prometheus systemd chromium
)

# prometheus is here for promtool only: if this run installs it, its server (which Debian
# enables) is stopped again, so a CI machine does not start scraping itself.
had_prometheus=0
if dpkg -s prometheus >/dev/null 2>&1; then had_prometheus=1; fi
# The same for redis-server: the tests start their own servers on free loopback ports with
# their own config and directories, never the system one, which would only hold port 6379.
had_redis=0
if dpkg -s redis-server >/dev/null 2>&1; then had_redis=1; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
if [ "$had_prometheus" = 0 ] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
if [ "$had_redis" = 0 ]; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/redis-server ]; then
    $SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true
    $SUDO update-rc.d redis-server disable >/dev/null 2>&1 || true
  fi
fi
# The WebTorrent reference client (npm bittorrent-tracker) needs Node.js and npm. Some
# machines carry a newer Node.js from another source that conflicts with Debian's npm
# package; keep whatever node/npm is there.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# npm bittorrent-tracker (the WebTorrent reference for //tools/webtorrent:compat_test),
# webtorrent (its browser bundle) and playwright-core (drives Debian's chromium; downloads
# no browser), at the versions in its package-lock.json. --ignore-scripts: no native
# module builds or downloads anything (WebRTC is the browser's, or the local stub's).
# Skipped when that lock is what is installed.
webtorrent=tools/webtorrent
if ! cmp -s "$webtorrent/package-lock.json" "$webtorrent/node_modules/.reef-installed-lock"; then
  (cd "$webtorrent" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$webtorrent/package-lock.json" "$webtorrent/node_modules/.reef-installed-lock"
fi
echo "setup: ${#packages[@]} Debian packages present, $webtorrent/node_modules installed"
