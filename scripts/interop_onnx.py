"""ONNX interoperability of `genesis convert MODEL OUT.onnx` (not in CI; needs the peers plus
`/opt/peers/bin/pip install onnx onnxruntime`).

Exports every fixture network with genesis (both Genesis variants, the encoder classifier,
nnU-Net Genesis), checks each file with `onnx.checker.check_model(full_check=True)`, runs it in
onnxruntime and compares with the real framework on the fixture input: TensorFlow (tf_keras,
the official builder with the file's weights) for Keras files in inference mode, PyTorch (the
official UNet3D with its always-batch-statistics ContBatchNorm3d) for `.pt` files with batch
statistics, nnunet 1.7.1's Generic_UNet for the nnU-Net file (for the 65 MB official-width Keras
file, the TensorFlow output stored in its reference file). Then the dynamic axes: onnxruntime at
another batch size and another valid spatial size against `genesis run` of the source file.
Last, at the official width (base 32), genesis's export beside PyTorch's `torch.onnx.export` of
the official network in the same run: wall time, file size, and each graph's onnxruntime output
against PyTorch's forward.

usage: /opt/peers/bin/python scripts/interop_onnx.py [path/to/genesis] [--json OUT.json]
Exit 1 when a check fails.
"""
import json, os, subprocess, sys, tempfile, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "..", "shared", "peers")
sys.path.insert(0, PEERS)
FIXTURES = os.path.join(HERE, "..", "..", "shared", "fixtures")
REFS = os.path.join(HERE, "..", "Tests", "References")
args = [a for a in sys.argv[1:]]
JSON_OUT = None
if "--json" in args:
    i = args.index("--json")
    JSON_OUT = args[i + 1]
    del args[i:i + 2]
GENESIS = args[0] if args else os.path.join(HERE, "..", ".build", "release", "genesis")
TOL = 2e-5
results = []
torch.set_num_threads(2)


def g(*a):
    r = subprocess.run([GENESIS, *a, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"genesis {' '.join(a)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def report(what, ok, detail="", **figures):
    results.append({"check": what, "ok": bool(ok), "detail": detail, **figures})
    print(("PASS " if ok else "FAIL ") + what + (f": {detail}" if detail else ""), flush=True)


def session(path):
    o = ort.SessionOptions()
    o.log_severity_level = 3  # the unused-initializer notes (running statistics under --bn batch)
    o.intra_op_num_threads = 2
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def ort_run(path, x):
    return session(path).run(None, {"input": x.astype(np.float32)})[0]


def checker(path):
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        return True, "ok"
    except Exception as e:  # noqa: BLE001 - the checker's message is the detail
        return False, str(e).splitlines()[0]


def metadata(path):
    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def genesis_run(model, x, bn, d):
    xin, yout = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    np.save(xin, x.astype(np.float32))
    a = ["run", model, "--input", xin, "--output", yout, "--force"]
    if bn:
        a += ["--bn", bn]
    g(*a)
    return np.load(yout)


def torch_unet(sd_source, base):
    from torch_genesis import UNet3D
    ck = torch.load(sd_source, weights_only=True, map_location="cpu") if isinstance(sd_source, str) else sd_source
    sd = ck.get("state_dict", ck)
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    m = UNet3D(base=base)
    m.load_state_dict({k: v for k, v in sd.items() if not k.startswith("head.")}, strict=True)
    return m.eval()


def keras_unet(path, shape, base):
    import tf_keras  # noqa: F401
    from keras_genesis import unet_model_3d
    m = unet_model_3d(shape, n_base_filters=base)
    m.load_weights(path)
    return m


def generic_unet():
    from nnunet.network_architecture.generic_UNet import Generic_UNet
    from nnunet.network_architecture.initialization import InitWeights_He
    pools = [[2, 2, 2]] * 4 + [[1, 2, 2]]
    return Generic_UNet(1, 4, 2, len(pools), 2, 2, nn.Conv3d, nn.InstanceNorm3d, {'eps': 1e-5, 'affine': True},
                        nn.Dropout3d, {'p': 0, 'inplace': True}, nn.LeakyReLU, {'negative_slope': 1e-2, 'inplace': True},
                        False, False, lambda x: x, InitWeights_He(1e-2), pools, [[3, 3, 3]] * 6, False, True, True,
                        max_num_features=8)


def export_case(name, src, out, framework_out, x, bn, alt_x, d, extra=()):
    """Export, check, run in onnxruntime against the framework and, at alt_x, against genesis run."""
    r = g("convert", src, out, *extra)
    o = r["onnx"]
    ok, why = checker(out)
    report(f"{name}: onnx.checker.check_model(full_check=True)", ok, why)
    meta = metadata(out)
    report(f"{name}: metadata", all(k in meta for k in ("genesis_source_sha256", "genesis_variant", "genesis_base_filters", "genesis_labels",
                                                      "genesis_bn_mode", "genesis_input_convention", "genesis_spatial_multiples")),
           f"bn {meta.get('genesis_bn_mode')}, variant {meta.get('genesis_variant')}, multiples {meta.get('genesis_spatial_multiples')}")
    y = ort_run(out, x)
    diff = float(np.abs(y - framework_out).max())
    report(f"{name}: onnxruntime vs framework, input {tuple(x.shape)}, BN {o['bn']}", diff <= TOL, f"max |diff| {diff:.2e} (tolerance {TOL:g})",
           ort_vs_framework=diff, interpreter_vs_source=o["interpreter_max_abs_diff"], file_bytes=o["file_bytes"])
    ya = ort_run(out, alt_x)
    yg = genesis_run(src, alt_x, o["bn"] if "nnunet" not in name else None, d)
    diff2 = float(np.abs(ya - yg).max())
    report(f"{name}: onnxruntime vs genesis run at {tuple(alt_x.shape)} (other batch and spatial size)", diff2 <= TOL,
           f"max |diff| {diff2:.2e}", ort_vs_genesis_run=diff2)
    # Import back: genesis reads the .onnx (weights and metadata) and runs it as the source.
    yb = genesis_run(out, alt_x, o["bn"] if "nnunet" not in name else None, d)
    report(f"{name}: genesis run of the .onnx read back equals genesis run of the source", float(np.abs(yb - yg).max()) <= 1e-6,
           f"max |diff| {float(np.abs(yb - yg).max()):.2e}")
    return r


def main():
    d = tempfile.mkdtemp(prefix="genesis-onnx-interop-")
    rng = np.random.default_rng(7)

    # Keras files, TensorFlow in inference mode (predict).
    for fname, ref in (("genesis_tiny.h5", "genesis_tiny.reference.h5"), ("genesis_tiny_weights.h5", "genesis_tiny_weights.reference.h5")):
        src = os.path.join(FIXTURES, "keras", fname)
        with h5py.File(os.path.join(FIXTURES, "keras", ref), "r") as f:
            x = f["input"][()]
        tf_out = keras_unet(src, (1, 16, 16, 8), 4).predict(x, verbose=0)
        alt = rng.random((3, 1, 24, 16, 32), dtype=np.float32)
        export_case(f"keras/{fname} (TensorFlow predict)", src, os.path.join(d, fname + ".onnx"), tf_out, x, "inference", alt, d)

    # PyTorch files, the official UNet3D (batch statistics in every mode).
    for fname in ("genesis_tiny.pt", "genesis_tiny_legacy.pt"):
        src = os.path.join(FIXTURES, "torch", fname)
        with h5py.File(os.path.join(FIXTURES, "torch", fname.replace(".pt", ".reference.h5")), "r") as f:
            x = f["input"][()]
        legacy = torch.load(src, weights_only=False, map_location="cpu") if "legacy" in fname else src
        with torch.no_grad():
            pt_out = torch_unet(legacy, 4)(torch.from_numpy(x)).numpy()
        alt = rng.random((3, 1, 24, 16, 32), dtype=np.float32)
        export_case(f"torch/{fname} (PyTorch UNet3D)", src, os.path.join(d, fname + ".onnx"), pt_out, x, "batch", alt, d)

    # The encoder classifier: genesis_tiny.pt's encoder with a seeded 3-class head, as
    # `finetune --task classification` saves it; PyTorch: the official encoder, mean, fc1, ReLU, fc2, softmax.
    ck = torch.load(os.path.join(FIXTURES, "torch", "genesis_tiny.pt"), weights_only=True, map_location="cpu")
    sd = {k[len("module."):]: v for k, v in ck["state_dict"].items()}
    gen = torch.Generator().manual_seed(3)
    head = {"head.fc1.weight": torch.randn(1024, 64, generator=gen) * 0.1, "head.fc1.bias": torch.randn(1024, generator=gen) * 0.1,
            "head.fc2.weight": torch.randn(3, 1024, generator=gen) * 0.05, "head.fc2.bias": torch.randn(3, generator=gen) * 0.1}
    cls_src = os.path.join(d, "classifier.pt")
    torch.save({"state_dict": {**sd, **head}}, cls_src)
    net = torch_unet({"state_dict": sd}, 4)
    with h5py.File(os.path.join(FIXTURES, "torch", "genesis_tiny.reference.h5"), "r") as f:
        x = f["input"][()]
    with torch.no_grad():
        o64, _ = net.down_tr64(torch.from_numpy(x))
        o128, _ = net.down_tr128(o64)
        o256, _ = net.down_tr256(o128)
        o512, _ = net.down_tr512(o256)
        h = torch.relu(o512.mean(dim=(2, 3, 4)) @ head["head.fc1.weight"].T + head["head.fc1.bias"])
        cls_out = torch.softmax(h @ head["head.fc2.weight"].T + head["head.fc2.bias"], dim=1).numpy()[:, :, None, None, None]
    r = g("convert", cls_src, os.path.join(d, "classifier.onnx"))
    out = os.path.join(d, "classifier.onnx")
    ok, why = checker(out)
    report("classifier (torch variant, 3 classes): onnx.checker.check_model(full_check=True)", ok, why)
    diff = float(np.abs(ort_run(out, x) - cls_out).max())
    report(f"classifier: onnxruntime vs PyTorch encoder + head, input {tuple(x.shape)}, BN {r['onnx']['bn']}", diff <= TOL,
           f"max |diff| {diff:.2e}", ort_vs_framework=diff, interpreter_vs_source=r["onnx"]["interpreter_max_abs_diff"])
    alt = rng.random((3, 1, 24, 16, 32), dtype=np.float32)
    ya = ort_run(out, alt)
    report("classifier: output (batch, K, 1, 1, 1) at another batch and spatial size", ya.shape == (3, 3, 1, 1, 1), f"shape {ya.shape}")

    # nnU-Net Genesis: nnunet 1.7.1's Generic_UNet (InstanceNorm, LeakyReLU, strided convs).
    src = os.path.join(REFS, "nnunet", "nnunet_tiny.model")
    with h5py.File(os.path.join(REFS, "nnunet", "nnunet_tiny.reference.h5"), "r") as f:
        x = f["input"][()].astype(np.float32)
    v1 = generic_unet()
    v1.load_state_dict(torch.load(src, weights_only=False, map_location="cpu")["state_dict"], strict=True)
    v1.eval()
    with torch.no_grad():
        nn_out = v1(torch.from_numpy(x)).numpy()
    alt = rng.standard_normal((3, 1, 16, 64, 32), dtype=np.float32)
    export_case("nnunet/nnunet_tiny.model (nnunet Generic_UNet)", src, os.path.join(d, "nnunet.onnx"), nn_out, x, None, alt, d)

    # The official width: genesis_chest_ct_shape.h5 (keras variant, TensorFlow's stored output),
    # then the same weights as the official PyTorch network beside torch.onnx.export.
    src = os.path.join(FIXTURES, "keras", "genesis_chest_ct_shape.h5")
    with h5py.File(os.path.join(FIXTURES, "keras", "genesis_chest_ct_shape.reference.h5"), "r") as f:
        x, tf_out = f["input"][()], f["output_inference"][()]
    out = os.path.join(d, "chest_ct_keras.onnx")
    t0 = time.perf_counter()
    r = g("convert", src, out)
    k_wall = time.perf_counter() - t0
    ok, why = checker(out)
    report("official width keras: onnx.checker.check_model(full_check=True)", ok, why)
    diff = float(np.abs(ort_run(out, x) - tf_out).max())
    report(f"official width keras: onnxruntime vs TensorFlow (stored reference output), input {tuple(x.shape)}, BN inference", diff <= TOL,
           f"max |diff| {diff:.2e}", ort_vs_framework=diff)
    bench = {"keras_genesis": {"wall_seconds": k_wall, "write_and_reread_seconds": r["onnx"]["export_seconds"], "bytes": os.path.getsize(out),
                               "ort_vs_framework": diff}}

    pt = os.path.join(d, "chest_ct.pt")
    g("convert", src, pt, "--module-prefix")  # exact: identity up-convolutions
    out = os.path.join(d, "chest_ct_torch.onnx")
    t0 = time.perf_counter()
    r = g("convert", pt, out)
    t_wall = time.perf_counter() - t0
    tm = torch_unet(pt, 32)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        pt_out = tm(xt).numpy()
    ok, why = checker(out)
    report("official width torch: onnx.checker.check_model(full_check=True)", ok, why)
    diff_g = float(np.abs(ort_run(out, x) - pt_out).max())
    report(f"official width torch: genesis's graph in onnxruntime vs PyTorch UNet3D, input {tuple(x.shape)}, BN batch", diff_g <= TOL,
           f"max |diff| {diff_g:.2e}", ort_vs_framework=diff_g)
    bench["torch_genesis"] = {"wall_seconds": t_wall, "write_and_reread_seconds": r["onnx"]["export_seconds"], "bytes": os.path.getsize(out),
                              "ort_vs_framework": diff_g, "nodes": r["onnx"]["nodes"]}
    tout = os.path.join(d, "chest_ct_torch_export.onnx")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        # The TorchScript exporter: the default (dynamo) one needs onnxscript, which the peers lack.
        torch.onnx.export(tm, (xt,), tout, dynamo=False, opset_version=17, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch", 2: "depth", 3: "height", 4: "width"},
                                        "output": {0: "batch", 2: "depth", 3: "height", 4: "width"}})
        te = time.perf_counter() - t0
    ok, why = checker(tout)
    diff_t = float(np.abs(ort_run(tout, x) - pt_out).max())
    report("official width torch: torch.onnx.export's graph in onnxruntime vs PyTorch UNet3D (for comparison, not a genesis check)", True,
           f"max |diff| {diff_t:.2e}; checker: {why}")
    bench["torch_onnx_export"] = {"seconds": te, "bytes": os.path.getsize(tout), "ort_vs_framework": diff_t,
                                  "nodes": len(onnx.load(tout).graph.node), "checker": why}
    print(json.dumps(bench, indent=1))

    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed")
    if JSON_OUT:
        json.dump({"results": results, "benchmark": bench, "genesis": GENESIS, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                   "torch": torch.__version__}, open(JSON_OUT, "w"), indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
