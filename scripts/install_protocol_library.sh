#!/usr/bin/env bash
# Installs reef's protocol library for programs not built with Bazel:
#
#   PREFIX/lib/libreef-protocol.a              one archive of every object of
#                                              //protocol/udp, //protocol/http, //protocol/ws
#   PREFIX/include/reef/protocol/...           the public headers, and only those
#   PREFIX/lib/pkgconfig/reef-protocol.pc      flags for the compiler and the linker
#
#   scripts/install_protocol_library.sh PREFIX
#   export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
#   g++ -std=c++20 prog.cc $(pkg-config --cflags --libs reef-protocol)
#
# Programs include the headers as reef's own code does ("protocol/udp/parse.h"). The
# library is built with --config=opt (-O2, NDEBUG), as position-independent code, and
# needs OpenSSL's libcrypto (the WebSocket handshake's SHA-1 and base64) and nothing else
# beyond the C++ standard library; examples/pkg_config/run.sh checks that by linking every
# object of the archive with the .pc file's flags alone. Needs scripts/setup.sh's packages.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."

bazel build --config=opt //protocol:reef-protocol
bin=$(bazel info --config=opt bazel-bin)
archive="$bin/protocol/libreef-protocol.a"
manifest="$bin/protocol/reef-protocol.headers"

install -d "$prefix/lib/pkgconfig" "$prefix/include/reef"
install -m 644 "$archive" "$prefix/lib/libreef-protocol.a"
headers=0
while IFS= read -r header; do
  install -D -m 644 "$header" "$prefix/include/reef/$header"
  headers=$((headers + 1))
done <"$manifest"

version="0.0.0"
if commit=$(git rev-parse --short HEAD 2>/dev/null); then version="0.0.0+git.$commit"; fi
cat >"$prefix/lib/pkgconfig/reef-protocol.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include/reef
libdir=\${prefix}/lib

Name: reef-protocol
Description: reef's BitTorrent tracker wire formats (UDP BEP 15, HTTP, WebTorrent), C++20
Version: $version
Requires: libcrypto
Cflags: -I\${includedir}
Libs: -L\${libdir} -lreef-protocol
PC

echo "installed into $prefix: lib/libreef-protocol.a ($(ar t "$archive" | wc -l) objects)," \
  "$headers headers under include/reef/, lib/pkgconfig/reef-protocol.pc"
