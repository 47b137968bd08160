#!/opt/peers/bin/python
"""Checks `.pt` files written by our Swift TorchWriter with real PyTorch (not run in CI).

Usage:
    GENESIS_INTEROP_OUT=/tmp/genesis-interop swift test --filter TorchWriterTests/testWritesInteropFiles
    /opt/peers/bin/python scripts/interop_torch.py /tmp/genesis-interop [/path/to/shared]

For every file: torch.load(path, weights_only=True); the state dict loads with strict=True
into the official UNet3D(base=4) (wrapped in nn.DataParallel when keys carry `module.`);
every tensor equals the source fixture bit for bit; the optimizer state loads into the
matching torch optimizer and its buffers equal the source's.
"""
import os
import sys

import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/genesis-interop"
SHARED = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "shared")
sys.path.insert(0, os.path.join(SHARED, "peers"))
from torch_genesis import UNet3D  # noqa: E402

FIX = os.path.join(SHARED, "fixtures")
# written file -> (source fixture, expect module. prefix, network or None for the small net)
CASES = {
    "tiny_module_sgd.pt": ("torch/genesis_tiny.pt", True, "unet"),
    "tiny_plain_sgd.pt": ("torch/genesis_tiny.pt", False, "unet"),
    "tiny_bare.pt": ("torch/genesis_tiny.pt", False, "unet"),
    "legacy_to_zip.pt": ("torch/genesis_tiny_legacy.pt", True, "unet"),
    "small_adam.pt": ("formats/ckpt_adam.pt", False, None),
}


def strip(sd):
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def state_dict_of(obj):
    return obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj


def check(name, source, prefixed, net):
    path = os.path.join(OUT, name)
    obj = torch.load(path, weights_only=True)
    src = torch.load(os.path.join(FIX, source), weights_only=True)
    sd, src_sd = state_dict_of(obj), state_dict_of(src)
    problems = []
    keys_prefixed = all(k.startswith("module.") for k in sd)
    if keys_prefixed != prefixed:
        problems.append(f"module. prefix {keys_prefixed}, expected {prefixed}")
    a, b = strip(sd), strip(src_sd)
    if list(a) != list(b):
        problems.append("keys or key order differ")
    problems += [f"tensor {k} differs" for k in b if k not in a or not same(a[k], b[k])]
    if net == "unet":
        model = UNet3D(n_class=1, base=4)
        target = nn.DataParallel(model) if keys_prefixed else model
        target.load_state_dict(sd, strict=True)  # raises on any missing/unexpected key or shape
        for k, v in model.state_dict().items():
            if not same(v, b[k]):
                problems.append(f"loaded {k} differs")
    opt_note = "no optimizer"
    if isinstance(obj, dict) and "optimizer_state_dict" in obj:
        o, so = obj["optimizer_state_dict"], src["optimizer_state_dict"]
        if o["param_groups"] != so["param_groups"]:
            problems.append("param_groups differ")
        if sorted(o["state"]) != sorted(so["state"]):
            problems.append("optimizer state keys differ")
        for i, st in so["state"].items():
            for k, v in st.items():
                w = o["state"].get(i, {}).get(k)
                if torch.is_tensor(v) and not (torch.is_tensor(w) and same(v, w)):
                    problems.append(f"optimizer state[{i}].{k} differs")
                elif not torch.is_tensor(v) and v != w:
                    problems.append(f"optimizer state[{i}].{k} = {w!r}, expected {v!r}")
        if net == "unet":
            model = UNet3D(n_class=1, base=4)
            model.load_state_dict(strip(sd), strict=True)
            opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
            opt.load_state_dict(o)  # also checks group sizes against the network's parameters
            bufs = [opt.state[p]["momentum_buffer"] for p in model.parameters()]
            if not all(same(x, so["state"][i]["momentum_buffer"]) for i, x in enumerate(bufs)):
                problems.append("momentum buffers differ after optimizer.load_state_dict")
        opt_note = f"optimizer: {len(o['state'])} states, groups {[len(g['params']) for g in o['param_groups']]}"
    epoch = obj.get("epoch") if isinstance(obj, dict) else None
    status = "OK  " if not problems else "FAIL"
    print(f"{status} {name}: {len(sd)} tensors, prefix={keys_prefixed}, epoch={epoch}, {opt_note}"
          + ("" if net != "unet" else ", strict load into UNet3D(base=4) ok"))
    for p in problems:
        print(f"     - {p}")
    return not problems


def main():
    print(f"torch {torch.__version__}; files from {OUT}")
    ok = all([check(n, *c) for n, c in CASES.items()])
    print("ALL OK" if ok else "FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
