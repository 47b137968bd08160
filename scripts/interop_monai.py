"""MONAI interoperability of `genesis convert MODEL DIR --format monai-bundle` (issue 22).

Usage: /opt/peers/bin/python scripts/interop_monai.py [path/to/genesis] [path/to/shared]
(needs `pip install --no-deps monai fire pytorch-ignite` and `nibabel` in the peers' environment; not run in CI).

For the PyTorch fixture (batch statistics, as the official ContBatchNorm3d) and the Keras fixture
(running statistics, Keras epsilon 1e-3), each exported as a bundle with genesis:
1. MONAI's ConfigParser reads configs/inference.json, instantiates `network_def` (the bundle's
   scripts/genesis_unet.py), loads models/model.pt with strict=True and runs the fixture input;
   compared with the real framework's output in the fixture's reference file (PyTorch's
   output_batchstats; TensorFlow's output_inference): max |diff| <= 2e-5.
2. `python -m monai.bundle verify_net_in_out network_def` succeeds.
3. `python -m monai.bundle ckpt_export network_def` writes models/model.ts; torch.jit.load of it
   gives the same output.
4. `python -m monai.bundle run` runs the inference pipeline on a NIfTI volume (a seeded CT-like
   volume of 48 x 40 x 24 voxels, padded to multiples of 8) and writes the prediction; its
   values lie in [0, 1] and its shape is the padded volume's.
5. genesis reads the bundle back: `genesis verify DIR --json` is valid with the same SHA-256 as
   models/model.pt.
Prints one line per check and a JSON summary; exits 1 when any check fails.
"""
import glob, hashlib, json, os, subprocess, sys, tempfile, time

import h5py, nibabel as nib, numpy as np, torch

HERE = os.path.dirname(os.path.abspath(__file__))
GENESIS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".build", "release", "genesis")
SHARED = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "shared")
FIX = os.path.join(SHARED, "fixtures")
torch.set_num_threads(1)
results = {"passed": 0, "failed": 0}


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    results["passed" if ok else "failed"] += 1
    return ok


def run(args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd)


def bundle(model, reference, key, work, label):
    out = os.path.join(work, label)
    lic = os.path.join(work, "LICENSE.txt")
    with open(lic, "w") as f:
        f.write("Test fixture weights (seeded), no licence restrictions: made by the fixture scripts of this repository.\n")
    t0 = time.time()
    r = run([GENESIS, "convert", model, out, "--format", "monai-bundle", "--license", lic, "--json"])
    if not check(r.returncode == 0, f"{label}: genesis convert --format monai-bundle ({time.time() - t0:.2f} s)" + ("" if r.returncode == 0 else ": " + r.stderr.strip())):
        return
    proof = json.loads(r.stdout)
    check(proof["reproduces_source"], f"{label}: genesis's own proof, source vs written bundle: max |diff| {proof['max_abs_diff']:.3g}")

    # 1. MONAI instantiates the network from the config and loads the weights strictly.
    sys.path.insert(0, out)
    from monai.bundle import ConfigParser
    parser = ConfigParser()
    parser.read_config(os.path.join(out, "configs", "inference.json"))
    parser.read_meta(os.path.join(out, "configs", "metadata.json"))
    parser["bundle_root"] = out
    net = parser.get_parsed_content("network_def")
    state = torch.load(os.path.join(out, "models", "model.pt"), map_location="cpu", weights_only=True)
    missing = net.load_state_dict(state, strict=True)
    check(not missing.missing_keys and not missing.unexpected_keys, f"{label}: ConfigParser network_def {type(net).__name__}, load_state_dict(strict=True): {len(state)} tensors")
    with h5py.File(reference) as f:
        x = torch.tensor(f["input"][()])
        want = f[key][()]
    net.eval()
    with torch.no_grad():
        got = net(x).numpy()
    d = float(np.abs(got - want).max())
    check(d <= 2e-5, f"{label}: MONAI-instantiated network vs the framework's {key} on input {tuple(x.shape)}: max |diff| {d:.3g}")
    sys.path.remove(out)
    for m in [k for k in sys.modules if k == "scripts" or k.startswith("scripts.")]:
        del sys.modules[m]

    # 2. verify_net_in_out; 3. ckpt_export and the TorchScript output.
    meta, cfg = "configs/metadata.json", "configs/inference.json"
    v = run([sys.executable, "-m", "monai.bundle", "verify_net_in_out", "network_def", "--meta_file", meta, "--config_file", cfg], cwd=out)
    check(v.returncode == 0, f"{label}: python -m monai.bundle verify_net_in_out network_def" + ("" if v.returncode == 0 else ": " + (v.stderr.strip().splitlines() or [""])[-1]))
    e = run([sys.executable, "-m", "monai.bundle", "ckpt_export", "network_def", "--filepath", "models/model.ts", "--ckpt_file", "models/model.pt",
             "--meta_file", meta, "--config_file", cfg], cwd=out)
    if check(e.returncode == 0 and os.path.exists(os.path.join(out, "models", "model.ts")), f"{label}: python -m monai.bundle ckpt_export network_def -> models/model.ts"
             + ("" if e.returncode == 0 else ": " + (e.stderr.strip().splitlines() or [""])[-1])):
        ts = torch.jit.load(os.path.join(out, "models", "model.ts"))
        with torch.no_grad():
            t = ts(x).numpy()
        check(float(np.abs(t - want).max()) <= 2e-5, f"{label}: TorchScript model.ts vs the framework's {key}: max |diff| {float(np.abs(t - want).max()):.3g}")

    # 4. The whole inference pipeline on a NIfTI volume.
    data = os.path.join(work, label + "-data")
    os.makedirs(data, exist_ok=True)
    vol = np.random.default_rng(0).normal(-500, 400, (48, 40, 24)).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), os.path.join(data, "ct.nii.gz"))
    pred_dir = os.path.join(work, label + "-pred")
    p = run([sys.executable, "-m", "monai.bundle", "run", "--config_file", cfg, "--meta_file", meta, "--dataset_dir", data, "--output_dir", pred_dir], cwd=out)
    preds = sorted(glob.glob(os.path.join(pred_dir, "**", "*.nii*"), recursive=True))
    ok = p.returncode == 0 and len(preds) == 1
    if ok:
        pv = np.asarray(nib.load(preds[0]).dataobj)
        ok = pv.shape[:3] == (48, 40, 24) and float(pv.min()) >= 0 and float(pv.max()) <= 1
        what = f"shape {pv.shape}, values in [{float(pv.min()):.3f}, {float(pv.max()):.3f}]"
    else:
        what = (p.stderr.strip().splitlines() or ["no output"])[-1]
    check(ok, f"{label}: python -m monai.bundle run (LoadImaged ... SlidingWindowInferer ... SaveImaged) on a 48x40x24 NIfTI: {what}")

    # 5. genesis reads the bundle back.
    g = run([GENESIS, "verify", out, "--json"])
    sha = hashlib.sha256(open(os.path.join(out, "models", "model.pt"), "rb").read()).hexdigest()
    ok = g.returncode == 0 and json.loads(g.stdout).get("sha256") == sha and json.loads(g.stdout).get("format") == "monai-bundle"
    check(ok, f"{label}: genesis verify DIR: valid, format monai-bundle, sha256 of models/model.pt")


def main():
    work = tempfile.mkdtemp(prefix="genesis-monai-")
    bundle(os.path.join(FIX, "torch", "genesis_tiny.pt"), os.path.join(FIX, "torch", "genesis_tiny.reference.h5"), "output_batchstats", work, "torch")
    bundle(os.path.join(FIX, "keras", "genesis_tiny.h5"), os.path.join(FIX, "keras", "genesis_tiny.reference.h5"), "output_inference", work, "keras")
    import monai
    print(json.dumps({**results, "monai": monai.__version__, "torch": torch.__version__}))
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
