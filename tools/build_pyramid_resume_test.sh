#!/bin/bash
# kill -9 in the middle of a build, then --resume: the resumed build really continues from the
# commit point (it does not start again), and its pyramid equals a clean build's tile by tile.
#
# The kill is made deterministic: the build's stderr is a pipe that is already full, and
# --commit_seconds=0 commits after every block, before the progress line of that block. So the
# build commits its first block and then blocks writing the first progress line; we wait for
# the commit's side file (<output>.resume-1) and for the build to be blocked in that write,
# then kill -9 it. It cannot have finished, nor been killed before its first commit point.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
TOOL="${TOOLS}/build_pyramid"
# 9 blocks of Landsat 3,2,1 at zooms 12..14 (49 tiles); two workers, so the reorder buffer holds
# rendered blocks beyond the commit point when the build is killed.
ARGS=(--input="${DATA}/L7_ETMs.tif" "--bands=3,2,1" --min_zoom=12 --max_zoom=14 --threads=2)

"${TOOL}" "${ARGS[@]}" --output="${OUT}/clean.fpyr" --quiet 2>"${OUT}/clean.err" ||
  die "clean build: $(cat "${OUT}/clean.err")"

# kill_after_first_commit BUILD_PATH OUTPUT ARGS...: runs build_pyramid ARGS --output=OUTPUT and
# kills it with SIGKILL right after its first commit point (the side file BUILD_PATH.resume-1).
kill_after_first_commit() {
  python3 - "$@" <<'PY'
import fcntl, glob, os, signal, subprocess, sys, time
watch, output, command = sys.argv[1], sys.argv[2], sys.argv[3:]
read_end, write_end = os.pipe()
fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
os.set_blocking(write_end, False)
try:
    while True:
        os.write(write_end, b"." * 4096)
except BlockingIOError:
    pass  # Full: the build's first write to stderr blocks.
os.set_blocking(write_end, True)
build = subprocess.Popen(command + ["--output=" + output, "--commit_seconds=0"],
                         stdout=subprocess.DEVNULL, stderr=write_end)
os.close(write_end)

def blocked_writing(side_file_seen_at):
    """True once a thread of the build sleeps in pipe_write (after the header commit that
    follows the side file). Where the kernel hides wait channels ("0"), 5 s after the side
    file appeared stand in for it: the build cannot get past the blocked write anyway."""
    known = False
    for wchan in glob.glob("/proc/%d/task/*/wchan" % build.pid):
        try:
            channel = open(wchan).read().strip()
        except OSError:
            continue
        if "pipe_write" in channel:
            return True
        known = known or channel not in ("", "0")
    return not known and time.monotonic() - side_file_seen_at > 5

side_files, seen_at = [], None
deadline = time.monotonic() + 300
while build.poll() is None and time.monotonic() < deadline:
    side_files = [f for f in glob.glob(watch + ".resume-*") if not f.endswith(".tmp")]
    if side_files and seen_at is None:
        seen_at = time.monotonic()
    if side_files and blocked_writing(seen_at):
        break
    time.sleep(0.01)
if build.poll() is not None:
    sys.exit("the build ended (exit code %s) before it could be killed" % build.returncode)
build.send_signal(signal.SIGKILL)
build.wait()
if side_files != [watch + ".resume-1"]:
    sys.exit("expected one commit point (%s.resume-1) when killed, found %s" % (watch, side_files))
PY
}
kill_after_first_commit "${OUT}/killed.fpyr" "${OUT}/killed.fpyr" "${TOOL}" "${ARGS[@]}" ||
  die "could not kill the build after its first commit point"

[[ -e "${OUT}/killed.fpyr.resume-1" ]] || fail "the killed build left no commit point side file"
# An unfinished build is not a pyramid to the reading tools (unless they are told to read
# its last commit point).
UNFINISHED="${OUT}/killed.fpyr: an unfinished build (1 of 9 blocks committed, 5 tiles; no build_pyramid is writing it): finish it with build_pyramid --resume, or open it with allow_being_written (the tools' --allow_being_written) to read what is committed"
expect_error 1 "pyramid_info: ${UNFINISHED}" pyramid_info "${OUT}/killed.fpyr"
expect_error 1 "verify_pyramid: ${UNFINISHED}" verify_pyramid "${OUT}/killed.fpyr"
# Without --resume or --overwrite the file is not touched; other flags are refused.
expect_error 1 "build_pyramid: output ${OUT}/killed.fpyr already exists: use --overwrite to replace it (or --resume to continue an interrupted build)" \
  build_pyramid "${ARGS[@]}" --output="${OUT}/killed.fpyr"
expect_error 1 "build_pyramid: --resume: ${OUT}/killed.fpyr was started with other inputs or options: rerun with the same flags, or with --overwrite to start again" \
  build_pyramid "${ARGS[@]}" --output="${OUT}/killed.fpyr" --resume --codec=png

"${TOOL}" "${ARGS[@]}" --output="${OUT}/killed.fpyr" --resume >/dev/null 2>"${OUT}/resume.err" ||
  die "--resume: $(cat "${OUT}/resume.err")"
# It continued after block 1 (the commit point): its first progress line is block 2, not 1.
FIRST="$(grep -m1 '^progress: ' "${OUT}/resume.err")"
[[ "${FIRST}" == "progress: 2/9 blocks (22.2%), "* ]] ||
  fail "--resume did not continue from block 1 of 9: ${FIRST:-no progress line}: $(cat "${OUT}/resume.err")"
compgen -G "${OUT}/killed.fpyr.resume-*" >/dev/null && fail "resume side files left behind"
"${TOOLS}/verify_pyramid" "${OUT}/killed.fpyr" >/dev/null 2>"${OUT}/verify.err" ||
  fail "the resumed pyramid does not verify: $(cat "${OUT}/verify.err")"

# Tile by tile: the same levels, the same tiles present, the same bytes in each.
for name in clean killed; do
  "${TOOLS}/pyramid_info" "${OUT}/${name}.fpyr" --json >"${OUT}/${name}.json" ||
    die "pyramid_info ${name}.fpyr"
done
python3 - "${OUT}" "${TOOLS}/extract_tile" <<'PY' || fail "the resumed pyramid differs from the clean build"
import concurrent.futures, hashlib, json, subprocess, sys
out, extract_tile = sys.argv[1], sys.argv[2]
info = {name: json.load(open("%s/%s.json" % (out, name))) for name in ("clean", "killed")}
clean, killed = info["clean"], info["killed"]
for key in ("levels", "crs", "sealed"):
    assert clean[key] == killed[key], (key, clean[key], killed[key])
# The resumed build keeps the first run's creation time and creation options (flags that do
# not shape the tiles, such as --output and --resume, are not recorded): all else is equal.
for key in set(clean["metadata"]) | set(killed["metadata"]):
    if key != "created_utc":
        assert clean["metadata"].get(key) == killed["metadata"].get(key), key
for name in info:
    for flag in ("output", "resume", "overwrite", "quiet", "threads", "commit_seconds"):
        assert flag not in info[name]["metadata"]["creation_options"], (name, flag)

def tile(name, z, x, y):
    run = subprocess.run([extract_tile, "%s/%s.fpyr" % (out, name), str(z), str(x), str(y),
                          "--output=-"], capture_output=True)
    if run.returncode == 0:
        return hashlib.sha256(run.stdout).hexdigest()
    expected = "extract_tile: tile %d/%d/%d holds no data" % (z, x, y)
    assert run.stderr.decode().startswith(expected), run.stderr
    return None

positions = [(level["zoom"], x, y) for level in clean["levels"]
             for x in range(level["tile_range"][0], level["tile_range"][2] + 1)
             for y in range(level["tile_range"][1], level["tile_range"][3] + 1)]
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    hashes = {name: list(pool.map(lambda p: tile(name, *p), positions)) for name in info}
for position, a, b in zip(positions, hashes["clean"], hashes["killed"]):
    assert a == b, "tile %d/%d/%d: clean %s, resumed %s" % (position + (a, b))
for level in clean["levels"]:
    present = sum(1 for p, a in zip(positions, hashes["clean"]) if p[0] == level["zoom"] and a)
    assert present == level["tiles"], (level, present)
assert positions
print("%d tile positions identical" % len(positions))
PY

# --resume of the finished pyramid with the same flags: nothing to do, exit 0, file untouched.
BEFORE="$(cksum <"${OUT}/killed.fpyr")"
"${TOOL}" "${ARGS[@]}" --output="${OUT}/killed.fpyr" --resume 2>"${OUT}/again.err" ||
  fail "--resume of a finished pyramid: exit $?: $(cat "${OUT}/again.err")"
[[ "$(cat "${OUT}/again.err")" == "nothing to do: ${OUT}/killed.fpyr is already finished by the same build" ]] ||
  fail "--resume of a finished pyramid: $(cat "${OUT}/again.err")"

# --overwrite killed after its first commit point: the old pyramid is untouched and readable,
# the new one is in OUTPUT.partial; --resume finishes it and only then replaces the old one.
kill_after_first_commit "${OUT}/killed.fpyr.partial" "${OUT}/killed.fpyr" "${TOOL}" "${ARGS[@]}" \
  --max_zoom=13 --overwrite || die "could not kill the --overwrite build after its first commit point"
[[ "$(cksum <"${OUT}/killed.fpyr")" == "${BEFORE}" ]] || fail "a killed --overwrite changed the old pyramid"
"${TOOLS}/verify_pyramid" "${OUT}/killed.fpyr" >/dev/null 2>"${OUT}/verify.err" ||
  fail "the old pyramid does not verify after a killed --overwrite: $(cat "${OUT}/verify.err")"
[[ -e "${OUT}/killed.fpyr.partial" ]] || fail "the killed --overwrite left no ${OUT}/killed.fpyr.partial"
"${TOOL}" "${ARGS[@]}" --max_zoom=13 --overwrite --resume --output="${OUT}/killed.fpyr" --quiet \
  2>"${OUT}/replace.err" || fail "--resume of the --overwrite: exit $?: $(cat "${OUT}/replace.err")"
compgen -G "${OUT}/killed.fpyr.*" >/dev/null && fail "left behind: $(echo "${OUT}"/killed.fpyr.*)"
"${TOOLS}/pyramid_info" "${OUT}/killed.fpyr" --json | python3 -c '
import json, sys
zooms = [level["zoom"] for level in json.load(sys.stdin)["levels"]]
sys.exit(0 if max(zooms) == 13 else "max zoom %d, expected 13" % max(zooms))' ||
  fail "the resumed --overwrite did not replace the old pyramid"
finish
