"""Writes the flatpyramid wheel: ./bazelw run //python:wheel -- --output_dir=dist

The wheel (flatpyramid-<version>-cp311-cp311-linux_x86_64.whl for Debian 12's Python) holds
the flatpyramid package, its type stubs and the extension module built by Bazel, with
METADATA, WHEEL and RECORD (sha256 of every file). The extension links Debian's shared
libraries (GDAL, Abseil, protobuf, the codecs), which pip cannot install: METADATA lists them,
and the wheel works where those packages are installed (third_party/debian_packages.txt).
"""

import argparse
import base64
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

PACKAGE = "flatpyramid"


def runfile(path):
    """`path` (relative to the workspace) in this binary's runfiles."""
    # This file is <runfiles>/flatpyramid/python/wheel.py.
    workspace = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(workspace, path)


def version():
    text = open(runfile(f"python/{PACKAGE}/__init__.py"), encoding="utf-8").read()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def tags():
    """The wheel tag of the interpreter the extension was built for: ("cp311", "linux_x86_64")."""
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return python, platform


def needed_libraries(extension):
    """The shared libraries the extension links (ELF NEEDED entries, from readelf)."""
    dynamic = subprocess.run(
        ["readelf", "-d", extension], stdout=subprocess.PIPE, check=True, text=True
    ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)


def metadata(wheel_version, libraries):
    note = "\n".join(f"  {lib}" for lib in libraries)
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {PACKAGE}\n"
        f"Version: {wheel_version}\n"
        "Summary: Single-file multi-resolution tile pyramids: build them from GDAL rasters, "
        "read tiles, windows and points as numpy arrays\n"
        "License: see the flatpyramid repository\n"
        f"Requires-Python: =={sys.version_info.major}.{sys.version_info.minor}.*\n"
        "Requires-Dist: numpy\n"
        "Description-Content-Type: text/plain\n"
        "\n"
        "The extension module links these shared libraries, which this wheel does not\n"
        "contain: install them from Debian 12 (flatpyramid's third_party/debian_packages.txt,\n"
        "e.g. libgdal32, libabsl20220623, libprotobuf32, libturbojpeg0, libspng0, libwebp7):\n"
        f"{note}\n"
    )


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel_files():
    """[(name in the wheel, bytes)] of the package, the extension and the dist-info."""
    python, platform = tags()
    wheel_version = version()
    extension = runfile(f"python/{PACKAGE}/_flatpyramid.so")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    files = [
        (f"{PACKAGE}/{name}", open(runfile(f"python/{PACKAGE}/{name}"), "rb").read())
        for name in ("__init__.py", "__init__.pyi", "py.typed")
    ]
    files.append((f"{PACKAGE}/_flatpyramid{suffix}", open(extension, "rb").read()))
    dist_info = f"{PACKAGE}-{wheel_version}.dist-info"
    files.append(
        (f"{dist_info}/METADATA", metadata(wheel_version, needed_libraries(extension)).encode())
    )
    files.append(
        (
            f"{dist_info}/WHEEL",
            (
                "Wheel-Version: 1.0\n"
                "Generator: flatpyramid //python:wheel\n"
                "Root-Is-Purelib: false\n"
                f"Tag: {python}-{python}-{platform}\n"
            ).encode(),
        )
    )
    record = [record_line(name, data) for name, data in files]
    record.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    return f"{PACKAGE}-{wheel_version}-{python}-{python}-{platform}.whl", files


def write_wheel(output_dir, overwrite):
    """Writes the wheel into output_dir (created if missing); returns its path."""
    name, files = wheel_files()
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, name)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists: pass --overwrite to replace it")
    fd, temporary = tempfile.mkstemp(dir=output_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in files:
                info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if member.endswith(".so") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        os.rename(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output_dir",
        required=True,
        help="Directory to write the wheel into, relative to where bazel run was started.",
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace an existing wheel.")
    args = parser.parse_args()
    output_dir = os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), args.output_dir)
    try:
        print(write_wheel(output_dir, args.overwrite))
    except OSError as error:
        print(f"wheel: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
