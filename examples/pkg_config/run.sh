#!/usr/bin/env bash
# The protocol library used without Bazel, as README.md's "Using the protocol library"
# describes it: installs it into a temporary prefix (scripts/install_protocol_library.sh),
# then, with nothing but that prefix and pkg-config,
#   1. compiles every installed header in one translation unit (the install is complete:
#      no public header includes one that was not installed);
#   2. links every object of libreef-protocol.a (--whole-archive) with pkg-config's flags
#      alone, so a library the .pc file does not name shows up as an undefined symbol;
#   3. builds examples/protocol_example.cc with
#      g++ -std=c++20 ... $(pkg-config --cflags --libs reef-protocol) and runs it.
# CI runs it (.ci/run). The prefix is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/reef-protocol.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "--- scripts/install_protocol_library.sh $prefix"
scripts/install_protocol_library.sh "$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "pkg-config --cflags --libs reef-protocol: $(pkg-config --cflags --libs reef-protocol)"

# Work outside the repository, so that no header can come from the source tree.
cd "$work"
warnings=(-Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Werror)

echo "--- every installed header, in one translation unit"
(cd "$prefix/include/reef" && find protocol -name '*.h' | sort) \
  | sed 's/.*/#include "&"/' >all_headers.cc
# shellcheck disable=SC2046  # pkg-config's output is a list of words
g++ -std=c++20 "${warnings[@]}" -fsyntax-only all_headers.cc $(pkg-config --cflags reef-protocol)
echo "$(wc -l <all_headers.cc) headers compile"

echo "--- every object of the archive, linked with pkg-config's flags alone"
printf 'int main() { return 0; }\n' >empty_main.cc
# shellcheck disable=SC2046
g++ -std=c++20 empty_main.cc -o whole_archive \
  -Wl,--whole-archive "$prefix/lib/libreef-protocol.a" -Wl,--no-whole-archive \
  $(pkg-config --libs reef-protocol)
./whole_archive
echo "no undefined symbols"

echo "--- examples/protocol_example.cc with g++ -std=c++20 \$(pkg-config --cflags --libs reef-protocol)"
# shellcheck disable=SC2046
g++ -std=c++20 "${warnings[@]}" "$repo/examples/protocol_example.cc" -o protocol_example \
  $(pkg-config --cflags --libs reef-protocol)
./protocol_example
echo "--- pkg_config: ok"
