"""The external repositories reef needs, declared by one call from a WORKSPACE.

reef's own WORKSPACE calls reef_dependencies(). A workspace that uses reef's protocol
library calls reef_protocol_dependencies() (examples/bazel_consumer/WORKSPACE):

    local_repository(name = "reef", path = "...")
    load("@reef//bazel:deps.bzl", "reef_protocol_dependencies")
    reef_protocol_dependencies()

and builds with C++20 (`build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20` in its
.bazelrc). Everything is offline: system libraries come from Debian's -dev packages
(scripts/setup.sh installs them), and the three repositories Bazel 4.2.3 would download
are small stand-ins under third_party/. A repository the calling WORKSPACE has already
declared is left alone, so a consumer can bring its own.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//third_party:system_libs.bzl", "local_stand_in", "system_library")

def reef_protocol_dependencies():
    """Declares what //protocol/udp, //protocol/http and //protocol/ws need to build.

    @rules_cc, @rules_java, @remote_coverage_tools: offline stand-ins for the
    repositories Bazel 4.2.3 would download (third_party/*/WORKSPACE says why each).
    @openssl: libcrypto, for the WebSocket handshake (SHA-1, base64), the one library
    the protocol library itself uses.
    @doctest, @benchmark, @absl: only for the library's own tests and benchmarks (absl
    for the tests that hash InfoHash and IpAddress with absl::Hash through their
    AbslHashValue hooks), so that all of @reef//protocol/... builds in the consumer's
    workspace. Like every repository here, each is set up only when something being
    built needs it: a consumer that builds only the library needs none of them.
    """
    maybe(local_stand_in, "rules_cc")
    maybe(local_stand_in, "rules_java")
    maybe(local_stand_in, "remote_coverage_tools")
    maybe(
        system_library,
        "openssl",
        debian_package = "libssl-dev",
        probe = "/usr/include/openssl/sha.h",
    )
    maybe(
        system_library,
        "absl",
        debian_package = "libabsl-dev",
        probe = "/usr/include/absl/base/config.h",
    )
    maybe(
        system_library,
        "doctest",
        debian_package = "doctest-dev",
        probe = "/usr/include/doctest/doctest.h",
    )
    maybe(
        system_library,
        "benchmark",
        debian_package = "libbenchmark-dev",
        probe = "/usr/include/benchmark/benchmark.h",
    )

def reef_dependencies():
    """Declares everything reef's own workspace builds with: the protocol library's
    repositories, and those of the server, tests, property tests and benchmarks."""
    reef_protocol_dependencies()
    for name, debian_package, probe in [
        ("rapidcheck", "librapidcheck-dev", "/usr/include/rapidcheck.h"),
        ("liburing", "liburing-dev", "/usr/include/liburing.h"),
        ("tomlplusplus", "libtomlplusplus-dev", "/usr/include/toml++/toml.h"),
        ("simdjson", "libsimdjson-dev", "/usr/include/simdjson.h"),
        ("libseccomp", "libseccomp-dev", "/usr/include/seccomp.h"),
        ("hiredis", "libhiredis-dev", "/usr/include/hiredis/async.h"),
    ]:
        maybe(system_library, name, debian_package = debian_package, probe = probe)
