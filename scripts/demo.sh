#!/usr/bin/env bash
# The main job, offline, on a model this project writes itself: initialise a seeded Genesis
# network, inspect it, verify it. Outputs go to demo-out/.
set -euo pipefail
genesis=${GENESIS:-.build/release/genesis}
out=demo-out
rm -rf "$out" && mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "genesis init: a seeded network, base width 8, in the Keras 2 HDF5 layout"
"$genesis" init --base-filters 8 --seed 42 --out "$out/genesis_b8.h5"

step "genesis inspect: layers, weights, totals"
"$genesis" inspect "$out/genesis_b8.h5" | sed -n '1,12p;/^totals/,$p'

step "genesis verify: every tensor against the architecture"
"$genesis" verify "$out/genesis_b8.h5"

step "genesis verify --json on a damaged copy (one kernel with a NaN would be exit 1; here a truncated file: exit 2)"
head -c 100000 "$out/genesis_b8.h5" > "$out/truncated.h5"
set +e
"$genesis" verify "$out/truncated.h5" --json
echo "exit code: $?"
set -e
