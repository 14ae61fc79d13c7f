"""flatpyramid_deps(): every repository flatpyramid needs, from Debian packages.

Call it from a WORKSPACE after `local_repository(name = "flatpyramid", ...)`:

    load("@flatpyramid//:deps.bzl", "flatpyramid_deps")
    flatpyramid_deps()

A repository the caller declared first (for example a downloaded Abseil) is left alone, so
the labels flatpyramid uses (`@com_google_absl//absl/status`, ...) resolve to the caller's copy.
The Debian packages behind each repository are in //third_party:debian_packages.txt;
`./bazelw` installs them.
"""

load(
    "//third_party:repositories.bzl",
    "absl_system_repository",
    "remote_coverage_tools_stub",
    "rules_cc_shim",
    "system_cc_library",
    "system_repository",
)

def _maybe(repo_rule, name, **kwargs):
    if not native.existing_rule(name):
        repo_rule(name = name, **kwargs)

def flatpyramid_deps():
    """Declares the repositories flatpyramid needs that the caller has not declared."""

    # Bazel 4.2.3 offline.
    _maybe(rules_cc_shim, "rules_cc")
    _maybe(native.local_repository, "rules_java", path = "/usr/share/bazel/rules/java")
    _maybe(remote_coverage_tools_stub, "remote_coverage_tools")

    # Libraries.
    _maybe(absl_system_repository, "com_google_absl")
    _maybe(
        system_repository,
        "com_google_protobuf",
        build_file = Label("//third_party:protobuf.BUILD"),
        links = {"bin/protoc": "/usr/bin/protoc"},
    )
    _maybe(
        system_repository,
        "com_google_googletest",
        build_file = Label("//third_party:googletest.BUILD"),
        links = {
            "googletest": "/usr/src/googletest/googletest",
            "googlemock": "/usr/src/googletest/googlemock",
        },
    )
    _maybe(
        system_repository,
        "com_github_google_benchmark",
        build_file = Label("//third_party:benchmark.BUILD"),
    )
    _maybe(
        system_cc_library,
        "com_github_gflags_gflags",
        target = "gflags",
        linkopts = ["-lgflags", "-pthread"],
        doc = "gflags from Debian's libgflags-dev.",
    )
    _maybe(
        system_repository,
        "gdal",
        build_file = Label("//third_party:gdal.BUILD"),
        links = {"include": "/usr/include/gdal"},
    )
    _maybe(
        system_cc_library,
        "libjpeg_turbo",
        target = "turbojpeg",
        linkopts = ["-lturbojpeg"],
        more_targets = {"jpeg": ["-ljpeg"]},
        doc = "libjpeg-turbo: :turbojpeg (TurboJPEG API, Debian's libturbojpeg0-dev) and :jpeg (the libjpeg API, libjpeg62-turbo-dev).",
    )
    _maybe(
        system_cc_library,
        "libspng",
        target = "spng",
        linkopts = ["-lspng"],
        doc = "libspng from Debian's libspng-dev.",
    )
    _maybe(
        system_cc_library,
        "libwebp",
        target = "webp",
        linkopts = ["-lwebp"],
        doc = "libwebp from Debian's libwebp-dev.",
    )
    _maybe(
        system_cc_library,
        "zstd",
        target = "zstd",
        linkopts = ["-lzstd"],
        doc = "zstd from Debian's libzstd-dev.",
    )
    _maybe(
        system_cc_library,
        "zlib",
        target = "zlib",
        linkopts = ["-lz"],
        doc = "zlib from Debian's zlib1g-dev.",
    )
    _maybe(
        system_cc_library,
        "sqlite3",
        target = "sqlite3",
        linkopts = ["-lsqlite3"],
        doc = "SQLite from Debian's libsqlite3-dev (the MBTiles peer benchmark).",
    )
    _maybe(
        system_cc_library,
        "boost",
        target = "beast",
        linkopts = ["-pthread"],
        more_targets = {"asio": ["-pthread"]},
        doc = "Boost.Beast and Boost.Asio (header-only) from Debian's libboost-dev: //serve's HTTP server.",
    )
    _maybe(
        system_repository,
        "leaflet",
        build_file = Label("//third_party:leaflet.BUILD"),
        links = {"dist": "/usr/share/javascript/leaflet", "copyright": "/usr/share/doc/libjs-leaflet/copyright"},
    )

    # Python (//python): headers and interpreter from python3-dev, pybind11 from pybind11-dev.
    # local_config_python is the name pybind11_bazel gives the same repository.
    _maybe(
        system_repository,
        "local_config_python",
        build_file = Label("//third_party:python.BUILD"),
        links = {"include": "/usr/include/python3.11"},
    )
    _maybe(
        system_repository,
        "pybind11",
        build_file = Label("//third_party:pybind11.BUILD"),
        links = {"include/pybind11": "/usr/include/pybind11"},
    )
    native.register_toolchains("@local_config_python//:py_toolchain")
