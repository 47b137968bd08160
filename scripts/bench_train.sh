#!/usr/bin/env bash
# One training step (forward, backward, SGD) of the full network at batch 1 and 6 on 64x64x32
# cubes: `genesis pretrain` (release build, --transforms none, the official-shape fixture, SGD
# lr 0.1 momentum 0.9) beside PyTorch's official UNet3D in the same run (BENCHMARKS.md
# "Training step"). Seconds per step: the median over the steps after the first (from the
# JSON-lines log); peak RSS of the whole process.
set -euo pipefail
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
export PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../shared/peers" && pwd)}
MODEL=${MODEL:-$(cd "$(dirname "$0")/../../shared/fixtures/keras" && pwd)/genesis_chest_ct_shape.h5}
STEPS=${STEPS:-4}
swift build -c release --product genesis >/dev/null
G=.build/release/genesis
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "### $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg), model $MODEL"
for b in 1 6; do
    "$G" cubes --count "$b" --shape 64,64,32 --seed 3 --out "$dir/x.npy" >/dev/null
    /usr/bin/time -f "%M" -o "$dir/rss" "$G" pretrain --init "$MODEL" --data "$dir/x.npy" --transforms none --batch "$b" \
        --steps "$STEPS" --lr 0.1 --momentum 0.9 --out "$dir/run.h5" --log "$dir/log.jsonl" --json >/dev/null
    "$PY" - "$dir/log.jsonl" "$b" "$(( $(cat "$dir/rss") / 1024 ))" <<'PYEOF'
import json, sys, statistics
steps = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
s = [x["seconds"] for x in steps[1:]]
print(f"genesis pretrain train step batch {sys.argv[2]}: median {statistics.median(s):.3f} s, best {min(s):.3f} s ({len(s)} steps after the first {steps[0]['seconds']:.3f} s), peak RSS {sys.argv[3]} MB")
PYEOF
    "$PY" "$(dirname "$0")/peer_train_step.py" "$b" 3
done
