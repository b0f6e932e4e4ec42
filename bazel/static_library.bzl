"""reef_static_library: a set of cc_libraries as one static archive plus their public
headers, for programs not built with Bazel (scripts/install_protocol_library.sh).

    reef_static_library(name = "reef-protocol", deps = ["//protocol/udp", ...])

gives lib<name>.a, holding the objects of every cc_library in `deps` and below that
belongs to this repository (system libraries are left to the linker: see the .pc file),
and <name>.headers, the public headers (`hdrs`, not private headers in `srcs`) of those
libraries, one repository-relative path a line. The headers are its runfiles.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

_PublicHeadersInfo = provider(fields = ["headers"])

def _public_headers_aspect_impl(target, ctx):
    direct = []
    if CcInfo in target:
        context = target[CcInfo].compilation_context
        direct = context.direct_public_headers + context.direct_textual_headers
    return [_PublicHeadersInfo(headers = depset(
        direct,
        transitive = [dep[_PublicHeadersInfo].headers for dep in getattr(ctx.rule.attr, "deps", [])],
    ))]

_public_headers_aspect = aspect(
    implementation = _public_headers_aspect_impl,
    attr_aspects = ["deps"],
)

def _repository_relative(file):
    # short_path is "protocol/udp/parse.h" in this repository's own build and
    # "../reef/protocol/udp/parse.h" when it is an external repository.
    path = file.short_path
    return path.split("/", 2)[2] if path.startswith("../") else path

def _reef_static_library_impl(ctx):
    own_repository = ctx.label.workspace_name
    objects = []
    for linker_input in depset(transitive = [
        dep[CcInfo].linking_context.linker_inputs
        for dep in ctx.attr.deps
    ]).to_list():
        if linker_input.owner.workspace_name != own_repository:
            continue
        for library in linker_input.libraries:
            # PIC objects, so that the archive links into position-independent
            # executables, Debian's default.
            objects.extend(library.pic_objects or library.objects)
    headers = [
        header
        for header in depset(transitive = [
            dep[_PublicHeadersInfo].headers
            for dep in ctx.attr.deps
        ]).to_list()
        if header.owner.workspace_name == own_repository
    ]

    archive = ctx.actions.declare_file("lib{}.a".format(ctx.label.name))
    cc_toolchain = find_cpp_toolchain(ctx)
    # q, not r: two objects with one basename (a.o from two packages) are both kept.
    # D: no timestamps or owners, so the archive depends only on its objects.
    ctx.actions.run(
        executable = cc_toolchain.ar_executable,
        arguments = ["qcsD", archive.path] + [o.path for o in objects],
        inputs = depset(objects, transitive = [cc_toolchain.all_files]),
        outputs = [archive],
        mnemonic = "ReefStaticLibrary",
        progress_message = "Archiving {} objects into {}".format(len(objects), archive.short_path),
    )

    manifest = ctx.actions.declare_file("{}.headers".format(ctx.label.name))
    ctx.actions.write(
        manifest,
        "".join(sorted([_repository_relative(h) + "\n" for h in headers])),
    )
    return [DefaultInfo(
        files = depset([archive, manifest]),
        runfiles = ctx.runfiles(files = headers + [manifest]),
    )]

reef_static_library = rule(
    implementation = _reef_static_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo], aspects = [_public_headers_aspect]),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    incompatible_use_toolchain_transition = True,
)
