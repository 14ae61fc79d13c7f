#!/bin/bash
# Times our JPEG path against libjpeg-turbo's own tjbench on the same Landsat tiles, at the
# same quality and subsampling, interleaved in one run, and prints the ratios.
#
#   codec/compare_tjbench.sh [seconds per measurement, default 1]
#
# Run from the workspace root. Needs tjbench (Debian libjpeg-turbo-progs) and python3.
# tjbench: -rgb (RGB pixels, as ours), -nowrite, default flags (accurate DCT, fancy
# upsampling): the same work as codec::Encode / codec::DecodeInto with default options.
set -euo pipefail
cd "${BUILD_WORKSPACE_DIRECTORY:-$(dirname "$0")/..}"
seconds="${1:-1}"
bazel build --config=opt //codec:codec_benchmark >/dev/null 2>&1
binary=bazel-bin/codec/codec_benchmark
tiles=$(mktemp -d)
trap 'rm -rf "$tiles"' EXIT
"$binary" --write_tiles_ppm="$tiles"

ours() {  # ours <encode|decode> <size> <quality> <subsampling> -> Mpix/s
  "$binary" --benchmark_filter="^jpeg/$1/landsat_rgb_$2/q$3_$4\$" \
    --benchmark_min_time="$seconds" --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["benchmarks"][0]["Mpix/s"])'
}

printf '%-5s %-4s %-4s | %10s %10s %6s | %10s %10s %6s\n' tile q sub \
  "enc ours" "enc tjb" ratio "dec ours" "dec tjb" ratio
for size in 256 512; do
  for quality in 75 85 95; do
    for sub in 420 444; do
      # tjbench prints: RGB (TD) 4:2:0 85 256 256 <comp Mpix/s> <ratio> <decomp Mpix/s>
      read -r tj_encode tj_decode < <(tjbench "$tiles/landsat_rgb_$size.ppm" "$quality" \
        -subsamp "$sub" -rgb -benchtime "$seconds" -warmup 0.5 -quiet -nowrite |
        awk '$1 == "RGB" { print $7, $9 }')
      our_encode=$(ours encode "$size" "$quality" "$sub")
      our_decode=$(ours decode "$size" "$quality" "$sub")
      printf '%-5s %-4s %-4s | %10s %10s %5.0f%% | %10s %10s %5.0f%%\n' "$size" "$quality" "$sub" \
        "$our_encode" "$tj_encode" "$(awk "BEGIN { print 100 * $our_encode / $tj_encode }")" \
        "$our_decode" "$tj_decode" "$(awk "BEGIN { print 100 * $our_decode / $tj_decode }")"
    done
  done
done
