"""Repository rules for what reef takes from the machine rather than from the network.

system_library wraps a Debian -dev package as a Bazel cc_library. The package's headers
live in /usr/include, a directory the compiler searches anyway, so the wrapper declares no
headers: it checks that the package is installed (failing with the package's name
otherwise) and copies third_party/<name>.BUILD, which names the libraries to link.

local_stand_in makes one of the small offline stand-ins under third_party/ (rules_cc,
rules_java, remote_coverage_tools) a repository.

Both name their files with Label(), which resolves inside reef's repository wherever the
WORKSPACE that calls them lives: reef's own, or a consumer's that loads @reef.
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
        build_file = Label("//third_party:{}.BUILD".format(name)),
        debian_package = debian_package,
        probe = probe,
    )

def _local_stand_in_impl(ctx):
    # A local_repository needs a path, and a path relative to reef means nothing in a
    # consumer's WORKSPACE; the directory is found from a label instead.
    directory = ctx.path(ctx.attr.anchor).dirname.get_child(ctx.attr.directory)
    if not directory.exists:
        fail("{} not found".format(directory))
    for entry in directory.readdir():
        ctx.symlink(entry, entry.basename)

_local_stand_in = repository_rule(
    implementation = _local_stand_in_impl,
    attrs = {
        "anchor": attr.label(allow_single_file = True),
        "directory": attr.string(mandatory = True),
    },
    local = True,
)

def local_stand_in(name):
    """The repository `name` made of the files in third_party/<name>/."""
    _local_stand_in(
        name = name,
        anchor = Label("//third_party:BUILD.bazel"),
        directory = name,
    )
