#!/usr/bin/env bash
# The main job, offline, on a model this project writes itself: initialise a seeded Genesis
# network, inspect and verify it, run it on a seeded cube, convert it to every format and back,
# and prove each conversion with `genesis diff`. Outputs go to demo-out/.
set -euo pipefail
genesis=${GENESIS:-.build/release/genesis}
out=demo-out
rm -rf "$out" && mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "genesis init: a seeded network, base width 8, Keras 2 model.save layout (loads in Keras load_model and load_weights)"
"$genesis" init --base-filters 8 --seed 42 --out "$out/genesis_b8.h5"

step "genesis inspect: layers, weights, totals"
"$genesis" inspect "$out/genesis_b8.h5" | sed -n '1,10p;/^totals/,$p'

step "genesis verify: every tensor against the architecture"
"$genesis" verify "$out/genesis_b8.h5"

step "genesis cubes: two seeded cubes of the official size, 2 x 1 x 64 x 64 x 32"
"$genesis" cubes --count 2 --shape 64,64,32 --seed 7 --out "$out/cubes.npy"

step "genesis run: forward pass, BatchNorm with moving statistics (Keras predict)"
"$genesis" run "$out/genesis_b8.h5" --input "$out/cubes.npy" --output "$out/pred_keras.npy"

step "genesis convert to PyTorch (.pt, DataParallel keys), safetensors and native .genesis"
"$genesis" convert "$out/genesis_b8.h5" "$out/genesis_b8.pt" --module-prefix
"$genesis" convert "$out/genesis_b8.h5" "$out/genesis_b8.safetensors"
"$genesis" convert "$out/genesis_b8.h5" "$out/genesis_b8.genesis"

step "and back to Keras"
"$genesis" convert "$out/genesis_b8.pt" "$out/from_pt.h5"
"$genesis" convert "$out/genesis_b8.genesis" "$out/from_genesis.h5"
"$genesis" convert "$out/genesis_b8.genesis" "$out/from_genesis_weights.h5" --weights-only

step "genesis inspect of the native file: its recorded provenance, BatchNorm epsilon and source hash"
"$genesis" inspect "$out/genesis_b8.genesis" | sed -n '/^written by/,$p'

step "a conversion never writes onto its input (exit 2)"
set +e
"$genesis" convert "$out/genesis_b8.h5" "$out/genesis_b8.h5"
echo "exit code: $?"
set -e

step "genesis diff: every conversion against the original (exit 0 = identical within tolerance 0)"
for f in genesis_b8.pt genesis_b8.safetensors genesis_b8.genesis from_pt.h5 from_genesis.h5 from_genesis_weights.h5; do
    printf '%-24s ' "$f"
    "$genesis" diff "$out/genesis_b8.h5" "$out/$f" | tail -n 1
done

step "the PyTorch file gives the same output (same BN mode, the source's epsilon)"
"$genesis" run "$out/genesis_b8.pt" --input "$out/cubes.npy" --output "$out/pred_torch.npy" --bn inference --bn-epsilon 0.001

step "genesis pretrain: the Models Genesis self-supervision on seeded cubes, 4 steps of batch 2, then --resume to 6"
"$genesis" cubes --count 4 --shape 32,32,16 --seed 11 --out "$out/train.npy"
"$genesis" pretrain --init "$out/genesis_b8.h5" --data "$out/train.npy" --batch 2 --steps 4 --seed 1 --out "$out/run.h5"
"$genesis" pretrain --resume "$out/run.h5" --data "$out/train.npy" --batch 2 --steps 6 --seed 1 --out "$out/run.h5"
"$genesis" verify "$out/run.h5" | tail -n 1

step "genesis preview: original, transformed (the network's input) and restored slices, and the loss curve"
"$genesis" preview --data "$out/train.npy" --count 2 --seed 1 --model "$out/run.h5" --out "$out/pairs.png"
"$genesis" preview --log "$out/run.h5.log.jsonl" --out "$out/curve.png"

step "a damaged file: exit 2 and one line"
head -c 100000 "$out/genesis_b8.h5" > "$out/truncated.h5"
set +e
"$genesis" verify "$out/truncated.h5"
echo "exit code: $?"
set -e
