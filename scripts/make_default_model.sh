#!/usr/bin/env bash
# Makes the zoo's embedded default model, zoo/models/genesis_default_b8.genesis: a Models Genesis
# network of base width 8 for 32x32x16 cubes, pretrained by this project's own `genesis pretrain`
# with the Models Genesis transforms on cubes sampled (`genesis cubes`) from seeded CT-like phantoms
# (scripts/make_phantom.py), every tissue kept (--max-tissue 1: the official rule keeps mostly air and
# lung, and a model for the whole phantom must see its body too). Seeded throughout; a release build. Prints the manifest's size and hash.
#
#   scripts/make_default_model.sh            # GENESIS=.build/release/genesis, EPOCHS=3 (96 steps each; the shipped model)
set -euo pipefail
genesis=${GENESIS:-.build/release/genesis}
epochs=${EPOCHS:-3}
work=${WORK:-$(mktemp -d)}
out=zoo/models/genesis_default_b8.genesis
mkdir -p zoo/models docs "$work"

echo "phantoms (8 for training, 2 for validation) in $work"
for s in 1 2 3 4 5 6 7 8; do
    python3 scripts/make_phantom.py --shape 128,128,64 --seed $((100 + s)) --out "$work/train_$s.mha"
done
for s in 1 2; do
    python3 scripts/make_phantom.py --shape 128,128,64 --seed $((200 + s)) --out "$work/val_$s.mha"
done

"$genesis" cubes "$work"/train_*.mha --size 32,32,16 --per-volume 96 --modality ct --border 8,4 --max-tissue 1 --seed 1 --out "$work/train.npy"
"$genesis" cubes "$work"/val_*.mha --size 32,32,16 --per-volume 32 --modality ct --border 8,4 --max-tissue 1 --seed 2 --out "$work/val.npy"

"$genesis" init --base-filters 8 --seed 42 --input-shape 1,32,32,16 --out "$work/init.h5"
"$genesis" pretrain --init "$work/init.h5" --data "$work/train.npy" --validation "$work/val.npy" \
    --transforms genesis --epochs "$epochs" --batch 8 --optimizer sgd --lr 0.1 --momentum 0.9 \
    --schedule none --seed 1 --out "$work/pretrained.genesis" --log "$work/pretrain.log.jsonl"
cp "$work/pretrain.log.jsonl" docs/default_model_pretrain.log.jsonl
"$genesis" preview --log "$work/pretrain.log.jsonl" --out docs/default_model_curve.png
"$genesis" convert "$work/pretrained.genesis" "$out" --no-optimizer
"$genesis" verify "$out"
printf 'size %s bytes, sha256 %s\n' "$(stat -c %s "$out")" "$(sha256sum "$out" | cut -d' ' -f1)"
