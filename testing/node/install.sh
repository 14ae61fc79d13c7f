#!/usr/bin/env bash
# install.sh NAME@VERSION...: installs pinned npm packages that tests need (never the product:
# a JavaScript file the product serves is vendored into the repository) into a cache shared by
# every test and CI run on this machine, and prints the node_modules directory to use
# (NODE_PATH). The set of packages is installed once per distinct list, atomically: a
# half-finished install is never seen by another test.
#
#   node_modules="$(testing/node/install.sh pmtiles@4.3.0)" || exit 1
#   NODE_PATH="${node_modules}" node my_test.js
#
# The cache is ${FLATPYRAMID_NPM_CACHE:-/var/tmp/flatpyramid-npm}; tests that call this are
# tagged "local" and "requires-network" (the npm registry is the only network they reach).
set -euo pipefail

if (($# == 0)); then
  echo "usage: install.sh NAME@VERSION..." >&2
  exit 2
fi
for spec in "$@"; do
  if [[ ! "${spec}" =~ ^(@[a-z0-9._-]+/)?[a-z0-9._-]+@[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "install.sh: '${spec}' is not NAME@X.Y.Z: pin an exact version" >&2
    exit 2
  fi
done
if ! command -v npm >/dev/null; then
  echo "install.sh: npm is missing: apt-get install npm (Node 20 on this machine)" >&2
  exit 1
fi

cache="${FLATPYRAMID_NPM_CACHE:-/var/tmp/flatpyramid-npm}"
key="$(printf '%s\n' "$@" | sort | sha256sum | cut -c1-16)"
target="${cache}/${key}"
if [[ -d "${target}/node_modules" ]]; then
  echo "${target}/node_modules"
  exit 0
fi

mkdir -p "${cache}"
staging="$(mktemp -d "${cache}/.staging.XXXXXX")"
trap 'rm -rf "${staging}"' EXIT
printf '{"name":"flatpyramid-test-deps","private":true}\n' >"${staging}/package.json"
if ! (cd "${staging}" && npm install --no-audit --no-fund --loglevel=error \
  --cache="${cache}/.npm" --save-exact "$@" >&2); then
  echo "install.sh: npm install $* failed (the npm registry must be reachable)" >&2
  exit 1
fi
# Another test may have finished the same install first; either copy is complete.
if ! mv -T "${staging}" "${target}" 2>/dev/null; then
  [[ -d "${target}/node_modules" ]] || { echo "install.sh: could not create ${target}" >&2; exit 1; }
fi
trap - EXIT
rm -rf "${staging}" 2>/dev/null || true
echo "${target}/node_modules"
