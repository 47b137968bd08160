#!/usr/bin/env bash
# Data parallel on this machine (BENCHMARKS.md "Data parallel"): the step time of one process
# with 2 threads against 2 ranks (mpirun) with 1 thread each, at the same global batch, on the
# official-shape network (base 32, torch variant from `genesis init`, 64x64x32 cubes,
# --transforms none, SGD), with and without --sync-bn, and the bytes each rank all-reduces per
# step. Seconds per step: the median over the steps after the first (rank 0's log).
set -euo pipefail
STEPS=${STEPS:-4}
BATCH=${BATCH:-2}
swift build -c release --product genesis >/dev/null
G=$PWD/.build/release/genesis
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
"$G" init --base-filters 32 --variant torch --seed 1 --out base32.pt >/dev/null
"$G" cubes --count $((BATCH * 2)) --shape 64,64,32 --seed 3 --out x.npy >/dev/null
common=(pretrain --init base32.pt --data x.npy --transforms none --no-shuffle --batch "$BATCH" --steps "$STEPS" --optimizer sgd --lr 0.01 --json)
report() {
    python3 - "$1" "$2" "$3" <<'PYEOF'
import json, sys, statistics
steps = [json.loads(l) for l in open(sys.argv[2]) if '"loss"' in l]
s = [x["seconds"] for x in steps[1:]]
j = json.load(open(sys.argv[3]))
extra = f", all-reduce {j['allreduce_bytes_per_step']} bytes/step/rank in {j['allreduce_buckets']} buckets" if "allreduce_bytes_per_step" in j else ""
print(f"{sys.argv[1]}: median {statistics.median(s):.3f} s/step, best {min(s):.3f} s ({len(s)} steps after the first {steps[0]['seconds']:.3f} s){extra}")
PYEOF
}
echo "### $(date -u +%T) UTC, load $(cut -d' ' -f1-3 /proc/loadavg), global batch $BATCH, $STEPS steps"
"$G" "${common[@]}" --threads 2 --out one.pt --log one.log > one.json
report "1 process, 2 threads" one.log one.json
echo "    load $(cut -d' ' -f1-3 /proc/loadavg)"
mpirun -np 2 --oversubscribe --allow-run-as-root "$G" "${common[@]}" --threads 1 --out two.pt --log two.log > two.json
report "2 ranks x 1 thread" two.log two.json
echo "    load $(cut -d' ' -f1-3 /proc/loadavg)"
mpirun -np 2 --oversubscribe --allow-run-as-root "$G" "${common[@]}" --threads 1 --sync-bn --out sync.pt --log sync.log > sync.json
report "2 ranks x 1 thread, --sync-bn" sync.log sync.json
echo "    load $(cut -d' ' -f1-3 /proc/loadavg)"
