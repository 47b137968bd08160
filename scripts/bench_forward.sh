#!/usr/bin/env bash
# The forward pass, ours beside PyTorch and TensorFlow, in one run (BENCHMARKS.md "forward").
# Needs the peers (../shared/peers/setup.sh); builds GenesisBench in release mode.
set -euo pipefail
PY=${PEERS_PYTHON:-/opt/peers/bin/python}
PEERS=${PEERS_DIR:-$(cd "$(dirname "$0")/../../shared/peers" && pwd)}
swift build -c release --product GenesisBench >/dev/null
run() { echo "### $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; echo "\$ $*"; "$@"; echo; }
run .build/release/GenesisBench forward --variant keras --reps 5
run .build/release/GenesisBench forward --variant torch --bn batch --reps 5
run "$PY" "$PEERS/bench_peers.py" torch 5
run "$PY" "$PEERS/bench_peers.py" keras 5
run .build/release/GenesisBench forward --variant keras --reps 5
run .build/release/GenesisBench forward --variant torch --bn batch --reps 5
