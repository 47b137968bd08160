#!/usr/bin/env bash
# Peak memory and time of `genesis run` on a whole 512x512x300 int16 scan (sliding windows,
# Gaussian blending, streamed output) and of MONAI's sliding_window_inference with the official
# PyTorch network on the same scan in the same run (BENCHMARKS.md "Whole scans").
# The scan is generated here (scripts/make_bench_scan.py) and removed after.
# OVERLAP (default 0) sets the windows: 640 at 0, 1573 at 0.25, 4050 at 0.5 (each a full
# 64x64x32 forward pass of 237 GFLOP). PEER=0 skips MONAI.
set -euo pipefail
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
export PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../shared/peers" && pwd)}
MODEL=${MODEL:-$(cd "$(dirname "$0")/../../shared/fixtures/keras" && pwd)/genesis_chest_ct_shape.h5}
SHAPE=${SHAPE:-"512 512 300"}
OVERLAP=${OVERLAP:-0}
PATCH=${PATCH:-64,64,32}
swift build -c release --product genesis >/dev/null
G=.build/release/genesis
dir=${BENCH_DIR:-$(mktemp -d)}
trap 'rm -rf "$dir"' EXIT
"$PY" "$(dirname "$0")/make_bench_scan.py" "$dir/scan.mhd" $SHAPE
echo "### $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg), scan $SHAPE int16 ($(du -m "$dir/scan.raw" | cut -f1) MB), model $MODEL"
/usr/bin/time -f "time: %e s wall, peak RSS %M KB" -o "$dir/time" \
    "$G" run "$MODEL" --input "$dir/scan.mhd" --output "$dir/pred.nii.gz" --patch "$PATCH" --overlap "$OVERLAP" --json > "$dir/run.json"
cat "$dir/run.json" | tr -d '\n ' ; echo
echo "genesis run: $(cat "$dir/time")"
echo "### $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${PEER:-1}" != 0 ]; then
    "$PY" "$(dirname "$0")/bench_volume_peer.py" "$dir/scan.mhd" "$dir/peer.npy" "$PATCH" "$OVERLAP"
    echo "### $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
fi
