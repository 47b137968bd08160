#!/usr/bin/env python3
"""Opens files that genesis's Swift writer wrote with the Python safetensors library and checks
values and metadata. Not part of CI (CI has no Python libraries).

Usage:
    mkdir -p /tmp/genesis-interop
    GENESIS_INTEROP_OUT=/tmp/genesis-interop swift test --filter testWritesInteropSample
    /opt/peers/bin/python scripts/interop_safetensors.py /tmp/genesis-interop

Needs safetensors and numpy; torch too for the bfloat16 tensor (numpy has no bfloat16).
The expected values mirror SafeTensorsReadWriteTests.sampleStore() and
NativeCheckpointTests.sample() in Tests/.
"""
import hashlib
import json
import re
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def header_and_data(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return n, json.loads(raw[8:8 + n]), raw[8 + n:]


def check_plain(path):
    print(f"== {path}")
    expected = {
        "f32.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 4) * np.float32(0.5),
        "f64.values": np.array([[1.5, -2.25], [1e-300, 3.0]], dtype=np.float64),
        "f16.half": np.array([1, 0.5, -2], dtype=np.float16),
        "i8.small": np.array([-3, -1, 0, 2], dtype=np.int8),
        "u8.bytes": np.array([0, 1, 2, 254, 255], dtype=np.uint8),
        "i16.short": np.array([-300, 300], dtype=np.int16),
        "i32.int": np.array([[-70000, 70000]], dtype=np.int32),
        "i64.steps": np.array(42, dtype=np.int64),
        "bool.mask": np.array([True, False, True]),
        "f32.scalar": np.array(-0.25, dtype=np.float32),
        "f32.empty": np.zeros((0, 3), dtype=np.float32),
        "i64.empty": np.zeros((2, 0), dtype=np.int64),
        'naïve "quoted" name': np.array([7], dtype=np.uint8),
    }
    with safe_open(path, framework="np") as f:
        check(f.metadata() == {"format": "pt", "writer": "genesis"}, f"metadata {f.metadata()}")
        keys = set(f.keys())
        check(keys == set(expected) | {"bf16.brain"}, f"tensor names ({len(keys)})")
        for name, want in expected.items():
            got = f.get_tensor(name)
            same = got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
            check(same, f"{name}: {got.dtype} {got.shape}")
    # numpy cannot hold bfloat16: read that one through torch.
    try:
        import torch
        with safe_open(path, framework="pt") as f:
            t = f.get_tensor("bf16.brain")
            check(t.dtype == torch.bfloat16 and t.tolist() == [1.0, -2.0], f"bf16.brain via torch: {t.tolist()}")
    except ImportError:
        check(False, "torch not installed: bf16.brain unchecked")
    n, header, _ = header_and_data(path)
    check(n % 8 == 0, f"header length {n} is a multiple of 8")
    check(list(header)[0] == "__metadata__", "__metadata__ listed first")


def check_genesis(path):
    print(f"== {path}")
    tensors = load_file(path)  # plain safetensors view, numpy
    check(len(tensors) == 13, f"{len(tensors)} tensors")
    w = tensors["down_tr64.ops.0.conv1.weight"]
    want = (np.arange(108, dtype=np.float32) * np.float32(0.01) + np.float32(0.5)).reshape(4, 1, 3, 3, 3)
    check(w.dtype == np.float32 and np.array_equal(w, want), "down_tr64.ops.0.conv1.weight values")
    check(tensors["down_tr64.ops.0.bn1.num_batches_tracked"].dtype == np.int64
          and tensors["down_tr64.ops.0.bn1.num_batches_tracked"].shape == ()
          and int(tensors["down_tr64.ops.0.bn1.num_batches_tracked"]) == 2, "num_batches_tracked int64 0-d = 2")
    slot = tensors["optimizer/down_tr64.ops.0.conv1.weight/exp_avg"]
    check(np.array_equal(slot, (np.arange(108, dtype=np.float32) * np.float32(-0.001)).reshape(4, 1, 3, 3, 3)), "exp_avg slot values")
    check(int(tensors["optimizer/down_tr64.ops.0.conv1.weight/step"]) == 2, "step counter = 2")

    with safe_open(path, framework="np") as f:
        meta = f.metadata()
    check(meta.get("format") == "genesis" and meta.get("format_version") == "1.0", f"format {meta.get('format')} {meta.get('format_version')}")
    doc = json.loads(meta["genesis"])
    for key in ["format", "format_version", "architecture", "provenance", "data_sha256"]:
        check(key in doc, f"document has {key}")
    arch = doc["architecture"]
    check(arch == {"variant": "torch", "base_width": 4, "labels": 1, "input_shape": [1, 16, 16, 8],
                   "bn_epsilon": 1e-5, "bn_momentum": 0.1, "bn_momentum_convention": "torch"}, "architecture")
    check(doc["training"]["optimizer"]["hyperparameters"]["betas"] == [0.9, 0.999], "hyperparameters")
    check(re.fullmatch(r"[0-9a-f]{64}", doc["data_sha256"]) is not None, "data_sha256 is 64 hex digits")
    _, _, data = header_and_data(path)
    check(hashlib.sha256(data).hexdigest() == doc["data_sha256"], "data_sha256 equals SHA-256 of the data buffer")
    try:
        import jsonschema  # optional
        schema = json.load(open(__file__.rsplit("/", 2)[0] + "/schemas/native-checkpoint.schema.json"))
        jsonschema.validate(doc, schema)
        check(True, "document validates against schemas/native-checkpoint.schema.json")
    except ImportError:
        print("skip jsonschema not installed: schema validation not run")


def check_same_layout_as_reference_writer(path):
    """Re-saves the tensors with the Rust writer (through safetensors.torch): same tensor order
    and same data buffer as ours. (Metadata key order is a Rust HashMap's, so headers may differ.)"""
    try:
        import torch
        from safetensors.torch import save
    except ImportError:
        check(False, "torch not installed: layout comparison not run")
        return
    with safe_open(path, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    ref = save(tensors, metadata=meta)
    n = struct.unpack("<Q", ref[:8])[0]
    ref_header = json.loads(ref[8:8 + n])
    _, ours, data = header_and_data(path)
    order = lambda h: [k for k in h if k != "__metadata__"]
    check(order(ours) == order(ref_header), f"{path}: tensor order equals the reference writer's")
    check({k: v for k, v in ours.items() if k != "__metadata__"} == {k: v for k, v in ref_header.items() if k != "__metadata__"},
          f"{path}: dtype, shape, data_offsets equal the reference writer's")
    check(data == ref[8 + n:], f"{path}: data buffer identical to the reference writer's")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/genesis-interop"
    check_plain(out + "/interop.safetensors")
    check_genesis(out + "/interop.genesis")
    check_same_layout_as_reference_writer(out + "/interop.safetensors")
    check_same_layout_as_reference_writer(out + "/interop.genesis")
    print("FAILED: " + ", ".join(FAILURES) if FAILURES else "all interop checks passed")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
