#!/usr/bin/env bash
# Reading and conversion of the full-size Keras file, ours beside h5py/torch, in one run.
# Needs the peers (../shared/peers/setup.sh) and a release build of GenesisBench.
set -euo pipefail
F=${1:-../shared/fixtures/keras/genesis_chest_ct_shape.h5}
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
swift build -c release --product GenesisBench >/dev/null
swift build -c release --product genesis >/dev/null  # the sandbox's helper (read-sandboxed)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
.build/release/GenesisBench read "$F" 20
"$PY" scripts/bench_read_h5py.py "$F" 20
for o in pt safetensors genesis h5; do .build/release/GenesisBench convert "$F" "/tmp/genesis-bench.$o" 5; done
"$PY" scripts/bench_convert_peer.py "$F" /tmp/genesis-bench-peer.pt 5
# The official size: the same weights plus seeded SGD momentum slots (about 131 MB, like the
# released Genesis_Chest_CT.h5); the peer converts the momentum too.
.build/release/GenesisBench official-size "$F" /tmp/genesis-official-size.h5
# Reading the official size: in process, through the HDF5 sandbox (child process, limits, memfd),
# and h5py, in the same run.
for i in 1 2 3; do
  .build/release/GenesisBench read /tmp/genesis-official-size.h5 20
  .build/release/GenesisBench read-sandboxed /tmp/genesis-official-size.h5 20
  "$PY" scripts/bench_read_h5py.py /tmp/genesis-official-size.h5 20
done
for i in 1 2 3; do .build/release/GenesisBench convert /tmp/genesis-official-size.h5 /tmp/genesis-bench-official.pt 9; done
"$PY" scripts/bench_convert_peer.py /tmp/genesis-official-size.h5 /tmp/genesis-bench-official-peer.pt 9
.build/release/GenesisBench convert /tmp/genesis-official-size.h5 /tmp/genesis-bench-official.genesis 5
