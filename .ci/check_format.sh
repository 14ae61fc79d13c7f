#!/usr/bin/env bash
# Fails when a tracked C++ or proto file differs from what clang-format (.clang-format) makes of it.
# Fix with: git ls-files '*.cc' '*.h' '*.proto' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format is missing: apt-get install clang-format" >&2; exit 1; }
bad=()
while IFS= read -r file; do
  clang-format --dry-run -Werror "${file}" >/dev/null 2>&1 || bad+=("${file}")
done < <(git ls-files '*.cc' '*.h' '*.proto')
if ((${#bad[@]} > 0)); then
  printf 'check_format: not clang-formatted: %s\n' "${bad[@]}" >&2
  echo "check_format: fix with: clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "check_format: all C++ and proto files are formatted"
