"""Peer for the conversion benchmark: h5py + torch converting a Keras Genesis .h5 into the
official PyTorch layout (kernels transposed to (out,in,kD,kH,kW), identity up-convolutions,
`module.` keys) and `torch.save`, as a user would script it. A Keras model save with SGD
momentum slots (the official file) converts them too: transposed like their parameters,
rescaled buf = -m / lr, saved as an SGD `optimizer_state_dict` indexed like
`UNet3D.parameters()` (../shared/peers/torch_genesis.py). Prints one JSON line.

usage: /opt/peers/bin/python scripts/bench_convert_peer.py IN.h5 OUT.pt [reps]
       (reps 0: convert once and exit, for timing a fresh interpreter end to end)
"""
import json, os, sys, time
import h5py, numpy as np, torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"))
from torch_genesis import UNet3D  # noqa: E402

UP = [("up_tr256", 16), ("up_tr128", 8), ("up_tr64", 4)]
BLOCKS = ["down_tr64.ops.0", "down_tr64.ops.1", "down_tr128.ops.0", "down_tr128.ops.1", "down_tr256.ops.0", "down_tr256.ops.1",
          "down_tr512.ops.0", "down_tr512.ops.1", "up_tr256.ops.0", "up_tr256.ops.1", "up_tr128.ops.0", "up_tr128.ops.1",
          "up_tr64.ops.0", "up_tr64.ops.1"]


def names(g, attr):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs[attr]]


def canonical(w):
    return torch.from_numpy(np.ascontiguousarray(w.transpose(4, 3, 0, 1, 2)) if w.ndim == 5 else w)


def convert(src, dst, param_order):
    sd, trainable, optimizer = {}, [], None
    with h5py.File(src, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        final = None
        for layer in names(g, "layer_names"):
            ws = [g[layer][w][()] for w in names(g[layer], "weight_names")]
            if not ws:
                continue
            if layer.startswith("depth_"):
                i = int(layer.split("_")[1]); m = BLOCKS[i]
                if layer.endswith("_conv"):
                    sd[f"{m}.conv1.weight"] = canonical(ws[0])
                    sd[f"{m}.conv1.bias"] = torch.from_numpy(ws[1])
                    trainable += [f"{m}.conv1.weight", f"{m}.conv1.bias"]
                else:
                    trainable += [f"{m}.bn1.weight", f"{m}.bn1.bias"]
                    for k, w in zip(["weight", "bias", "running_mean", "running_var"], ws):
                        sd[f"{m}.bn1.{k}"] = torch.from_numpy(w)
                    sd[f"{m}.bn1.num_batches_tracked"] = torch.tensor(0)
            else:
                final = ws
        sd["out_tr.final_conv.weight"] = canonical(final[0])
        sd["out_tr.final_conv.bias"] = torch.from_numpy(final[1])
        trainable += ["out_tr.final_conv.weight", "out_tr.final_conv.bias"]
        if "optimizer_weights" in f:
            o = f["optimizer_weights"]
            slots = [o[n][()] for n in names(o, "weight_names") if o[n].ndim > 0]  # the step counter (iterations:0, iteration:0) is a scalar
            config = json.loads(f.attrs["training_config"])["optimizer_config"]["config"]
            lr = config.get("learning_rate", config.get("lr"))
            index = {n: i for i, n in enumerate(param_order)}
            state = {index[n]: {"momentum_buffer": canonical(m) * (-1.0 / lr)} for n, m in zip(trainable, slots)}
            optimizer = {"state": state, "param_groups": [{"lr": lr, "momentum": config["momentum"], "dampening": 0, "weight_decay": 0,
                                                           "nesterov": False, "params": list(range(len(param_order)))}]}
    b = sd["down_tr64.ops.0.conv1.weight"].shape[0]
    for name, mult in UP:
        c = mult * b
        w = torch.zeros(c, c, 2, 2, 2)
        w[torch.arange(c), torch.arange(c)] = 1
        sd[f"{name}.up_conv.weight"] = w
        sd[f"{name}.up_conv.bias"] = torch.zeros(c)
    checkpoint = {"epoch": 0, "state_dict": {"module." + k: v for k, v in sd.items()}}
    if optimizer is not None:
        checkpoint["optimizer_state_dict"] = optimizer
    torch.save(checkpoint, dst)


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with h5py.File(src, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        base = g["depth_0_conv"][names(g["depth_0_conv"], "weight_names")[0]].shape[-1]
    order = [n for n, _ in UNet3D(base=base).named_parameters()]
    convert(src, dst, order)
    if reps == 0:  # one conversion in a fresh interpreter, for `time` end to end
        sys.exit(0)
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); convert(src, dst, order); ts.append(time.perf_counter() - t)
    t = time.perf_counter(); torch.load(dst, weights_only=True); reread = time.perf_counter() - t
    print(json.dumps({"peer": f"h5py {h5py.__version__} + torch {torch.__version__}", "median_s": float(np.median(ts)), "best_s": min(ts),
                      "reread_s": reread}))
