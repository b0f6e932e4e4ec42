"""Build macros for reef: warnings, exceptions policy, tests, fuzz targets."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

# Warnings for reef's own code only (system headers come in through -isystem paths the
# compiler searches by default, so they are not affected).
REEF_WARNINGS = [
    "-Wall",
    "-Wextra",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wshadow",
    "-Werror",
]

# protocol/ and server/ never throw: errors are values.
NO_EXCEPTIONS = ["-fno-exceptions"]

def reef_cc_library(name, copts = [], exceptions = False, **kwargs):
    """A library of reef's own code: warnings as errors, no exceptions by default."""
    cc_library(
        name = name,
        copts = REEF_WARNINGS + ([] if exceptions else NO_EXCEPTIONS) + copts,
        **kwargs
    )

def reef_cc_binary(name, copts = [], exceptions = False, **kwargs):
    cc_binary(
        name = name,
        copts = REEF_WARNINGS + ([] if exceptions else NO_EXCEPTIONS) + copts,
        **kwargs
    )

def reef_cc_test(name, srcs, deps = [], copts = [], data = [], **kwargs):
    """A doctest unit test. Tests may use exceptions (doctest and rapidcheck do)."""
    cc_test(
        name = name,
        srcs = srcs,
        copts = REEF_WARNINGS + copts,
        deps = deps + [
            "//testing:doctest_main",
            "@doctest",
        ],
        data = data,
        **kwargs
    )

def reef_proptest(name, srcs, deps = [], copts = [], **kwargs):
    """A rapidcheck property test run through doctest (see proptest/rapidcheck_doctest.h)."""
    reef_cc_test(
        name = name,
        srcs = srcs,
        copts = copts,
        deps = deps + [
            "//proptest:rapidcheck_doctest",
            "@rapidcheck",
        ],
        **kwargs
    )

def reef_cc_benchmark(name, srcs, deps = [], copts = [], tags = [], **kwargs):
    """A Google Benchmark binary. Run it by hand with --config=opt; never a timed test."""
    cc_binary(
        name = name,
        srcs = srcs,
        copts = REEF_WARNINGS + copts,
        deps = deps + ["@benchmark//:benchmark_main"],
        tags = tags + ["benchmark"],
        **kwargs
    )

def reef_fuzzer(name, srcs, deps = [], copts = [], dict = None, **kwargs):
    """A fuzz target: one LLVMFuzzerTestOneInput, three ways to run it.

    <name>              the fuzzer; its main() depends on --define=fuzzing_engine:
                        libFuzzer (--config=fuzz), AFL++ (--config=afl), or the replay
                        main otherwise.
    <name>_replay_test  a cc_test that runs every input in corpus/<name>/ once, so every
                        `bazel test //...` replays every corpus under every config.
    """
    engine_linkopts = select({
        "//bazel:fuzzing_engine_libfuzzer": ["-fsanitize=fuzzer"],
        "//bazel:fuzzing_engine_afl": ["/usr/lib/afl/libAFLDriver.a"],
        "//conditions:default": [],
    })
    engine_deps = select({
        "//bazel:fuzzing_engine_libfuzzer": [],
        "//bazel:fuzzing_engine_afl": [],
        "//conditions:default": ["//fuzz:replay_main"],
    })
    corpus = "//corpus:" + name
    cc_library(
        name = name + "_lib",
        srcs = srcs,
        copts = REEF_WARNINGS + copts,
        deps = deps,
        alwayslink = True,
        testonly = True,
    )
    cc_binary(
        name = name,
        deps = [":" + name + "_lib"] + engine_deps,
        linkopts = engine_linkopts,
        data = [corpus] + ([dict] if dict else []),
        testonly = True,
        tags = ["fuzz_target"],
        **kwargs
    )
    cc_test(
        name = name + "_replay_test",
        deps = [
            ":" + name + "_lib",
            "//fuzz:replay_main",
        ],
        args = ["corpus/" + name],
        data = [corpus],
        size = "small",
        tags = ["fuzz_replay"],
    )
