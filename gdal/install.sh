#!/usr/bin/env bash
# install: copies the FlatPyramid GDAL plugin into the directory GDAL loads plugins from, so
# that every GDAL program, QGIS and rasterio on this machine read .fpyr files with no
# GDAL_DRIVER_PATH. Run as `./bazelw run //gdal:install [-- --uninstall]`.
set -euo pipefail

readonly TOOL=install
readonly PLUGIN_NAME=gdal_FlatPyramid.so
# The driver itself, which the plugin loads from its own directory.
readonly IMPL_NAME=libflatpyramid_gdal_impl.so

usage() {
  cat <<USAGE
Usage: bazel run //gdal:install -- [--uninstall] [--plugin_dir=DIR]

Copies ${PLUGIN_NAME} and ${IMPL_NAME} into GDAL's plugin directory (the one compiled into libgdal, on Debian
/usr/lib/<arch>/gdalplugins), replacing an older copy, then checks that GDAL loads it.

  --uninstall        remove the plugin instead
  --plugin_dir=DIR   install into DIR instead (GDAL then needs GDAL_DRIVER_PATH=DIR)
  --help             this message
USAGE
}

usage_error() {
  echo "${TOOL}: $1 (see ${TOOL} --help)" >&2
  exit 2
}

fail() {
  echo "${TOOL}: $1" >&2
  exit 1
}

# gdal_plugin_dir prints the plugin directory compiled into the libgdal gdalinfo links:
# GDAL's CMake build (Debian's) bakes <libdir>/gdalplugins into the library.
gdal_plugin_dir() {
  local gdalinfo lib dir
  gdalinfo="$(command -v gdalinfo)" || fail "gdalinfo is not installed: apt-get install gdal-bin"
  lib="$(ldd "${gdalinfo}" | awk '/libgdal\.so/ {print $3; exit}')"
  [[ -n "${lib}" ]] || fail "cannot find the libgdal ${gdalinfo} uses (ldd shows none)"
  lib="$(readlink -f "${lib}")"
  dir="$(strings -n 8 "${lib}" | grep -m 1 '^/.*/gdalplugins$' || true)"
  [[ -n "${dir}" ]] || dir="$(dirname "${lib}")/gdalplugins"
  echo "${dir}"
}

main() {
  local uninstall=0 dir=""
  for arg in "$@"; do
    case "${arg}" in
      --uninstall) uninstall=1 ;;
      --plugin_dir=*) dir="${arg#--plugin_dir=}" ;;
      --help | -h)
        usage
        exit 0
        ;;
      *) usage_error "unknown argument ${arg}" ;;
    esac
  done
  [[ -n "${dir}" ]] || dir="$(gdal_plugin_dir)"
  if [[ "${dir}" != /* && -n "${BUILD_WORKING_DIRECTORY:-}" ]]; then
    dir="${BUILD_WORKING_DIRECTORY}/${dir}"
  fi
  local target="${dir}/${PLUGIN_NAME}"

  if ((uninstall)); then
    if [[ ! -e "${target}" && ! -e "${dir}/${IMPL_NAME}" ]]; then
      echo "${TOOL}: nothing to remove: ${target} does not exist"
      return 0
    fi
    # The plugin first: without it GDAL never looks for the implementation.
    rm -f "${target}" "${dir}/${IMPL_NAME}" ||
      fail "cannot remove ${target}: run as root (sudo) or remove it by hand"
    echo "${TOOL}: removed ${target} and ${dir}/${IMPL_NAME}"
    return 0
  fi

  local runfiles="${RUNFILES_DIR:-$0.runfiles}"
  mkdir -p "${dir}" 2>/dev/null || fail "cannot create ${dir}: run as root (sudo), or pass --plugin_dir"
  # The implementation first, so the plugin never finds itself without it; each copied under
  # a temporary name and renamed, so a GDAL program starting meanwhile never loads half a file.
  local name
  for name in "${IMPL_NAME}" "${PLUGIN_NAME}"; do
    local built="${runfiles}/flatpyramid/gdal/${name}"
    [[ -f "${built}" ]] || fail "the built ${name} is missing at ${built}: run it with bazel run //gdal:install"
    local temporary="${dir}/.${name}.tmp.$$"
    cp "${built}" "${temporary}" 2>/dev/null || {
      rm -f "${temporary}"
      fail "cannot write to ${dir}: run as root (sudo), or pass --plugin_dir=DIR and set GDAL_DRIVER_PATH=DIR"
    }
    chmod 0644 "${temporary}"
    mv -f "${temporary}" "${dir}/${name}"
  done
  echo "${TOOL}: installed ${target} (and ${IMPL_NAME}, the driver it loads)"

  local check_env=(env -u GDAL_DRIVER_PATH)
  [[ "${dir}" == "$(gdal_plugin_dir)" ]] || check_env=(env "GDAL_DRIVER_PATH=${dir}")
  if "${check_env[@]}" gdalinfo --format FlatPyramid >/dev/null 2>&1; then
    echo "${TOOL}: GDAL loads it: gdalinfo --format FlatPyramid"
  else
    fail "GDAL does not load ${target}: gdalinfo --format FlatPyramid fails"
  fi
}

main "$@"
