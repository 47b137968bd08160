"""Interoperability check (not in CI; needs the peers: ../shared/peers/setup.sh).

Writes a seeded tiny Genesis network with `genesis` in every format it writes, then loads each
file in the real libraries and compares: tf_keras (load_weights and load_model), Keras 3
(legacy h5 loader), PyTorch (torch.load(weights_only=True), official UNet3D, strict=True) and
Python safetensors. Forward outputs are compared with `genesis run` on the same cube.

usage: /opt/peers/bin/python scripts/interop.py [path/to/genesis]
"""
import json, os, subprocess, sys, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "..", "shared", "peers")
sys.path.insert(0, PEERS)
FIXTURES = os.path.join(HERE, "..", "..", "shared", "fixtures")
GENESIS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".build", "release", "genesis")
B, SHAPE = 4, (1, 16, 16, 8)
results = []


def g(*args):
    r = subprocess.run([GENESIS, *args, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"genesis {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def report(what, ok, detail=""):
    results.append({"check": what, "ok": bool(ok), "detail": detail})
    print(("PASS " if ok else "FAIL ") + what + (f": {detail}" if detail else ""), flush=True)


def genesis_forward(model, x, bn, d):
    xin, yout = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    np.save(xin, x)
    g("run", model, "--input", xin, "--output", yout, "--bn", bn)
    return np.load(yout)


def main():
    d = tempfile.mkdtemp(prefix="genesis-interop-")
    rng = np.random.default_rng(0)
    x = rng.random((2,) + SHAPE, dtype=np.float32)
    h5w, h5m = os.path.join(d, "w.h5"), os.path.join(d, "m.h5")
    g("init", "--base-filters", str(B), "--seed", "11", "--weights-only", "--out", h5w)
    g("init", "--base-filters", str(B), "--seed", "11", "--input-shape", ",".join(map(str, SHAPE)), "--out", h5m)
    pt, st, nat = os.path.join(d, "m.pt"), os.path.join(d, "m.safetensors"), os.path.join(d, "m.genesis")
    g("convert", h5w, pt, "--module-prefix")
    g("convert", h5w, st, "--naming", "torch")
    g("convert", h5w, nat)
    ours_inf = genesis_forward(h5w, x, "inference", d)
    ours_batch = genesis_forward(h5w, x, "batch", d)

    # tf_keras: load_weights into the official builder, and load_model of the full save.
    import tf_keras as K
    from keras_genesis import unet_model_3d
    km = unet_model_3d(SHAPE, n_base_filters=B)
    km.load_weights(h5w)
    ref = km.predict(x, verbose=0)
    report("tf_keras load_weights(.h5) + predict vs genesis run --bn inference", np.abs(ref - ours_inf).max() <= 1e-4,
           f"max |diff| {np.abs(ref - ours_inf).max():.2e}")
    ref_b = km(x, training=True).numpy()
    report("tf_keras training=True vs genesis run --bn batch", np.abs(ref_b - ours_batch).max() <= 1e-4,
           f"max |diff| {np.abs(ref_b - ours_batch).max():.2e}")
    km2 = K.models.load_model(h5m)
    report("tf_keras load_model(.h5 full save)", km2.count_params() == km.count_params(), f"{km2.count_params()} parameters")

    # The default conversion of a full save with optimizer state (fixtures/README: SGD after two
    # steps) is a full save again: load_model restores the network and every optimizer entry.
    import h5py
    src = os.path.join(FIXTURES, "keras", "genesis_tiny.h5")
    conv = os.path.join(d, "converted.h5")
    g("convert", src, conv)
    with h5py.File(src, "r") as f:
        ow = f["optimizer_weights"]
        want = [np.array(ow[n.decode() if isinstance(n, bytes) else n]) for n in ow.attrs["weight_names"]]
    with h5py.File(conv, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items() if k in ("keras_version", "genesis_writer")}
    kc = K.models.load_model(conv)
    got = [np.array(v) for v in kc.optimizer.variables()]
    same = len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
    report("tf_keras load_model(genesis convert genesis_tiny.h5 out.h5): optimizer state restored", same,
           f"{type(kc.optimizer).__name__}, {len(got)} optimizer variables (source {len(want)}), iteration {int(got[0]) if got else None}, "
           f"all equal to the source's: {same}; file says {attrs}")
    ref_c = K.models.load_model(src).predict(x, verbose=0)
    diff = np.abs(kc.predict(x, verbose=0) - ref_c).max()
    report("  its predict equals load_model(source).predict", diff == 0, f"max |diff| {diff:.2e}")
    # A PyTorch checkpoint converted to Keras (lossy: its up-convolutions are not the identity)
    # brings its SGD state over as Keras momentum (m = -lr * buf).
    tconv = os.path.join(d, "from_torch.h5")
    g("convert", os.path.join(FIXTURES, "torch", "genesis_tiny.pt"), tconv, "--allow-lossy")
    kt = K.models.load_model(tconv)
    import torch
    from torch_genesis import UNet3D
    tsrc = torch.load(os.path.join(FIXTURES, "torch", "genesis_tiny.pt"), weights_only=True)
    lr = tsrc["optimizer_state_dict"]["param_groups"][0]["lr"]
    names = [n for n, _ in UNet3D(base=B).named_parameters()]
    expect = []
    for i, n in enumerate(names):
        if ".up_conv." in n:
            continue  # the keras variant has no up-convolutions
        buf = tsrc["optimizer_state_dict"]["state"][i]["momentum_buffer"].numpy()
        m = (-np.float32(lr) * buf).astype(np.float32)
        expect.append(m.transpose(2, 3, 4, 1, 0) if m.ndim == 5 else m)
    got_t = [np.array(v) for v in kt.optimizer.variables()[1:]]
    worst = max(float(np.abs(a - b).max()) for a, b in zip(got_t, expect)) if len(got_t) == len(expect) else float("inf")
    report("tf_keras load_model(.pt converted to .h5): momentum = -lr * torch buffer", worst <= 1e-7,
           f"{len(got_t)} slots (expected {len(expect)}), max |diff| {worst:.2e}")

    # Keras 3: the legacy h5 loader.
    import keras
    k3 = keras.models.load_model(h5m, compile=False)
    k3w = unet_model_3d(SHAPE, n_base_filters=B)
    k3w.load_weights(h5m)
    diff = np.abs(k3.predict(x, verbose=0) - k3w.predict(x, verbose=0)).max()
    report("Keras 3 load_model(.h5 full save, compile=False)", diff <= 1e-5, f"max |diff| vs tf_keras {diff:.2e}")

    # PyTorch: weights_only load, official UNet3D, strict=True; outputs with eps 1e-3 (Keras's).
    ck = torch.load(pt, weights_only=True)
    report("torch.load(weights_only=True) of our .pt: no invented epoch, writer named",
           "epoch" not in ck and ck.get("genesis_writer", "").startswith("genesis "), f"top-level keys {sorted(ck)}")
    sd = ck["state_dict"] if "state_dict" in ck else ck
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    tm = UNet3D(base=B)
    tm.load_state_dict(sd, strict=True)
    for m in tm.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eps = 1e-3
    with torch.no_grad():
        out = tm(torch.from_numpy(x)).numpy()
    report("torch.load(weights_only=True) + UNet3D strict load + forward vs genesis --bn batch", np.abs(out - ours_batch).max() <= 1e-4,
           f"max |diff| {np.abs(out - ours_batch).max():.2e}")

    # safetensors: the plain file and the .genesis container.
    from safetensors.numpy import load_file
    from safetensors import safe_open
    sn = load_file(st)
    same = all(np.array_equal(sn[k], v.numpy()) for k, v in sd.items() if k in sn)
    report("safetensors.numpy.load_file(.safetensors) equals the .pt state dict", same and len(sn) > 0, f"{len(sn)} tensors")
    with safe_open(nat, "numpy") as f:
        meta = f.metadata()
        keys = list(f.keys())
    report("safetensors.safe_open(.genesis)", meta.get("format") == "genesis", f"{len(keys)} tensors, format {meta.get('format')} {meta.get('format_version')}")

    classifier_checks(d, K, torch, h5py)

    print(json.dumps({"passed": sum(r["ok"] for r in results), "failed": sum(not r["ok"] for r in results)}))
    return 0 if all(r["ok"] for r in results) else 1


def classifier_checks(d, K, torch, h5py):
    """Fine-tuned classifiers: the Keras full save loads with tf_keras load_model as the classifier
    (encoder -> GAP -> Dense(1024, relu) -> Dense(K)) and predicts what `genesis run --classifier`
    does, with its optimizer state restored; the .pt carries the head and its optimizer state."""
    rng = np.random.default_rng(5)
    cubes = rng.random((8, 16, 16, 8), dtype=np.float32)
    xi, yi, ci = os.path.join(d, "cx.npy"), os.path.join(d, "cy.npy"), os.path.join(d, "cc.npy")
    np.save(xi, cubes)
    np.save(yi, (np.arange(8) % 2).astype(np.float32))
    np.save(ci, (np.arange(8) % 3).astype(np.float32))
    x = rng.random((3, 1, 16, 16, 8), dtype=np.float32)
    for labels, k in ((yi, 1), (ci, 3)):
        out = os.path.join(d, f"cls{k}.h5")
        g("finetune", "--init", os.path.join(FIXTURES, "keras", "genesis_tiny.h5"), "--task", "classification", "--images", xi,
          "--labels", labels, "--classes", str(k), "--batch", "4", "--steps", "2", "--out", out)
        km = K.models.load_model(out)
        names = [l.name for l in km.layers]
        report(f"tf_keras load_model(finetune classifier .h5, K={k})", km.output_shape == (None, k) and names[-3:] == ["global_average_pooling3d_1", "dense_1", "dense_2"],
               f"output {km.output_shape}, last layers {names[-3:]}, {len(names)} layers, activation {km.layers[-1].get_config()['activation']}")
        ref = km.predict(x, verbose=0)
        yo = os.path.join(d, f"p{k}.npy")
        np.save(os.path.join(d, "xc.npy"), x)
        g("run", out, "--classifier", "--input", os.path.join(d, "xc.npy"), "--output", yo, "--bn", "inference")
        ours = np.load(yo)
        diff = np.abs(ref - ours).max()
        report(f"  tf_keras predict vs genesis run --classifier --bn inference (K={k})", diff <= 1e-4, f"max |diff| {diff:.2e}, e.g. {ours[0].round(4).tolist()}")
        with h5py.File(out, "r") as f:
            ow = f["optimizer_weights"]
            want = [np.array(ow[n.decode() if isinstance(n, bytes) else n]) for n in ow.attrs["weight_names"]]
        got = [np.array(v) for v in km.optimizer.variables()]
        same = len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
        report(f"  optimizer state restored by load_model (K={k})", same and int(got[0]) == 2,
               f"{type(km.optimizer).__name__}, {len(got)} variables (file {len(want)}), iteration {int(got[0])}")
    pt = os.path.join(d, "cls.pt")
    g("finetune", "--init", os.path.join(FIXTURES, "torch", "genesis_tiny.pt"), "--task", "classification", "--images", xi,
      "--labels", yi, "--batch", "4", "--steps", "2", "--out", pt)
    ck = torch.load(pt, weights_only=True)
    sd, osd = ck["state_dict"], ck["optimizer_state_dict"]
    params = osd["param_groups"][0]["params"]
    head = [k for k in sd if ".head." in "." + k]
    shapes_ok = all(tuple(osd["state"][64 + i]["momentum_buffer"].shape) == tuple(sd[n].shape) for i, n in enumerate(head))
    report("torch.load(weights_only=True) of a finetune classifier .pt: head in state_dict, its momentum at params 64..67",
           len(params) == 68 and len(head) == 4 and shapes_ok, f"{len(params)} params, head keys {head}, momentum shapes match: {shapes_ok}")


if __name__ == "__main__":
    sys.exit(main())
