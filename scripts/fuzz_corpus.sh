#!/usr/bin/env bash
# Seed corpora for the fuzz targets (scripts/fuzz_run.sh), made from the shared fixtures:
#   pickle        data.pkl of every zip .pt, and the five pickles of the legacy .pt files
#   zip           the small .pt files whole (zip and legacy), and the .keras zips
#   safetensors   t.safetensors, files written by the safetensors package, .genesis files
#   native        the `genesis` metadata document of .genesis files our converter writes
#   npy           small arrays numpy writes (every dtype we read, 0-d to 4-d, v1/v2/v3 headers)
#   keras-config  model_config / training_config of every Keras .h5, config.json of .keras files
#   metaimage     the SimpleITK headers (.mhd; .mha with its zlib data), LOCAL .mha variants
#   onnx          small graphs of the operators genesis writes (onnx.helper), as genesis lays them out
#   data-pickle   the nnU-Net v1 plans .pkl (Tests/References/nnunet), small numpy/OrderedDict pickles
# Usage: scripts/fuzz_corpus.sh [OUT_DIR]   (default .build-fuzz/corpus; one folder per target)
# Needs the peers' Python (/opt/peers/bin/python: numpy, h5py, safetensors, onnx) and a built
# `genesis` (GENESIS, default .build/debug/genesis) for the .genesis files.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.build-fuzz/corpus}
FIXTURES=${GENESIS_FIXTURES:-/work/shared/fixtures}
PYTHON=${PEERS_PYTHON:-/opt/peers/bin/python}
GENESIS=${GENESIS:-.build/debug/genesis}

[ -d "$FIXTURES" ] || { echo "fuzz_corpus: no fixtures at $FIXTURES" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "fuzz_corpus: no Python at $PYTHON (numpy, h5py, safetensors)" >&2; exit 2; }
[ -x "$GENESIS" ] || { echo "fuzz_corpus: no genesis binary at $GENESIS (swift build --product genesis)" >&2; exit 2; }

rm -rf "$OUT"
mkdir -p "$OUT"/{pickle,zip,safetensors,native,npy,keras-config,metaimage,onnx,data-pickle}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# .genesis files from our own converter (the native format has no other writer).
"$GENESIS" convert "$FIXTURES/torch/genesis_tiny.pt" "$WORK/tiny_torch.genesis" >/dev/null
"$GENESIS" convert "$FIXTURES/keras/genesis_tiny.h5" "$WORK/tiny_keras.genesis" >/dev/null
"$GENESIS" convert --no-optimizer "$FIXTURES/keras/genesis_tiny_weights.h5" "$WORK/tiny_weights.genesis" >/dev/null

"$PYTHON" - "$FIXTURES" "$OUT" "$WORK" <<'PY'
import glob, io, json, os, pickletools, struct, sys, zipfile
import h5py, numpy as np
from safetensors.numpy import save as st_save

fixtures, out, work = sys.argv[1:4]
count = {}

def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)
    count[target] = count.get(target, 0) + 1

def base(p):
    return os.path.basename(p).replace(".", "_")

pts = sorted(glob.glob(f"{fixtures}/formats/*.pt") + glob.glob(f"{fixtures}/torch/*.pt"))
for p in pts:
    raw = open(p, "rb").read()
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(p) as z:
            for n in z.namelist():
                if n.endswith("/data.pkl"):
                    put("pickle", base(p) + ".data.pkl", z.read(n))
    else:
        # Legacy: five pickles back to back; each one alone is a pickle seed.
        pos = 0
        for i in range(5):
            end = pos
            for op, arg, at in pickletools.genops(io.BytesIO(raw[pos:])):
                if op.name == "STOP":
                    end = pos + at + 1
                    break
            put("pickle", f"{base(p)}.pickle{i}", raw[pos:end])
            pos = end
    if len(raw) <= 64 * 1024:
        put("zip", base(p), raw)

for p in sorted(glob.glob(f"{fixtures}/**/*.keras", recursive=True)):
    with zipfile.ZipFile(p) as z:
        put("keras-config", base(p) + ".config.json", z.read("config.json"))
        # The zip itself without its weights (a small zip of another shape for the zip target).
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as small:
            for n in z.namelist():
                if not n.endswith(".h5"):
                    small.writestr(n, z.read(n))
        put("zip", base(p) + ".small.zip", buf.getvalue())

for p in sorted(glob.glob(f"{fixtures}/**/*.h5", recursive=True)):
    if p.endswith(".reference.h5"):
        continue
    with h5py.File(p, "r") as f:
        for attr in ("model_config", "training_config"):
            if attr in f.attrs:
                v = f.attrs[attr]
                put("keras-config", f"{base(p)}.{attr}.json", v if isinstance(v, (bytes, str)) else bytes(v))

# safetensors: the fixture, files the reference package writes, headers of .genesis files.
put("safetensors", "t_safetensors", open(f"{fixtures}/formats/t.safetensors", "rb").read())
put("safetensors", "empty", st_save({}))
put("safetensors", "mixed", st_save({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros((0, 4), np.int8),
                                      "c": np.array(3.5, np.float64), "d": np.ones((2, 2, 1), np.uint8)}, metadata={"format": "np", "k": "v"}))
put("safetensors", "f16_bool", st_save({"h": np.ones(3, np.float16), "m": np.array([True, False])}))
for p in sorted(glob.glob(f"{work}/*.genesis")):
    raw = open(p, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = raw[8:8 + n]
    put("safetensors", base(p) + ".header_only", raw[:8 + n])  # refused at the length check, after the whole header
    meta = json.loads(header)["__metadata__"]
    put("native", base(p) + ".genesis.json", meta["genesis"])
    # A .genesis small enough to mutate: its header, the first tensor's bytes only (refused late).
    put("safetensors", base(p) + ".head", raw[:8 + n + 64])

# npy: what np.save writes, each dtype the reader takes and a few it refuses.
arrays = {
    "f4_3d": np.arange(24, dtype="<f4").reshape(2, 3, 4), "f8_1d": np.linspace(0, 1, 5), "f2_2d": np.ones((2, 2), "<f2"),
    "i1": np.array([-1, 2], "i1"), "u1_4d": np.zeros((1, 2, 1, 2), "u1"), "i2": np.array([7], "<i2"), "i4_0d": np.array(5, "<i4"),
    "i8": np.arange(3, dtype="<i8"), "b1": np.array([True, False]), "empty": np.zeros((0, 3), "<f4"),
    "big_endian": np.arange(3, dtype=">f4"), "fortran": np.asfortranarray(np.ones((2, 3), "<f4")), "c8": np.ones(2, np.complex64),
}
for name, a in arrays.items():
    buf = io.BytesIO()
    np.save(buf, a)
    put("npy", name, buf.getvalue())
for v in ((2, 0), (3, 0)):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones((2, 2), "<f4"), version=v)
    put("npy", f"version{v[0]}", buf.getvalue())
for p in sorted(glob.glob(f"{fixtures}/volumes/*.npy")):
    raw = open(p, "rb").read()
    hl = struct.unpack("<H", raw[8:10])[0] if raw[6] == 1 else struct.unpack("<I", raw[8:12])[0]
    put("npy", base(p) + ".header_only", raw[:(10 if raw[6] == 1 else 12) + hl])

# MetaImage: SimpleITK's files, and the .mhd header made LOCAL with a few raw voxels after it.
mhd = open(f"{fixtures}/volumes/ct_like.mhd", "rb").read()
put("metaimage", "ct_like_mhd", mhd)
mha = open(f"{fixtures}/volumes/ct_like_z.mha", "rb").read()
if len(mha) <= 16384:
    put("metaimage", "ct_like_z_mha", mha)
local = b"".join(l + b"\n" for l in mhd.splitlines() if not l.startswith((b"ElementDataFile", b"DimSize")))
put("metaimage", "local_raw", local + b"DimSize = 2 2 2\nElementDataFile = LOCAL\n" + bytes(16))
put("metaimage", "local_4d", b"ObjectType = Image\nNDims = 4\nDimSize = 1 1 2 2\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n" + bytes(16))

# ONNX: graphs of genesis's operators with 1-channel weights (a few hundred bytes each).
from onnx import helper, TensorProto, numpy_helper
def onnx_seed(name, opset, nodes, inits, bn_batch=False):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, "depth", "height", "width"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1, "depth", "height", "width"])
    g = helper.make_graph(nodes, "genesis_seed", [x], [y], [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="genesis")
    m.ir_version = 8
    helper.set_model_props(m, {"genesis_writer": "genesis 0.1.0", "genesis_bn_mode": "batch" if bn_batch else "inference"})
    put("onnx", name, m.SerializeToString())
w, b1 = np.ones((1, 1, 3, 3, 3), np.float32), np.zeros(1, np.float32)
c = [("w", w), ("b", b1), ("g", np.ones(1, np.float32)), ("m", np.zeros(1, np.float32)), ("v", np.ones(1, np.float32))]
onnx_seed("conv_bn_relu", 17, [helper.make_node("Conv", ["input", "w", "b"], ["c"], kernel_shape=[3, 3, 3], pads=[1] * 6),
                               helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], epsilon=1e-3),
                               helper.make_node("Relu", ["n"], ["output"])], c)
onnx_seed("pool_resize_concat", 17, [helper.make_node("MaxPool", ["input"], ["p"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
                                     helper.make_node("Resize", ["p", "", "s"], ["r"], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
                                     helper.make_node("Concat", ["r", "input"], ["k"], axis=1),
                                     helper.make_node("Sigmoid", ["k"], ["output"])], [("s", np.array([1, 1, 2, 2, 2], np.float32))])
onnx_seed("batch_stats", 18, [helper.make_node("ReduceMean", ["input", "axes"], ["mu"], keepdims=1),
                              helper.make_node("Sub", ["input", "mu"], ["d"]), helper.make_node("Mul", ["d", "d"], ["q"]),
                              helper.make_node("ReduceMean", ["q", "axes"], ["var"], keepdims=1), helper.make_node("Add", ["var", "e"], ["ve"]),
                              helper.make_node("Sqrt", ["ve"], ["sd"]), helper.make_node("Div", ["d", "sd"], ["output"])],
          [("axes", np.array([0, 2, 3, 4], np.int64)), ("e", np.array(1e-5, np.float32))], bn_batch=True)
onnx_seed("instnorm_leaky_strided", 17, [helper.make_node("Conv", ["input", "w"], ["c"], kernel_shape=[3, 3, 3], strides=[1, 2, 2], pads=[1] * 6),
                                         helper.make_node("InstanceNormalization", ["c", "g", "b"], ["n"], epsilon=1e-5),
                                         helper.make_node("LeakyRelu", ["n"], ["l"], alpha=0.01),
                                         helper.make_node("ConvTranspose", ["l", "t"], ["output"], kernel_shape=[1, 2, 2], strides=[1, 2, 2])],
          [("w", w), ("g", np.ones(1, np.float32)), ("b", b1), ("t", np.ones((1, 1, 1, 2, 2), np.float32))])
onnx_seed("head", 17, [helper.make_node("GlobalAveragePool", ["input"], ["a"]), helper.make_node("Flatten", ["a"], ["f"], axis=1),
                       helper.make_node("Gemm", ["f", "fw", "fb"], ["z"], transB=1), helper.make_node("Softmax", ["z"], ["sm"], axis=1),
                       helper.make_node("Reshape", ["sm", "shape"], ["output"])],
          [("fw", np.ones((2, 1), np.float32)), ("fb", np.zeros(2, np.float32)), ("shape", np.array([0, -1, 1, 1, 1], np.int64))])
import zlib
z = zlib.compress(bytes(range(16)))
put("metaimage", "local_zlib", b"ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = True\nCompressedDataSize = %d\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n" % len(z) + z)

# data-pickle: the nnU-Net v1 plans the real nnU-Net code wrote (Tests/References/nnunet), and small
# plain-data pickles of what plans hold (numpy arrays and scalars, OrderedDict) at protocols 2-4.
import collections, pickle
for p in sorted(glob.glob("Tests/References/nnunet/*.pkl")):
    put("data-pickle", base(p), open(p, "rb").read())
small = collections.OrderedDict(num_pool=np.int64(2), spacing=np.array([1.5, 0.8, 0.8]),
                                pools=[[2, 2, 1], (2, 2, 2)], name="Genesis", flag=True, none=None,
                                sizes=np.array([[64, 64, 32]], dtype=np.int32))
for proto in (2, 3, 4):
    put("data-pickle", f"small_p{proto}", pickle.dumps(small, protocol=proto))
    put("data-pickle", f"array_p{proto}", pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3), protocol=proto))

for t in sorted(count):
    print(f"fuzz_corpus: {t}: {count[t]} seeds")
PY
