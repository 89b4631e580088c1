"""Offline repositories built from Debian's packages.

Bazel 4.2.3 as Debian ships it cannot download anything here, so every
external repository the build needs is declared from files on the machine.
`tools/setup.sh` installs the packages and unpacks the source packages into
`.deps/`. The repository names are the canonical upstream ones, so a user with
the internet can replace any of them by an `http_archive` in WORKSPACE.
"""

def _debian_rules_cc_impl(rctx):
    # Debian's rules_cc 0.0.4 loads `use_cpp_toolchain` from @bazel_tools,
    # which Bazel 4.2.3 does not have: copy it and inline that symbol.
    src = rctx.attr.path
    res = rctx.execute(["cp", "-r", src + "/.", "."])
    if res.return_code != 0:
        fail("cannot copy %s: %s (run tools/setup.sh)" % (src, res.stderr))
    for f in [
        "cc/private/rules_impl/compiler_flag.bzl",
        "cc/private/rules_impl/cc_flags_supplier.bzl",
    ]:
        text = rctx.read(f)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        rctx.file(f, text)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    attrs = {"path": attr.string(default = "/usr/share/bazel/rules/cc")},
    local = True,
)

def _coverage_stub_impl(rctx):
    # Every cc_test depends on @remote_coverage_tools (normally a download).
    # `bazel coverage` is not supported offline; `bazel test` needs only the
    # two targets to exist.
    rctx.file("WORKSPACE", 'workspace(name = "remote_coverage_tools")\n')
    rctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])
filegroup(name = "coverage_report_generator", srcs = [])
filegroup(name = "lcov_merger", srcs = [])
""")

coverage_stub = repository_rule(implementation = _coverage_stub_impl)

def mp_dependencies():
    """Declares every external repository of the mp workspace."""
    debian_rules_cc(name = "rules_cc")
    native.local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")
    native.local_repository(name = "platforms", path = "/usr/share/bazel/tools/platforms")
    native.local_repository(name = "bazel_skylib", path = "/usr/share/bazel/tools/skylib")
    coverage_stub(name = "remote_coverage_tools")

    # Debian's source packages, unpacked by tools/setup.sh.
    native.local_repository(name = "com_google_absl", path = ".deps/abseil-cpp")
    native.local_repository(name = "com_github_google_benchmark", path = ".deps/benchmark")

    # Debian's `googletest` package ships the sources without a BUILD file.
    native.new_local_repository(
        name = "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = "@//tools/bazel:googletest.BUILD",
    )
