#!/usr/bin/env bash
# Peak memory of `genesis run` (inference mode) on N cubes against one cube's, and PyTorch's
# forward on the same input in the same run (BENCHMARKS.md "Memory of genesis run").
# Needs the peers (../shared/peers/setup.sh); builds genesis in release mode.
set -euo pipefail
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
export PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../shared/peers" && pwd)}
MODEL=${MODEL:-$(cd "$(dirname "$0")/../../shared/fixtures/keras" && pwd)/genesis_chest_ct_shape.h5}
swift build -c release --product genesis >/dev/null
G=.build/release/genesis
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rss() { /usr/bin/time -f "%M" -o "$dir/rss" "$@" >/dev/null; echo "$(( $(cat "$dir/rss") / 1024 )) MB"; }
echo "### $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg), model $MODEL"
for spec in "1 64,64,32" "8 64,64,32" "1 128,128,64" "2 128,128,64"; do
    set -- $spec
    "$G" cubes --count "$1" --shape "$2" --seed 3 --out "$dir/x.npy" >/dev/null
    ours=$(rss "$G" run "$MODEL" --input "$dir/x.npy" --output "$dir/y.npy" --bn inference)
    out=$(du -m "$dir/y.npy" | cut -f1)
    echo "genesis run, $1 x (1,$2), inference: peak RSS $ours (output file $out MB)"
    "$PY" "$(dirname "$0")/peer_forward_memory.py" "$dir/x.npy"
done
