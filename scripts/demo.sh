#!/usr/bin/env bash
# `make demo`: a first run, offline, on what the project ships: the zoo's default model
# (zoo/models/genesis_default_b8.genesis, pretrained here by scripts/make_default_model.sh) and
# the sample scan (zoo/samples/chest_phantom.mha, a CT-like phantom, and its lung mask).
# Each step prints a short report; outputs go to demo-out/, the zoo cache to demo-out/genesis-home.
set -euo pipefail
genesis=${GENESIS:-.build/release/genesis}
out=demo-out
rm -rf "$out" && mkdir -p "$out"
export GENESIS_HOME="$out/genesis-home"
scan=zoo/samples/chest_phantom.mha
mask=zoo/samples/chest_phantom_lungs.mha

step() { printf '\n== %s\n' "$*"; }
quiet() { "$@" 2>/dev/null; }

step "1. the zoo: the models it knows, and the default model fetched offline (SHA-256 checked)"
"$genesis" zoo list
"$genesis" zoo fetch genesis-default-b8
model=$("$genesis" zoo path genesis-default-b8)

step "2. verify: every tensor of the default model against the Genesis architecture"
"$genesis" verify "$model"

step "3. run on the sample scan: sliding 32x32x16 windows (overlap 0.5, Gaussian blending), CT window, written as NIfTI with the scan's geometry"
quiet "$genesis" run "$model" --input "$scan" --output "$out/restored.nii.gz" --patch 32,32,16 --overlap 0.5 --json \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print("wrote %s: shape %s, %d windows of %s, %.1f s, peak RSS %d MB" % (r["output"], r["shape"], r["windows"], r["patch"], r["seconds"], r["peak_rss_mb"]))'

step "4. a picture: the scan and the model's restoration, middle planes"
"$genesis" preview --scan "$scan" --scan "$out/restored.nii.gz" --out "$out/planes.png"

step "5. conversions to Keras .h5 and PyTorch .pt, each proved by diff (exit 0: identical)"
"$genesis" convert "$model" "$out/default.h5" | tail -n 2
"$genesis" convert "$model" "$out/default.pt" | tail -n 2
for f in default.h5 default.pt; do
    printf '%-12s ' "$f"
    "$genesis" diff "$model" "$out/$f" | tail -n 1
done

step "6. fine-tuning on the sample: lung segmentation cubes cut from the scan and its mask, 9 steps of batch 2 (3 epochs; Dice loss, validation on 2 held-out cubes)"
quiet "$genesis" cubes "$scan" --labels "$mask" --labels-out "$out/lungs.npy" --out "$out/images.npy" \
    --size 32,32,16 --per-volume 8 --border 8,4 --max-tissue 1 --seed 3
"$genesis" finetune --init "$model" --task segmentation --images "$out/images.npy" --labels "$out/lungs.npy" \
    --validation-split 0.25 --batch 2 --steps 9 --lr 0.1 --seed 1 --out "$out/lungs.genesis" 2>&1 | grep -v '^finetune: ' | tail -n 8
"$genesis" verify "$out/lungs.genesis" | tail -n 1

step "7. a damaged file: one line and exit 2"
head -c 100000 "$out/default.h5" > "$out/truncated.h5"
set +e
"$genesis" verify "$out/truncated.h5"
echo "exit code: $?"
set -e

printf '\nAll steps done; outputs in %s/ (planes.png is the picture).\n' "$out"
