"""What genesis writes of the sibling fixtures (Tests/References/siblings), loaded by the official
code: `convert --trunk-only` output strictly into the official Genesis networks (PyTorch
`UNet3D`, Keras `unet_model_3d`, from /work/shared/peers, the official architecture with the
base width a parameter) and SuPreM's backbone `UNet3D` (no out_tr); `convert` output that keeps
the head strictly into the sibling's own network (PyTorch `YNet3D`, SuPreM's `Universal_model`
after SuPreM's own key mapping); the forward passes compared with the fixtures' references.

Run from the repository root after `swift build`:
    /opt/peers/bin/python scripts/interop_siblings.py [OUT_DIR]
Torch and TensorFlow run in separate processes (in one they abort on LLVM's options).
"""
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REF = os.path.join(ROOT, "Tests", "References", "siblings")
GENESIS = os.path.join(ROOT, ".build", "debug", "genesis")
OUT = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "/tmp/genesis-interop-siblings"
SHARED = "/work/shared/peers"
FAIL = []


def g(*args):
    r = subprocess.run([GENESIS, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"genesis {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def report(what, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + (f": {detail}" if detail else ""))
    if not ok:
        FAIL.append(what)


def torch_part():
    import h5py
    import torch
    sys.path.insert(0, SHARED)
    sys.path.insert(0, os.path.dirname(__file__))
    from torch_genesis import UNet3D
    from make_sibling_fixtures import YNet3D, SuPreMUNet3D, UniversalModel

    def sd(path):
        c = torch.load(path, map_location="cpu", weights_only=True)
        return c.get("state_dict", c.get("net", c))

    def strict(net, state, what):
        try:
            net.load_state_dict(state, strict=True)
            report(what, True, f"{len(state)} keys")
            return True
        except RuntimeError as e:
            report(what, False, str(e).splitlines()[0])
            return False

    # TransVW (PyTorch YNet3D): trunk-only -> Genesis UNet3D; head kept -> YNet3D (with module. too).
    src = os.path.join(REF, "TransVW_chest_ct.tiny.pt")
    ref = h5py.File(os.path.join(REF, "TransVW_chest_ct.tiny.reference.h5"), "r")
    x = torch.from_numpy(ref["input"][()])
    trunk = os.path.join(OUT, "transvw_trunk.pt")
    g("convert", src, trunk, "--trunk-only", "--force")
    net = UNet3D(base=2)
    if strict(net, sd(trunk), "TransVW --trunk-only .pt loads strictly into the official Genesis UNet3D"):
        with torch.no_grad():
            d = float((net(x) - torch.from_numpy(ref["seg_output"][()])).abs().max())
        report("  its forward equals YNet3D's seg_output", d <= 2e-5, f"max |diff| {d:.3g}")
    for prefix in ([], ["--module-prefix"]):
        kept = os.path.join(OUT, "transvw_kept%s.pt" % ("_module" if prefix else ""))
        g("convert", src, kept, "--force", *prefix)
        y = YNet3D(cls_classes=44, base=2, head_width=64)
        state = sd(kept)
        if prefix:
            y = torch.nn.DataParallel(y)
        if strict(y, state, "TransVW .pt with the head kept%s loads strictly into YNet3D" % (" (module.)" if prefix else "")):
            with torch.no_grad():
                seg, cls = y(x)
            d = max(float((seg - torch.from_numpy(ref["seg_output"][()])).abs().max()), float((cls - torch.from_numpy(ref["cls_output"][()])).abs().max()))
            report("  its seg and cls outputs equal the source's", d <= 2e-5, f"max |diff| {d:.3g}")

    # Semantic Genesis (Keras ynet_model_3d) -> .pt trunk-only: the Genesis UNet3D (identity up-convolutions).
    sg = os.path.join(REF, "semantic_genesis_chest_ct.tiny.h5")
    sgref = h5py.File(os.path.join(REF, "semantic_genesis_chest_ct.tiny.reference.h5"), "r")
    trunk = os.path.join(OUT, "sg_trunk.pt")
    g("convert", sg, trunk, "--trunk-only", "--force")
    net = UNet3D(base=2)
    if strict(net, sd(trunk), "Semantic Genesis (Keras) --trunk-only .pt loads strictly into the official Genesis UNet3D"):
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eps = 1e-3
        # Keras predict normalises with the moving statistics: run the torch net the same way.
        from torch.nn import functional as F
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.forward = (lambda mod: (lambda inp: F.batch_norm(inp, mod.running_mean, mod.running_var, mod.weight, mod.bias, False, 0.0, mod.eps)))(m)
        with torch.no_grad():
            d = float((net(torch.from_numpy(sgref["input"][()])) - torch.from_numpy(sgref["seg_output"][()])).abs().max())
        report("  its forward (moving statistics, eps 1e-3) equals Keras predict's reconst_output", d <= 2e-5, f"max |diff| {d:.3g}")

    # SuPreM: trunk-only -> SuPreM's backbone UNet3D (no out_tr); head kept -> Universal_model via SuPreM's mapping.
    sp = os.path.join(REF, "supervised_suprem_unet.tiny.pth")
    spref = h5py.File(os.path.join(REF, "supervised_suprem_unet.tiny.reference.h5"), "r")
    trunk = os.path.join(OUT, "suprem_trunk.pt")
    g("convert", sp, trunk, "--trunk-only", "--force")
    bb = SuPreMUNet3D(base=2)
    if strict(bb, sd(trunk), "SuPreM --trunk-only .pt loads strictly into SuPreM's backbone UNet3D"):
        with torch.no_grad():
            _, feats = bb(torch.from_numpy(spref["input"][()]))
        d = float((feats - torch.from_numpy(spref["decoder_features"][()])).abs().max())
        report("  its decoder features equal the source's", d <= 2e-5, f"max |diff| {d:.3g}")
    kept = os.path.join(OUT, "suprem_kept.pt")
    g("convert", sp, kept, "--force")
    um = UniversalModel(out_channels=25, encoding="word_embedding", base=2)
    state = {("backbone." + k if not any(k.startswith(h) for h in ("precls_conv", "GAP", "controller", "organ_embedding", "text_to_vision")) else k): v
             for k, v in sd(kept).items()}
    strict(um, state, "SuPreM .pt with the head kept loads strictly into Universal_model (trunk keys under backbone.)")
    original = sd(sp)
    same = all(torch.equal(original["module." + k], v) for k, v in state.items())
    report("  every tensor equals the source's", same)


def keras_part():
    import h5py
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, SHARED)
    from keras_genesis import unet_model_3d
    sg = os.path.join(REF, "semantic_genesis_chest_ct.tiny.h5")
    ref = h5py.File(os.path.join(REF, "semantic_genesis_chest_ct.tiny.reference.h5"), "r")
    for layout, extra in (("model.save", []), ("save_weights", ["--weights-only"])):
        trunk = os.path.join(OUT, f"sg_trunk_{layout}.h5")
        g("convert", sg, trunk, "--trunk-only", "--force", *extra)
        m = unet_model_3d((1, 16, 16, 8), n_base_filters=2, batch_normalization=True)
        try:
            m.load_weights(trunk)
            y = m.predict(ref["input"][()], verbose=0)
            d = float(np.abs(y - ref["seg_output"][()]).max())
            report(f"Semantic Genesis --trunk-only .h5 ({layout}) loads into the official unet_model_3d", True)
            report("  its predict equals ynet_model_3d's reconst_output", d <= 2e-5, f"max |diff| {d:.3g}")
        except Exception as e:  # noqa: BLE001
            report(f"Semantic Genesis --trunk-only .h5 ({layout}) loads into the official unet_model_3d", False, str(e).splitlines()[0])
    r = subprocess.run([GENESIS, "convert", sg, os.path.join(OUT, "sg_kept.h5"), "--force"], capture_output=True, text=True)
    report("a Keras output keeping the head is refused in one line, exit 2", r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr.strip())


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--torch" in sys.argv:
        torch_part()
    elif "--keras" in sys.argv:
        keras_part()
    else:
        for part in ("--torch", "--keras"):
            r = subprocess.run([sys.executable, __file__, OUT, part])
            if r.returncode != 0:
                FAIL.append(part)
        print("all ok" if not FAIL else f"{len(FAIL)} failed")
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
