#!/usr/bin/env bash
# Regenerates Sources/ONNXFormat/onnx.pb.swift: the Swift messages of `onnx/onnx.proto3` of a
# named ONNX release (committed: v1.17.0, IR version 10), made by swift-protobuf's protoc plugin
# at the version Package.swift names (1.39.0). Run once when moving to another ONNX release;
# the package itself never builds the plugin (it depends on the SwiftProtobuf runtime only).
#
#   scripts/gen_onnx_proto.sh [ONNX_TAG] [SWIFT_PROTOBUF_TAG]
#
# Needs git, swift, python3 (protoc comes from pip's grpcio-tools in a scratch venv).
set -euo pipefail
ONNX_TAG=${1:-v1.17.0}
SP_TAG=${2:-1.39.0}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
git clone -q --depth 1 --branch "$ONNX_TAG" https://github.com/onnx/onnx "$WORK/onnx"
git clone -q --depth 1 --branch "$SP_TAG" https://github.com/apple/swift-protobuf "$WORK/sp"
(cd "$WORK/sp" && swift build -c release --product protoc-gen-swift)
python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q grpcio-tools
cp "$WORK/onnx/onnx/onnx.proto3" "$WORK/"
"$WORK/venv/bin/python" -m grpc_tools.protoc --plugin=protoc-gen-swift="$WORK/sp/.build/release/protoc-gen-swift" \
    --swift_out="$WORK" --swift_opt=Visibility=Public -I"$WORK" "$WORK/onnx.proto3"
cp "$WORK/onnx.pb.swift" "$REPO/Sources/ONNXFormat/onnx.pb.swift"
echo "wrote Sources/ONNXFormat/onnx.pb.swift from onnx $ONNX_TAG onnx.proto3 (swift-protobuf $SP_TAG)"
