"""Repository rules that expose Debian's system libraries under their upstream Bazel names.

Every library here comes from a Debian package (listed in //third_party:debian_packages.txt),
so nothing is downloaded. The labels match the upstream projects' own Bazel labels
(`@com_google_absl//absl/status:statusor`, `@com_google_protobuf//:protobuf`, ...), so a
consumer that prefers downloaded copies declares those repositories first and
`flatpyramid_deps()` leaves them alone.
"""

# Abseil: upstream target label -> (Debian shared libraries, other targets it needs).
# Only the targets flatpyramid uses; add a row when code needs another one.
ABSL_TARGETS = {
    "absl/base:core_headers": ([], []),
    "absl/base:base": (["absl_base", "absl_raw_logging_internal", "absl_spinlock_wait", "absl_log_severity"], []),
    "absl/base:endian": ([], ["//absl/base:base"]),
    "absl/base:log_severity": (["absl_log_severity"], []),
    "absl/numeric:int128": (["absl_int128"], []),
    "absl/numeric:bits": ([], []),
    "absl/strings:strings": (["absl_strings", "absl_strings_internal", "absl_throw_delegate"], ["//absl/base:base", "//absl/numeric:int128"]),
    "absl/strings:str_format": (["absl_str_format_internal"], ["//absl/strings:strings"]),
    "absl/strings:cord": (["absl_cord", "absl_cord_internal", "absl_cordz_functions", "absl_cordz_handle", "absl_cordz_info"], ["//absl/strings:strings"]),
    "absl/status:status": (["absl_status", "absl_strerror"], ["//absl/strings:cord", "//absl/strings:str_format"]),
    "absl/status:statusor": (["absl_statusor", "absl_bad_variant_access"], ["//absl/status:status"]),
    "absl/types:optional": (["absl_bad_optional_access"], []),
    "absl/types:span": ([], []),
    "absl/types:variant": (["absl_bad_variant_access"], []),
    "absl/hash:hash": (["absl_hash", "absl_city", "absl_low_level_hash"], []),
    "absl/container:flat_hash_map": (["absl_raw_hash_set", "absl_hashtablez_sampler", "absl_exponential_biased"], ["//absl/hash:hash", "//absl/synchronization:synchronization"]),
    "absl/container:flat_hash_set": ([], ["//absl/container:flat_hash_map"]),
    "absl/container:btree": ([], ["//absl/strings:strings"]),
    "absl/container:inlined_vector": ([], []),
    "absl/container:fixed_array": ([], []),
    "absl/synchronization:synchronization": (["absl_synchronization", "absl_graphcycles_internal", "absl_stacktrace", "absl_symbolize", "absl_debugging_internal", "absl_demangle_internal", "absl_malloc_internal", "absl_kernel_timeout_internal"], ["//absl/time:time", "//absl/base:base"]),
    "absl/time:time": (["absl_time", "absl_time_zone", "absl_civil_time"], ["//absl/base:base"]),
    "absl/cleanup:cleanup": ([], []),
    "absl/memory:memory": ([], []),
    "absl/functional:any_invocable": ([], []),
    "absl/functional:function_ref": ([], []),
    "absl/functional:bind_front": ([], []),
    "absl/algorithm:container": ([], []),
    "absl/random:random": (["absl_random_distributions", "absl_random_internal_platform", "absl_random_internal_pool_urbg", "absl_random_internal_randen", "absl_random_internal_randen_hwaes", "absl_random_internal_randen_hwaes_impl", "absl_random_internal_randen_slow", "absl_random_internal_seed_material", "absl_random_seed_gen_exception", "absl_random_seed_sequences"], ["//absl/base:base"]),
}

# Libraries that only newer Abseil releases have (the rows above name them so the same table
# works with both); any other library that is missing is an error, not silently dropped.
#   absl_kernel_timeout_internal: split out of absl_synchronization in Abseil 20240116;
#   Debian 12 has 20220623.
ABSL_NEWER_ONLY = ["absl_kernel_timeout_internal"]

_LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"]

def _has_shared_library(ctx, lib):
    for directory in _LIBRARY_DIRS:
        if ctx.path("%s/lib%s.so" % (directory, lib)).exists:
            return True
    return False

def _absl_repository_impl(ctx):
    packages = {}
    for label, (libs, deps) in ABSL_TARGETS.items():
        package, name = label.split(":")
        packages.setdefault(package, []).append((name, libs, deps))
    ctx.file("WORKSPACE", "workspace(name = \"com_google_absl\")\n")
    ctx.file("BUILD.bazel", "# Abseil from Debian's libabsl-dev, headers in /usr/include/absl.\n")
    for package, targets in packages.items():
        rules = ["package(default_visibility = [\"//visibility:public\"])\n"]
        for name, libs, deps in targets:
            existing = []
            for lib in libs:
                if _has_shared_library(ctx, lib):
                    existing.append(lib)
                elif lib not in ABSL_NEWER_ONLY:
                    fail(("Abseil library lib%s.so (for @com_google_absl//%s:%s) is in none of %s: " +
                          "install libabsl-dev (./bazelw does), or if your Abseil no longer has it, " +
                          "fix ABSL_TARGETS in //third_party:repositories.bzl") %
                         (lib, package, name, ", ".join(_LIBRARY_DIRS)))
            rules.append("cc_library(\n    name = %r,\n    linkopts = %r,\n    deps = %r,\n)\n" % (
                name,
                ["-l" + lib for lib in existing],
                deps,
            ))
        ctx.file(package + "/BUILD.bazel", "\n".join(rules))

absl_system_repository = repository_rule(
    implementation = _absl_repository_impl,
    local = True,
    doc = "Abseil from Debian, with the upstream package layout and target names.",
)

def _system_repository_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")
    for path, target in ctx.attr.links.items():
        ctx.symlink(target, path)

system_repository = repository_rule(
    implementation = _system_repository_impl,
    local = True,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "links": attr.string_dict(doc = "Path in the repository -> system path it links to."),
    },
    doc = "A repository whose BUILD file is ours and whose sources are links to system paths.",
)

def _system_cc_library_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    targets = {ctx.attr.target: ctx.attr.linkopts}
    targets.update(ctx.attr.more_targets)
    build = "# %s\n" % ctx.attr.doc
    for name in sorted(targets):
        build += """
cc_library(
    name = "{target}",
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(target = name, linkopts = repr(targets[name]))
    ctx.file("BUILD.bazel", build)

system_cc_library = repository_rule(
    implementation = _system_cc_library_impl,
    local = True,
    attrs = {
        "target": attr.string(mandatory = True),
        "linkopts": attr.string_list(mandatory = True),
        "more_targets": attr.string_list_dict(doc = "Further targets of the same library: name -> linkopts."),
        "doc": attr.string(),
    },
    doc = "A repository with one cc_library that links a system library whose headers are in /usr/include.",
)

_RULES_CC_DEFS = '''"""Offline stand-in for rules_cc: re-exports Bazel's native C++ rules."""

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def cc_shared_library(**kwargs):
    native.cc_shared_library(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)

def fdo_prefetch_hints(**kwargs):
    native.fdo_prefetch_hints(**kwargs)

def fdo_profile(**kwargs):
    native.fdo_profile(**kwargs)

def objc_import(**kwargs):
    native.objc_import(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)
'''

def _rules_cc_shim_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"rules_cc\")\n")
    ctx.file("BUILD.bazel", "")
    ctx.file("cc/BUILD.bazel", "exports_files([\"defs.bzl\"])\n")
    ctx.file("cc/defs.bzl", _RULES_CC_DEFS)

rules_cc_shim = repository_rule(
    implementation = _rules_cc_shim_impl,
    doc = "rules_cc for Bazel 4.2.3 offline: Debian's bazel-rules-cc is too new for it.",
)

def _remote_coverage_tools_stub_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    ctx.file("BUILD.bazel", """# Bazel 4 names these in its implicit coverage attributes; they are never run here.
package(default_visibility = ["//visibility:public"])

filegroup(name = "coverage_report_generator")

filegroup(name = "lcov_merger")
""")

remote_coverage_tools_stub = repository_rule(
    implementation = _remote_coverage_tools_stub_impl,
    doc = "Stub for the coverage tools Bazel 4 would otherwise download.",
)
