#!/usr/bin/env bash
# The release binary of this tree against the one of an earlier commit, PyTorch in the same run
# (BENCHMARKS.md "Before and after"): the forward pass (GenesisBench forward, both variants) and
# one training step (genesis pretrain, batch 1 and 6), ours before, PyTorch, ours after, twice.
#   scripts/bench_before_after.sh REF     (REF: the earlier commit, e.g. a tag or a hash)
# Needs the peers (../shared/peers/setup.sh). Builds REF in a temporary worktree.
set -euo pipefail
REF=${1:?give the earlier commit}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
PEERS=${PEERS_DIR:-$(cd "$ROOT/../shared/peers" && pwd)}
MODEL=${MODEL:-$(cd "$ROOT/../shared/fixtures/keras" && pwd)/genesis_chest_ct_shape.h5}
STEPS=${STEPS:-4}
WT="$ROOT/.build-before"
if [ ! -d "$WT" ]; then git -C "$ROOT" worktree add -q --detach "$WT" "$REF"; else git -C "$WT" checkout -q --detach "$REF"; fi
for d in "$WT" "$ROOT"; do
    (cd "$d" && swift build -c release --product GenesisBench >/dev/null && swift build -c release --product genesis >/dev/null \
        && { swift build -c release --product genesis-hdf5-helper >/dev/null 2>&1 || true; })
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$ROOT/.build/release/genesis" cubes --count 6 --shape 64,64,32 --seed 3 --out "$dir/x6.npy" >/dev/null
"$ROOT/.build/release/genesis" cubes --count 1 --shape 64,64,32 --seed 3 --out "$dir/x1.npy" >/dev/null
echo "### $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg); before $(git -C "$WT" rev-parse --short HEAD), after $(git -C "$ROOT" rev-parse --short HEAD)"
forward() { echo "$1 $("$2/.build/release/GenesisBench" forward --variant "$3" ${4:+--bn $4} --reps 5 | grep -i 'median\|best' | head -1)"; }
step() {
    "$2/.build/release/genesis" pretrain --init "$MODEL" --data "$dir/x$3.npy" --transforms none --batch "$3" --steps "$STEPS" \
        --lr 0.1 --momentum 0.9 --out "$dir/run.h5" --log "$dir/log.jsonl" --json --force >/dev/null
    "$PY" -c 'import json,sys,statistics; s=[json.loads(l)["seconds"] for l in open(sys.argv[1]) if "\"loss\"" in l][1:]; print(sys.argv[2], "train step batch", sys.argv[3], "median %.3f s" % statistics.median(s))' \
        "$dir/log.jsonl" "$1" "$3"
    rm -f "$dir/log.jsonl" "$dir/run.h5"
}
for round in 1 2; do
    forward before "$WT" keras; forward after "$ROOT" keras
    forward before "$WT" torch batch; forward after "$ROOT" torch batch
    "$PY" "$PEERS/bench_peers.py" torch 5 | sed 's/^/peer /'
    for b in 1 6; do
        step before "$WT" "$b"; step after "$ROOT" "$b"
        "$PY" "$ROOT/scripts/peer_train_step.py" "$b" 3 | sed 's/^/peer /'
    done
done
