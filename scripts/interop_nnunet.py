"""nnU-Net v2 interoperability of `genesis convert IN.model OUT.pth --naming nnunetv2`.

Usage: /opt/peers/bin/python scripts/interop_nnunet.py OUT.pth [PLANS.json [CONFIGURATION]]
(defaults: Tests/References/nnunet/nnUNetPlans.json, 3d_fullres; the v1 source is
Tests/References/nnunet/nnunet_tiny.model).

Builds dynamic_network_architectures' PlainConvUNet from the plans file the way nnunetv2's
get_network_from_plans does, loads OUT's `network_weights` with load_state_dict(strict=True), and
compares its logits with nnunet 1.7.1's Generic_UNet (built as scripts/make_nnunet_fixtures.py
builds it) holding the v1 checkpoint, on the fixture input of nnunet_tiny.reference.h5. Also
checks the checkpoint's top-level keys against what nnUNetTrainer.load_checkpoint reads. Prints
the max abs difference; exits 1 when the load fails or the difference exceeds 1e-5.
"""
import json, os, pydoc, sys
import h5py, numpy as np, torch
from torch import nn
from nnunet.network_architecture.generic_UNet import Generic_UNet
from nnunet.network_architecture.initialization import InitWeights_He

torch.set_num_threads(1)
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "References", "nnunet")
out = sys.argv[1]
plans_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "nnUNetPlans.json")
configuration = sys.argv[3] if len(sys.argv) > 3 else "3d_fullres"

ckpt = torch.load(out, map_location="cpu", weights_only=True)  # as nnunetv2's load_pretrained_weights may
print("top-level keys:", sorted(ckpt))
for k in ("network_weights", "current_epoch", "_best_ema", "grad_scaler_state", "trainer_name", "inference_allowed_mirroring_axes"):
    assert k in ckpt, f"missing {k}"
print("not written (the v2 trainer's own state):", [k for k in ("optimizer_state", "logging", "init_args") if k not in ckpt])

plans = json.load(open(plans_path))
arch = plans["configurations"][configuration]["architecture"]
kw = dict(arch["arch_kwargs"])
for k in arch["_kw_requires_import"]:
    if kw[k] is not None:
        kw[k] = pydoc.locate(kw[k])
v1_ckpt = torch.load(os.path.join(HERE, "nnunet_tiny.model"), map_location="cpu", weights_only=False)
classes = v1_ckpt["state_dict"]["seg_outputs.0.weight"].shape[0]
v2 = pydoc.locate(arch["network_class_name"])(input_channels=1, num_classes=classes, deep_supervision=False, **kw)
expected = {k: tuple(v.shape) for k, v in v2.state_dict().items()}
found = {k: tuple(v.shape) for k, v in ckpt["network_weights"].items()}
assert list(expected) == list(found), "key order differs from PlainConvUNet.state_dict()"
assert expected == found, "keys or shapes differ"
v2.load_state_dict(ckpt["network_weights"], strict=True)
print(f"PlainConvUNet.load_state_dict(strict=True): ok, {len(found)} keys")

# The v1 network, as make_nnunet_fixtures.py builds it (widths and pools from the plans file).
feats = kw["features_per_stage"]
pools = [list(s) for s in kw["strides"][1:]]
v1 = Generic_UNet(1, feats[0], classes, len(pools), 2, 2, nn.Conv3d, nn.InstanceNorm3d, {'eps': 1e-5, 'affine': True},
                  nn.Dropout3d, {'p': 0, 'inplace': True}, nn.LeakyReLU, {'negative_slope': 1e-2, 'inplace': True},
                  False, False, lambda x: x, InitWeights_He(1e-2), pools, kw["kernel_sizes"], False, True, True,
                  max_num_features=max(feats))
v1.load_state_dict(v1_ckpt["state_dict"], strict=True)
with h5py.File(os.path.join(HERE, "nnunet_tiny.reference.h5"), "r") as f:
    x = torch.from_numpy(f["input"][()].astype(np.float32))
v1.eval(); v2.eval()
with torch.no_grad():
    a, b = v1(x), v2(x)
diff = float((a - b).abs().max())
print(f"max abs diff, PlainConvUNet (genesis's v2 checkpoint) vs Generic_UNet (v1 file), input {tuple(x.shape)}: {diff:.3g}")
sys.exit(0 if diff <= 1e-5 else 1)
