#!/usr/bin/env python3
"""Every library reef links, its Debian package, version and licence: docs/dependencies.md.

Write the inventory (from the repository root, after bash scripts/setup.sh):

    /usr/bin/python3 docs/dependency_inventory.py

It builds the shipped binaries, reads the libraries each needs (readelf -d NEEDED,
resolved by the dynamic linker's cache), asks Bazel which third_party/ wrappers each
binary uses (a header-only library like toml++ leaves no NEEDED entry), and for each
library asks dpkg which package it comes from (dpkg -S), its version (dpkg-query) and
its licence (the package's machine-readable /usr/share/doc/PKG/copyright; a few
packages without one are named in NON_DEP5_LICENCES).

Check the inventory (what //docs:dependencies_test runs, with the binaries as data):

    docs/dependency_inventory.py --check DOC --wrappers third_party/*.BUILD -- BINARY...

fails, naming them, when a binary needs a library that DOC does not list, or when a
third_party/ wrapper is not listed: a new dependency cannot arrive unrecorded.
"""
import argparse
import os
import re
import subprocess
import sys

# The binaries reef ships: the tracker and its load generator.
SHIPPED = {"//server:reef": "server/reef", "//load:reef_load": "load/reef_load"}
DOC = "docs/dependencies.md"
# Build configurations whose binaries are inspected: g++ (the default) and clang (the
# sanitizer configs; the sanitizer runtimes are linked statically).
CONFIGS = [[], ["--config=asan"]]

# Packages whose copyright file is not machine-readable (DEP-5): their licence, read by
# hand from /usr/share/doc/PKG/copyright.
NON_DEP5_LICENCES = {
    "libc6": "LGPL-2.1+ (most of it; some parts under other free licences)",
    "libstdc++6": "GPL-3+ with the GCC Runtime Library Exception",
    "libgcc-s1": "GPL-3+ with the GCC Runtime Library Exception",
}


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def needed(binary):
    """The sonames a binary lists as NEEDED, in order."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", binary))


def wrapper_package(build_file):
    """The Debian -dev package a third_party/*.BUILD wrapper names in its first comment."""
    with open(build_file) as f:
        match = re.search(r"Debian's (\S+-dev)\b", f.read())
    if not match:
        sys.exit(f"{build_file}: its first comment should say \"from Debian's PKG-dev\"")
    return match.group(1)


def check(doc, wrappers, binaries):
    with open(doc) as f:
        text = f.read()
    problems = []
    for binary in binaries:
        for soname in needed(binary):
            if f"`{soname}`" not in text:
                problems.append(f"{binary} needs {soname}, which {doc} does not list")
    for build_file in wrappers:
        name = os.path.basename(build_file)[: -len(".BUILD")]
        if f"`@{name}`" not in text:
            problems.append(f"third_party/{name}.BUILD wraps @{name}, which {doc} does not list")
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if problems:
        print(f"run /usr/bin/python3 {os.path.basename(__file__)} from docs/ after setup to "
              f"update {doc}", file=sys.stderr)
        return 1
    print(f"{doc} lists every library of {len(binaries)} binaries and all "
          f"{len(wrappers)} third_party wrappers")
    return 0


# ---- writing the inventory ------------------------------------------------------------


def library_paths():
    """soname -> path, from the dynamic linker's cache (x86-64 entries)."""
    paths = {}
    for line in run("/sbin/ldconfig", "-p").splitlines():
        match = re.match(r"\s+(\S+) \(([^)]*)\) => (\S+)", line)
        if match and ("x86-64" in match.group(2) or "64bit" in match.group(2)):
            paths.setdefault(match.group(1), match.group(3))
    return paths


def package_of(path):
    """The Debian package that installed `path` (following /lib -> /usr/lib)."""
    for candidate in (path, os.path.realpath(path)):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
        if candidate.startswith("/lib"):
            result = subprocess.run(["dpkg", "-S", "/usr" + candidate], capture_output=True,
                                    text=True)
            if result.returncode == 0:
                return result.stdout.split(":", 1)[0].strip()
    sys.exit(f"no Debian package owns {path}")


def version_of(package):
    return run("dpkg-query", "-W", "-f=${Version}", package)


def licence_of(package):
    """The licence of the package's main files, from its DEP-5 copyright file."""
    if package in NON_DEP5_LICENCES:
        return NON_DEP5_LICENCES[package]
    path = f"/usr/share/doc/{package}/copyright"
    with open(path, errors="replace") as f:
        text = f.read()
    if not text.startswith("Format:"):
        sys.exit(f"{path} is not machine-readable: add {package} to NON_DEP5_LICENCES")
    paragraphs = text.split("\n\n")
    main, others = None, set()
    for paragraph in paragraphs:
        licence = re.search(r"^License:[ \t]*(.+)$", paragraph, re.M)
        if not licence:
            continue
        name = licence.group(1).strip()
        if re.search(r"^Files:\s*\*\s*$", paragraph, re.M) and main is None:
            main = name
        elif re.search(r"^Files:", paragraph, re.M):
            others.add(name)
    if main is None:
        sys.exit(f"{path}: no License for Files: *")
    others.discard(main)
    return main + (f" (some files: {', '.join(sorted(others))})" if others else "")


def wrapper_libraries(build_file):
    with open(build_file) as f:
        return re.findall(r'"-l(:?[\w+.-]+)"', f.read())


def record_needed(runtime, paths, target, binary):
    for soname in needed(binary):
        if soname not in paths:
            sys.exit(f"{soname} ({binary}) is not in the dynamic linker's cache")
        package = package_of(paths[soname])
        entry = runtime.setdefault(package, {"sonames": [], "binaries": set()})
        if soname not in entry["sonames"]:
            entry["sonames"].append(soname)
        entry["binaries"].add(target.split(":")[1])


def generate():
    targets = list(SHIPPED)
    paths = library_paths()

    # Runtime: package -> sonames, and which binaries need them, under each compiler the
    # CI builds with (clang's binaries also load libgcc_s).
    runtime = {}
    for config in CONFIGS:
        subprocess.run(["bazel", "build", *config, *targets], check=True)
        # This config's output directory (bazel-bin follows whichever build ran last).
        bin_dir = run("bazel", "info", *config, "bazel-bin").strip()
        for target, binary in SHIPPED.items():
            record_needed(runtime, paths, target, os.path.join(bin_dir, binary))


    # Wrappers: which binaries use each (bazel query), and their -dev packages.
    wrappers = sorted(f[: -len(".BUILD")] for f in os.listdir("third_party") if f.endswith(".BUILD"))
    used_by = {name: [] for name in wrappers}
    for target in targets:
        deps = run("bazel", "query", f"deps({target})", "--output", "package")
        for name in wrappers:
            if f"@{name}//" in deps.split():
                used_by[name].append(target.split(":")[1])

    lines = [
        "# Dependencies",
        "",
        "Every library reef links, its Debian package, version and licence. Written by",
        "`/usr/bin/python3 docs/dependency_inventory.py` (after `bash scripts/setup.sh`) on",
        f"Debian {open('/etc/debian_version').read().strip()}. `//docs:dependencies_test` fails when a shipped",
        "binary needs a library not listed here, or a `third_party/` wrapper is not listed.",
        "Versions are those of the machine that wrote this file; Debian 12 point releases",
        "may carry newer ones.",
        "",
        "## Shared libraries the binaries load",
        "",
        "From `readelf -d` (NEEDED) of " + " and ".join(f"`{t}`" for t in targets) +
        ", built with g++ and with clang;",
        "each library's package from `dpkg -S`, its licence from the package's",
        "`/usr/share/doc/PKG/copyright` (the licence of `Files: *`, then any other).",
        "",
        "| Debian package | version | licence | needed by | libraries |",
        "|---|---|---|---|---|",
    ]
    for package in sorted(runtime):
        entry = runtime[package]
        sonames = ", ".join(f"`{s}`" for s in entry["sonames"])
        lines.append(f"| {package} | {version_of(package)} | {licence_of(package)} | "
                     f"{', '.join(sorted(entry['binaries']))} | {sonames} |")
    lines += [
        "",
        "## Bazel wrappers of Debian's -dev packages (`third_party/`)",
        "",
        "What the build compiles and links against. A header-only library (toml++) is",
        "compiled into the binaries and leaves no NEEDED entry; the test-only ones",
        "(doctest, rapidcheck, Google Benchmark, simdjson) are in no shipped binary.",
        "",
        "| wrapper | Debian package | version | licence | in | links |",
        "|---|---|---|---|---|---|",
    ]
    for name in wrappers:
        build_file = f"third_party/{name}.BUILD"
        package = wrapper_package(build_file)
        libs = wrapper_libraries(build_file)
        links = f"{len(libs)} libraries (`-l{libs[0]}` ...)" if len(libs) > 3 else \
            ", ".join(f"`-l{lib}`" for lib in libs) or "header-only"
        used = ", ".join(used_by[name]) or "tests, benchmarks, fuzzers only"
        lines.append(f"| `@{name}` | {package} | {version_of(package)} | {licence_of(package)} | "
                     f"{used} | {links} |")
    lines.append("")
    with open(DOC, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {DOC}: {len(runtime)} runtime packages, {len(wrappers)} wrappers")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="DOC", help="check DOC against the binaries")
    parser.add_argument("--wrappers", nargs="*", default=[], help="third_party/*.BUILD files")
    parser.add_argument("binaries", nargs="*")
    args = parser.parse_args()
    if args.check:
        return check(args.check, args.wrappers, args.binaries)
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    return generate()


if __name__ == "__main__":
    sys.exit(main())
