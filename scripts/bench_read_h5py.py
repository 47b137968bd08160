"""Peer for the read benchmark: h5py + numpy reading every weight of a Keras HDF5 file into
memory, in saved order (layer_names / weight_names), as our reader does. Prints one JSON line.

usage: /opt/peers/bin/python scripts/bench_read_h5py.py FILE [reps]
"""
import json, sys, time
import h5py, numpy as np


def names(g, attr):
    if attr in g.attrs:
        v = g.attrs[attr]
    else:
        v, k = [], 0
        while f"{attr}{k}" in g.attrs:
            v += list(g.attrs[f"{attr}{k}"]); k += 1
    return [n.decode() if isinstance(n, bytes) else str(n) for n in v]


def read_all(path):
    out = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        for layer in names(g, "layer_names"):
            lg = g[layer]
            for w in names(lg, "weight_names"):
                out[f"{layer}/{w}"] = lg[w][()]
        if "optimizer_weights" in f:
            og = f["optimizer_weights"]
            for w in names(og, "weight_names"):
                out["optimizer/" + w] = og[w][()]
    return out


if __name__ == "__main__":
    path, reps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
    read_all(path)  # warm-up (page cache)
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); d = read_all(path); ts.append(time.perf_counter() - t)
    total = sum(a.nbytes for a in d.values())
    print(json.dumps({"peer": f"h5py {h5py.__version__} + numpy {np.__version__}", "tensors": len(d), "bytes": total,
                      "median_s": float(np.median(ts)), "best_s": min(ts)}))
