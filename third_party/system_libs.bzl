"""A repository rule that wraps a Debian -dev package as a Bazel cc_library.

The package's headers live in /usr/include, a directory the compiler searches anyway, so
the wrapper declares no headers: it checks that the package is installed (failing with the
package's name otherwise) and copies third_party/<name>.BUILD, which names the libraries
to link.
"""

def _system_library_impl(ctx):
    if not ctx.path(ctx.attr.probe).exists:
        fail("{} not found: install Debian's {} (bash scripts/setup.sh)".format(
            ctx.attr.probe,
            ctx.attr.debian_package,
        ))
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")
    ctx.file("WORKSPACE", "workspace(name = \"{}\")\n".format(ctx.name))

_system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "build_file": attr.label(allow_single_file = True),
        "debian_package": attr.string(mandatory = True),
        "probe": attr.string(mandatory = True),
    },
    local = True,
)

def system_library(name, debian_package, probe):
    _system_library(
        name = name,
        build_file = "//third_party:{}.BUILD".format(name),
        debian_package = debian_package,
        probe = probe,
    )
