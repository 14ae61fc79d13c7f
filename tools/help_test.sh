#!/bin/bash
# --help of every tool: exit code 0, the usage on stdout, nothing on stderr, and every flag the
# tool's source defines (read from tools/<tool>.cc, so a new flag cannot be left out) named
# with its whole description.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"

for tool in build_pyramid merge_pyramids pyramid_info extract_tile read_region verify_pyramid convert_pyramid; do
  code=0
  "${TOOLS}/${tool}" --help >"${OUT}/${tool}.help" 2>"${OUT}/${tool}.err" || code=$?
  [[ "${code}" == 0 ]] || fail "${tool} --help: exit code ${code}"
  [[ -s "${OUT}/${tool}.err" ]] && fail "${tool} --help wrote to stderr: $(cat "${OUT}/${tool}.err")"
  grep -q "^ *${tool} " "${OUT}/${tool}.help" || fail "${tool} --help shows no '${tool} ...' synopsis"
  python3 - "${TOOLS}/${tool}.cc" "${OUT}/${tool}.help" "${tool}" <<'PY' || fail "${tool} --help (above)"
import re, sys
source, help_text, tool = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
flat = " ".join(help_text.split())  # gflags wraps descriptions at spaces
literal = r'"(?:[^"\\]|\\.)*"'
defines = re.findall(r"DEFINE_\w+\(\s*(\w+)\s*,.*?,\s*((?:%s\s*)+)\)" % literal, source, re.S)
if not defines:
    sys.exit("%s: no DEFINE_ found in %s" % (tool, sys.argv[1]))
bad = []
for name, literals in defines:
    description = "".join(bytes(s[1:-1], "utf-8").decode("unicode_escape")
                          for s in re.findall(literal, literals))
    description = " ".join(description.split())
    if not re.search(r"(^|\s)--?%s\b" % name, help_text):
        bad.append("--%s is not named" % name)
    elif description not in flat:
        bad.append("--%s: its description is not shown: %s" % (name, description))
if bad:
    sys.exit("%s --help: %s" % (tool, "; ".join(bad)))
print("%s --help: %d flags explained" % (tool, len(defines)))
PY
done
finish
