"""target_compatible_with values for mp's platform-specific targets.

A package's portable code picks per-platform source files with select(); a
target that only exists on some platforms (a fork-based benchmark, a test of
one backend) says so with one of these, so that `bazel test //...` skips it
elsewhere instead of failing to build it.
"""

def not_windows():
    """For targets that need POSIX: fork, file descriptors, /proc, futexes."""
    return select({
        "@platforms//os:windows": ["@platforms//:incompatible"],
        "//conditions:default": [],
    })

def windows_only():
    """For targets that test the Windows backend only."""
    return select({
        "@platforms//os:windows": [],
        "//conditions:default": ["@platforms//:incompatible"],
    })
