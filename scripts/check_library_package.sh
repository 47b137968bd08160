#!/usr/bin/env bash
# A package that depends on this one by a tagged git URL builds GenesisKit and runs the README's
# library example on a Keras .h5 made here by tf_keras (a file no test was written against).
#   scripts/check_library_package.sh [WORKDIR]      (default: a fresh temporary directory)
# Needs: git, swift, and a Python with tf_keras (PYTHON, default the peers' /opt/peers/bin/python).
# Prints the example's output; exit 0 when it says "valid" and the output shape.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
PYTHON="${PYTHON:-/opt/peers/bin/python}"
VERSION="$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' "$ROOT/Sources/GenesisIO/FormatBridge.swift")"
mkdir -p "$WORK"

# 1. The library at a tag: a clone of this commit, tagged with the version.
rm -rf "$WORK/genesis"
git clone -q "$ROOT" "$WORK/genesis"
git -C "$WORK/genesis" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
git -C "$WORK/genesis" tag -f "$VERSION" >/dev/null

# 2. A package that depends on it by version, its main.swift the README's swift block.
APP="$WORK/app"
rm -rf "$APP" && mkdir -p "$APP/Sources/VerifyAndRun"
cat > "$APP/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription
let package = Package(
    name: "app",
    dependencies: [.package(url: "file://$WORK/genesis", from: "$VERSION")],
    targets: [.executableTarget(name: "VerifyAndRun", dependencies: [.product(name: "GenesisKit", package: "genesis")])]
)
SWIFT
awk '/^```swift$/ {on=1; next} /^```$/ {if (on) exit} on' "$ROOT/README.md" > "$APP/Sources/VerifyAndRun/main.swift"
test -s "$APP/Sources/VerifyAndRun/main.swift" || { echo "no swift block in README.md" >&2; exit 1; }

# 3. A Keras model of base width 6 (the tests use 4 and 32), saved by tf_keras as model.save does.
GENESIS_PEERS="$ROOT/../shared/peers" "$PYTHON" - "$WORK/base6.h5" <<'PY'
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.environ["GENESIS_PEERS"])
from keras_genesis import unet_model_3d
m = unet_model_3d((1, 16, 16, 16), n_base_filters=6)
m.compile(optimizer="sgd", loss="mse")
m.save(sys.argv[1])
print("made", sys.argv[1], "with", m.count_params(), "parameters")
PY

# 4. Build and run it (the HDF5 file goes through the sandbox).
(cd "$APP" && swift build -c release 2>&1 | tail -1)
OUT="$("$APP/.build/release/VerifyAndRun" "$WORK/base6.h5")"
echo "$OUT"
grep -q '^valid: ' <<<"$OUT" && grep -q '^output shape \[1, 1, 16, 16, 16\]' <<<"$OUT"
echo "library check: a package depending on genesis $VERSION by a tagged git URL built GenesisKit and ran the README example: ok"
