"""A C++ toolchain for Windows x86_64 built with Debian's mingw-w64 (posix)."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "artifact_name_pattern",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

_COMPILE = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]
_LINK = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(name, actions, flags, enabled = True, **kwargs):
    return feature(
        name = name,
        enabled = enabled,
        flag_sets = [flag_set(actions = actions, flag_groups = [flag_group(flags = flags)])],
        **kwargs
    )

def _impl(ctx):
    prefix = "/usr/bin/x86_64-w64-mingw32-"
    tools = {
        "gcc": prefix + "g++-posix",  # one driver for C and C++: links libstdc++
        "cpp": prefix + "cpp-posix",
        "ld": prefix + "ld",
        "ar": prefix + "ar",
        "nm": prefix + "nm",
        "objcopy": prefix + "objcopy",
        "objdump": prefix + "objdump",
        "strip": prefix + "strip",
        "gcov": "/bin/false",
    }
    features = [
        _flags("default_compile_flags", _COMPILE, [
            "-U_FORTIFY_SOURCE",
            # Keep Bazel's symlinked paths in dependency files.
            "-no-canonical-prefixes",
            "-fno-canonical-system-headers",
            "-fno-omit-frame-pointer",
            # Windows 8+ APIs (handle lists, job objects) and no min/max macros.
            "-D_WIN32_WINNT=0x0602",
            "-DWINVER=0x0602",
            "-DNOMINMAX",
            "-DWIN32_LEAN_AND_MEAN",
        ]),
        # -static: winpthreads and libstdc++ linked in, so no DLL has to be found
        # under Wine. Abseil needs dbghelp, Benchmark shlwapi, sockets ws2_32,
        # CNG bcrypt.
        _flags("default_link_flags", _LINK, [
            "-static",
            "-lstdc++",
            "-lws2_32",
            "-lbcrypt",
            "-lshlwapi",
            "-ldbghelp",
        ]),
        _flags("opt", _COMPILE, ["-O2", "-DNDEBUG", "-ffunction-sections", "-fdata-sections"], enabled = False),
        _flags("dbg", _COMPILE, ["-g"], enabled = False),
        feature(name = "supports_pic", enabled = False),
        feature(name = "supports_dynamic_linker", enabled = False),
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        toolchain_identifier = "mingw-w64-x86_64-posix",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "x86_64-w64-mingw32",
        target_cpu = "x64_windows",
        target_libc = "msvcrt",
        compiler = "mingw-gcc",
        abi_version = "gcc",
        abi_libc_version = "msvcrt",
        tool_paths = [tool_path(name = k, path = v) for k, v in tools.items()],
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/x86_64-w64-mingw32/",
            "/usr/x86_64-w64-mingw32/include",
            "/usr/share/mingw-w64/include",
        ],
        artifact_name_patterns = [
            artifact_name_pattern(category_name = "executable", prefix = "", extension = ".exe"),
        ],
    )

mingw_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
