#!/bin/bash
# Times our JPEG path against libjpeg-turbo's own tjbench on the same Landsat tiles, at the
# same quality, subsampling and DCT, and fails (exit 1) when any ratio is below 90 %.
#
#   codec/compare_tjbench.sh [seconds per measurement, default 0.5] [repetitions, default 5]
#
# Each cell is measured `repetitions` times on each side, alternating tjbench and ours so
# both see the same machine load, and the medians of wall-clock Mpix/s are compared. Run from the workspace root
# (or `./bazelw run //codec:compare_tjbench`). Needs tjbench (Debian libjpeg-turbo-progs)
# and python3. tjbench: -rgb (RGB pixels, as ours), -nowrite, default flags: TurboJPEG then
# encodes with the fast DCT below quality 96 (the accurate one from 96) and standard Huffman
# tables, and decodes with the accurate IDCT and fancy upsampling. Ours is measured on the
# benchmark rows set the same way (`*_standard_huffman`: accurate_dct and optimize_huffman
# off; they switch to the accurate DCT from quality 96 as TurboJPEG does) and decoded with
# codec::DecodeInto (accurate IDCT, fancy upsampling). (tjbench has no gray pixel format, so
# JPEG gray is not compared.)
set -euo pipefail
cd "${BUILD_WORKSPACE_DIRECTORY:-$(dirname "$0")/..}"
seconds="${1:-0.5}"
repetitions="${2:-5}"
./bazelw build --config=opt //codec:codec_benchmark >/dev/null 2>&1
binary=bazel-bin/codec/codec_benchmark
tiles=$(mktemp -d)
trap 'rm -rf "$tiles"' EXIT
"$binary" --write_tiles_ppm="$tiles"

# Wall-clock Mpix/s, as tjbench reports: the benchmark's own Mpix/s counter is over CPU
# time, which on a loaded machine runs ahead of the wall clock.
ours() {  # ours <encode|decode> <size> <setting> -> Mpix/s
  "$binary" --benchmark_filter="^jpeg/$1/landsat_rgb_$2/$3_standard_huffman\$" \
    --benchmark_min_time="$seconds" --benchmark_format=json 2>/dev/null |
    python3 -c '
import json, sys
b = json.load(sys.stdin)["benchmarks"][0]
seconds = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
print("%.1f" % (int(sys.argv[1]) ** 2 / seconds / 1e6))' "$2"
}

median() { python3 -c 'import statistics,sys; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

uptime
printf '%-5s %-4s %-4s | %10s %10s %6s | %10s %10s %6s\n' tile q sub \
  "enc ours" "enc tjb" ratio "dec ours" "dec tjb" ratio
results="$tiles/ratios"
cells=()
for size in 256 512; do
  for quality in 75 85 95; do
    for sub in 420 444; do cells+=("$size $quality $sub"); done
  done
done
for cell in "${cells[@]}"; do
  read -r size quality sub <<<"$cell"
  setting="q${quality}_${sub}"
  tj_enc=() tj_dec=() our_enc=() our_dec=()
  for ((r = 0; r < repetitions; ++r)); do
    # tjbench prints: RGB (TD) 4:2:0 85 256 256 <comp Mpix/s> <ratio> <decomp Mpix/s>
    read -r e d < <(tjbench "$tiles/landsat_rgb_$size.ppm" "$quality" -subsamp "$sub" -rgb \
      -benchtime "$seconds" -warmup 0.2 -quiet -nowrite |
      awk '$1 == "RGB" { print $7, $9 }')
    tj_enc+=("$e") tj_dec+=("$d")
    our_enc+=("$(ours encode "$size" "$setting")")
    our_dec+=("$(ours decode "$size" "$setting")")
  done
  oe=$(median "${our_enc[@]}") te=$(median "${tj_enc[@]}")
  re=$(awk "BEGIN { print 100 * $oe / $te }")
  od=$(median "${our_dec[@]}") td=$(median "${tj_dec[@]}")
  rd=$(awk "BEGIN { print 100 * $od / $td }")
  echo "$re" >>"$results"
  echo "$rd" >>"$results"
  printf '%-5s %-4s %-4s | %10s %10s %5.0f%% | %10s %10s %5.0f%%\n' "$size" "$quality" "$sub" \
    "$oe" "$te" "$re" "$od" "$td" "$rd"
done
uptime
lowest=$(sort -g "$results" | head -1)
mapfile -t ratios <"$results"
median_ratio=$(median "${ratios[@]}")
printf 'medians of %d repetitions of %s s; median ratio %.0f %%, lowest %.0f %%\n' \
  "$repetitions" "$seconds" "$median_ratio" "$lowest"
if awk "BEGIN { exit !($lowest < 90) }"; then
  echo "compare_tjbench: FAIL: a ratio is below 90 % of tjbench" >&2
  exit 1
fi
echo "compare_tjbench: every ratio is at least 90 % of tjbench"
