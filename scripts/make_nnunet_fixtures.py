"""Makes Tests/References/nnunet/: small references for the nnU-Net Genesis model
(`genesis_nnunet_luna16_006.model`, issue 21), written by the real nnU-Net code.

Run with the peers' Python, after
    /opt/peers/bin/pip install --no-deps nnunet==1.7.1 dynamic-network-architectures batchgenerators
    /opt/peers/bin/pip install scipy scikit-image pandas tqdm
as
    /opt/peers/bin/python scripts/make_nnunet_fixtures.py

The network is nnU-Net v1's own `Generic_UNet`, built with the arguments of the official
`competition/Genesis_nnUNet.py` (1 input channel, 2 classes, 5 pools [[2,2,2]x4, [1,2,2]],
3x3x3 kernels, 2 convs per stage, x2 features per level, Conv3d, InstanceNorm3d {eps 1e-5,
affine}, Dropout3d p=0, LeakyReLU 0.01, no deep supervision, dropout_in_localization False,
identity final nonlinearity, InitWeights_He(1e-2), upscale_logits False, convolutional pooling
and upsampling) except for the widths: base 4 features, capped at 8 (the official: 32, capped
at 320). Input (N, 1, 32, 32, 32): the pools need D a multiple of 2^4 and H, W of 2^5, and
training needs more than one voxel per InstanceNorm plane at the bottleneck (16x32x32 leaves
1x1x1 there, which PyTorch refuses in train mode; 32x32x32 leaves 2x1x1, the official 64x64x32
4x2x1). Deterministic: torch.manual_seed(0) and numpy default_rng(0); single-threaded torch.

Outputs (Tests/References/nnunet/):

- `nnunet_tiny.model`: the checkpoint as the official script saves it,
  `torch.save({'epoch': 1, 'state_dict': model.state_dict(), 'optimizer_state_dict':
  optimizer.state_dict()})`, after 3 steps of the Genesis recipe (SGD lr 0.1, momentum 0.9,
  weight decay 0, no Nesterov; loss MSELoss(sigmoid(logits), cube repeated over the 2 classes);
  batch 2). seg_outputs.0-3 never get a gradient (only the last seg output is returned), so the
  optimizer state has no momentum buffer for their positions (14, 41-44 of 46 are listed below).
- `nnunet_tiny.step.model`: the same after one more step on `reference.h5`'s `input`/`target`.
- `nnunet_tiny.reference.h5`:
  `input` (2,1,32,32,32): the step's input (already HU-scaled and normalised as the official
  script does: (x * 2000 - 1000 - (-775.8457)) / 251.9326), stored as float16: the script
  rounds inputs and cubes to float16 values before using them, so widening gives exactly the
  float32 values the network saw;
  `target` (2,1,32,32,32), float16 likewise: the original cube; the MSE target is it repeated over the 2 classes
  (np.repeat(cube, 2, axis=1), as the official script does);
  `logits` (2,2,32,32,32): `model.eval()` output of nnunet_tiny.model's weights on `input`
  (attribute `train_mode_max_abs_difference`: train mode's output minus it, 0 here: Dropout
  p=0 makes no module, InstanceNorm3d keeps no running statistics);
  `step/loss` (1,): the MSE loss of that step (train mode); `step/gradients/<state_dict key>`:
  each parameter's .grad after loss.backward() (absent for seg_outputs.0-3: None);
  attributes `lr`, `momentum` of the step.
- `dc_and_ce.h5`: nnU-Net v1's `DC_and_CE_loss({'batch_dice': B, 'smooth': 1e-5, 'do_bg':
  False}, {})` (nnUNetTrainer's) on seeded logits and label maps, for C = 2 and 3 classes and
  B = True and False: `c<C>/logits` (2,C,4,6,8) float32, `c<C>/target` (2,1,4,6,8) float32
  label map, `c<C>/batch_dice_<true|false>/loss` (1,) and `/gradient` (dLoss/dlogits).
- `plainconvunet_keys.json`: nnU-Net v2's network (dynamic_network_architectures
  `PlainConvUNet`, built from `nnUNetPlans.json` the way nnunetv2's get_network_from_plans does)
  for the same configuration: `state_dict` (every key with its shape, in order, aliases
  included), `v1_to_v2` (each v1 key -> every v2 key that holds the same tensor) and
  `v2_zero` (v2 keys v1 has no tensor for: transposed-convolution and seg-layer biases),
  `max_abs_output_difference` of the v2 network loaded strictly with the v1 weights that way
  (zero biases) against the v1 logits.
- `sgd_nesterov.h5`: torch.optim.SGD as nnUNetTrainerV2 fine-tunes (lr 1e-2, momentum 0.99,
  Nesterov, weight decay 3e-5) on one seeded float32 parameter `w0` (3, 4, 5) over 4 seeded
  gradients `gradients` (4, 3, 4, 5): `weights` and `momentum_buffers` (4, 3, 4, 5) after each step;
  the learning rate of step k set by the poly rule lr 1e-2 (1 - k / 10)^0.9 (`lrs`, as the
  trainer's maybe_update_lr sets it at each epoch's start, max 10 epochs here).
- `nnUNetPlans.json`: a minimal nnU-Net v2 plans file with configuration `3d_fullres`
  describing that network (architecture.network_class_name / arch_kwargs /
  _kw_requires_import, as nnunetv2 >= 2.4 writes them).
- For `genesis verify --plans` (each builds a real PlainConvUNet): `nnUNetPlans_pool.json` (the
  last pool [2,2,2] instead of [1,2,2]), `nnUNetPlans_2ch.json` (2 input channels:
  CTNormalization, ZScoreNormalization), `nnUNetPlans_5stages.json` (one pool fewer).
  `--plans-only` writes the four plans files and nothing else (no training, no torch files).
"""
import json, os, pydoc, sys
import h5py, numpy as np, torch
from torch import nn
from nnunet.network_architecture.generic_UNet import Generic_UNet
from nnunet.network_architecture.initialization import InitWeights_He
from nnunet.training.loss_functions.dice_loss import DC_and_CE_loss

torch.manual_seed(0)
torch.set_num_threads(1)
rng = np.random.default_rng(0)
OUT = os.environ.get("NNUNET_FIXTURES_OUT",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "References", "nnunet"))
os.makedirs(OUT, exist_ok=True)

BASE, CAP, CLASSES = 4, 8, 2
POOLS = [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]
KERNELS = [[3, 3, 3]] * 6
SHAPE = (32, 32, 32)
MEAN, STD = -775.8457, 251.9326


def plans_for(pools, channels=1, stages=None):
    """A minimal nnU-Net v2 plans file for the fixture network with these pools (strides after
    the first stage), input channels (one normalisation scheme each: CTNormalization, then
    ZScoreNormalization) and stage count (default: len(pools) + 1)."""
    n = stages or len(pools) + 1
    pools = pools[:n - 1]
    widths = [min(BASE * 2 ** i, CAP) for i in range(n)]
    arch = {
        "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
        "arch_kwargs": {
            "n_stages": n, "features_per_stage": widths, "conv_op": "torch.nn.modules.conv.Conv3d",
            "kernel_sizes": KERNELS[:n], "strides": [[1, 1, 1]] + pools, "n_conv_per_stage": [2] * n,
            "n_conv_per_stage_decoder": [2] * (n - 1), "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True},
        },
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
    }
    props = {"0": {"mean": MEAN, "std": STD, "median": MEAN, "min": -1000.0, "max": 1000.0,
                   "percentile_00_5": -1000.0, "percentile_99_5": 1000.0}}
    if channels > 1:
        props["1"] = {"mean": 0.0, "std": 1.0, "median": 0.0, "min": -3.0, "max": 3.0, "percentile_00_5": -3.0, "percentile_99_5": 3.0}
    plans = {
        "dataset_name": "Dataset006_GenesisTiny", "plans_name": "nnUNetPlans",
        "original_median_spacing_after_transp": [1.0, 1.0, 1.0], "original_median_shape_after_transp": list(SHAPE),
        "image_reader_writer": "SimpleITKIO", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
        "configurations": {"3d_fullres": {
            "data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor", "batch_size": 2,
            "patch_size": list(SHAPE), "median_image_size_in_voxels": list(SHAPE), "spacing": [1.0, 1.0, 1.0],
            "normalization_schemes": ["CTNormalization", "ZScoreNormalization"][:channels], "use_mask_for_norm": [False] * channels,
            "resampling_fn_data": "resample_data_or_seg_to_shape", "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
            "architecture": arch, "batch_dice": True,
        }},
        "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": props,
    }
    return arch, plans


def write_plans():
    """nnUNetPlans.json (the fixture network) and the compatibility-report variants: the last
    pool [2,2,2] instead of [1,2,2]; 2 input channels; 5 stages (one pool fewer)."""
    for name, kwargs in [("nnUNetPlans.json", {}), ("nnUNetPlans_pool.json", {"pools": POOLS[:-1] + [[2, 2, 2]]}),
                         ("nnUNetPlans_2ch.json", {"channels": 2}), ("nnUNetPlans_5stages.json", {"stages": 5})]:
        _, p = plans_for(kwargs.pop("pools", POOLS), **kwargs)
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(p, f, indent=4)


write_plans()
if "--plans-only" in sys.argv:
    sys.exit(0)


def generic_unet():
    # Positional arguments exactly as competition/Genesis_nnUNet.py passes them.
    return Generic_UNet(1, BASE, CLASSES, len(POOLS), 2, 2, nn.Conv3d, nn.InstanceNorm3d, {'eps': 1e-5, 'affine': True},
                        nn.Dropout3d, {'p': 0, 'inplace': True}, nn.LeakyReLU, {'negative_slope': 1e-2, 'inplace': True},
                        False, False, lambda x: x, InitWeights_He(1e-2), POOLS, KERNELS, False, True, True,
                        max_num_features=CAP)


def smooth_cube(n):
    """Cubes in [0, 1]: a few seeded Gaussian blobs (something a network can fit)."""
    d, h, w = np.meshgrid(*[np.linspace(-1, 1, s) for s in SHAPE], indexing="ij")
    out = np.zeros((n, 1) + SHAPE, np.float32)
    for i in range(n):
        v = np.zeros(SHAPE)
        for _ in range(4):
            c = rng.uniform(-0.7, 0.7, 3)
            v += rng.uniform(0.3, 1) * np.exp(-((d - c[0]) ** 2 + (h - c[1]) ** 2 + (w - c[2]) ** 2) / rng.uniform(0.05, 0.3))
        out[i, 0] = v / v.max()
    return out


def genesis_batch(n):
    """(input, target) as the official loop makes them from a transformed/original cube pair:
    here the 'transform' is the cube plus seeded noise, clipped to [0, 1]."""
    gt = smooth_cube(n)
    x = np.clip(gt + rng.normal(0, 0.1, gt.shape).astype(np.float32), 0, 1)
    x = (x * 2000 - 1000 - MEAN) / STD
    # Rounded to float16 values (kept as float32) so that reference.h5 stores them exactly in half the bytes.
    x, gt = x.astype(np.float16).astype(np.float32), gt.astype(np.float16).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(np.repeat(gt, CLASSES, axis=1))


def check_facts(model):
    sd = model.state_dict()
    keys = list(sd)
    assert keys[0].startswith("conv_blocks_localization."), "state_dict order: localization registered first"
    assert "conv_blocks_context.0.blocks.0.conv.bias" in sd, "block convolutions have a bias"
    assert not any(k.startswith("tu.") and k.endswith(".bias") for k in keys), "transposed convolutions: no bias"
    assert not any(k.startswith("seg_outputs.") and k.endswith(".bias") for k in keys), "seg outputs: no bias"
    assert not any("running" in k or "dropout" in k for k in keys), "no running statistics, no dropout module"
    assert tuple(model.tu[0].kernel_size) == (1, 2, 2) and tuple(model.tu[0].stride) == (1, 2, 2)
    assert tuple(model.conv_blocks_context[5][0].blocks[0].conv.stride) == (1, 2, 2)
    assert tuple(model.conv_blocks_context[1].blocks[0].conv.stride) == (2, 2, 2)
    assert model.conv_blocks_context[0].blocks[0].dropout is None
    assert model.conv_blocks_context[0].blocks[0].instnorm.track_running_stats is False
    return keys


model = generic_unet()
keys = check_facts(model)
params = [n for n, _ in model.named_parameters()]
assert params == keys, "model.parameters() order is the state_dict order (no buffers)"
optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=0.0, nesterov=False)
criterion = nn.MSELoss()


def train_step(x, gt):
    model.train()
    loss = criterion(torch.sigmoid(model(x)), gt)
    optimizer.zero_grad()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    optimizer.step()
    return loss.item(), grads


for i in range(3):
    loss, _ = train_step(*genesis_batch(2))
    print(f"pretraining step {i}: loss {loss:.6f}")


def save(path):
    torch.save({'epoch': 1, 'state_dict': model.state_dict(), 'optimizer_state_dict': optimizer.state_dict()}, path)


save(os.path.join(OUT, "nnunet_tiny.model"))
opt_state = optimizer.state_dict()
missing = [i for i in range(len(params)) if i not in opt_state["state"]]
print("optimizer positions without state:", missing, [params[i] for i in missing])

x, gt = genesis_batch(2)
model.eval()
with torch.no_grad():
    logits = model(x)
    model.train()
    logits_train = model(x)
train_diff = float((logits_train - logits).abs().max())
print("train vs eval logits, max abs:", train_diff)
v1_state = {k: v.clone() for k, v in model.state_dict().items()}
loss, grads = train_step(x, gt)
print(f"reference step: loss {loss:.8f}")
save(os.path.join(OUT, "nnunet_tiny.step.model"))

with h5py.File(os.path.join(OUT, "nnunet_tiny.reference.h5"), "w") as f:
    f["input"], f["target"] = x.numpy().astype(np.float16), gt[:, :1].numpy().astype(np.float16)
    f["logits"] = logits.numpy()
    f["logits"].attrs["train_mode_max_abs_difference"] = train_diff
    f["step/loss"] = np.array([loss], np.float32)
    for n, g in grads.items():
        f["step/gradients/" + n] = g.numpy()
    f["step"].attrs["lr"], f["step"].attrs["momentum"] = 0.1, 0.9
    f.attrs["made_by"] = "scripts/make_nnunet_fixtures.py (nnunet 1.7.1 Generic_UNet, torch %s)" % torch.__version__

# DC_and_CE_loss as nnUNetTrainer builds it.
with h5py.File(os.path.join(OUT, "dc_and_ce.h5"), "w") as f:
    for c in (2, 3):
        lg = torch.from_numpy(rng.normal(0, 2, (2, c, 4, 6, 8)).astype(np.float32))
        tg = torch.from_numpy(rng.integers(0, c, (2, 1, 4, 6, 8)).astype(np.float32))
        f[f"c{c}/logits"], f[f"c{c}/target"] = lg.numpy(), tg.numpy()
        for bd in (True, False):
            crit = DC_and_CE_loss({'batch_dice': bd, 'smooth': 1e-5, 'do_bg': False}, {})
            l = lg.clone().requires_grad_(True)
            value = crit(l, tg.clone())
            value.backward()
            g = f"c{c}/batch_dice_{str(bd).lower()}"
            f[g + "/loss"] = np.array([value.item()], np.float32)
            f[g + "/gradient"] = l.grad.numpy()
            print(f"DC_and_CE_loss C={c} batch_dice={bd}: {value.item():.8f}")
    f.attrs["made_by"] = "scripts/make_nnunet_fixtures.py (nnunet 1.7.1 DC_and_CE_loss)"

# nnU-Net v2: the plans file (written above), the network nnunetv2 builds from it, and the v1 -> v2 key map.
arch, plans = plans_for(POOLS)

# As nnunetv2.utilities.get_network_from_plans: classes located by name, then
# cls(input_channels=, num_classes=, **arch_kwargs), deep supervision off for inference.
kw = dict(arch["arch_kwargs"])
for k in arch["_kw_requires_import"]:
    if kw[k] is not None:
        kw[k] = pydoc.locate(kw[k])
v2 = pydoc.locate(arch["network_class_name"])(input_channels=1, num_classes=CLASSES, deep_supervision=False, **kw)
v2_sd = v2.state_dict()


def v2_names(k):
    """Every v2 key for v1 key k (the module is registered under several paths)."""
    p = k.split(".")
    if p[0] == "conv_blocks_context":
        s = int(p[1])
        block, rest = (int(p[3]), p[4:]) if s < 5 else (int(p[2]), p[5:])
        mod, leaf = rest
        idx = {"conv": 0, "instnorm": 1}[mod]
        new = {"conv": "conv", "instnorm": "norm"}[mod]
        base = f"encoder.stages.{s}.0.convs.{block}."
        names = [base + f"{new}.{leaf}", base + f"all_modules.{idx}.{leaf}"]
        return names + ["decoder." + n for n in names]
    if p[0] == "conv_blocks_localization":
        u, block, (mod, leaf) = int(p[1]), int(p[2]), p[5:]
        idx = {"conv": 0, "instnorm": 1}[mod]
        new = {"conv": "conv", "instnorm": "norm"}[mod]
        base = f"decoder.stages.{u}.convs.{block}."
        return [base + f"{new}.{leaf}", base + f"all_modules.{idx}.{leaf}"]
    if p[0] == "tu":
        return [f"decoder.transpconvs.{p[1]}.{p[2]}"]
    if p[0] == "seg_outputs":
        return [f"decoder.seg_layers.{p[1]}.{p[2]}"]
    raise KeyError(k)


v1_to_v2 = {k: v2_names(k) for k in v1_state}
covered = {n for ns in v1_to_v2.values() for n in ns}
assert covered <= set(v2_sd), sorted(covered - set(v2_sd))
v2_zero = [k for k in v2_sd if k not in covered]
assert all(k.endswith(".bias") and (".transpconvs." in k or ".seg_layers." in k) for k in v2_zero), v2_zero
converted = {}
for k, ns in v1_to_v2.items():
    for n in ns:
        assert tuple(v2_sd[n].shape) == tuple(v1_state[k].shape), (k, n)
        converted[n] = v1_state[k]
for k in v2_zero:
    converted[k] = torch.zeros_like(v2_sd[k])
v2.load_state_dict(converted, strict=True)
v2.eval()
with torch.no_grad():
    v2_logits = v2(x)
v2_diff = float((v2_logits - logits).abs().max())
print("v2 PlainConvUNet (strict load of the mapped v1 weights) vs v1 logits, max abs:", v2_diff)
assert v2_diff < 1e-5
with open(os.path.join(OUT, "plainconvunet_keys.json"), "w") as f:
    json.dump({
        "made_by": "scripts/make_nnunet_fixtures.py (dynamic_network_architectures PlainConvUNet from nnUNetPlans.json)",
        "state_dict": [[k, list(v.shape)] for k, v in v2_sd.items()],
        "v1_to_v2": v1_to_v2, "v2_zero": v2_zero, "max_abs_output_difference": v2_diff,
    }, f)

for name in sorted(os.listdir(OUT)):
    print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")

# torch.optim.SGD as nnUNetTrainerV2 fine-tunes: Nesterov momentum 0.99, weight decay 3e-5, poly lr.
nrng = np.random.default_rng(7)
w = torch.nn.Parameter(torch.from_numpy(nrng.normal(0, 1, (3, 4, 5)).astype(np.float32)))
sgd = torch.optim.SGD([w], 1e-2, weight_decay=3e-5, momentum=0.99, nesterov=True)
gs = nrng.normal(0, 1, (4, 3, 4, 5)).astype(np.float32)
w0 = w.detach().clone().numpy()
after, bufs, lrs = [], [], []
for k in range(4):
    lr = 1e-2 * (1 - k / 10) ** 0.9
    sgd.param_groups[0]["lr"] = lr
    w.grad = torch.from_numpy(gs[k].copy())
    sgd.step()
    after.append(w.detach().clone().numpy())
    bufs.append(sgd.state[w]["momentum_buffer"].clone().numpy())
    lrs.append(lr)
with h5py.File(os.path.join(OUT, "sgd_nesterov.h5"), "w") as f:
    f["w0"], f["gradients"] = w0, gs
    f["weights"], f["momentum_buffers"] = np.stack(after), np.stack(bufs)
    f["lrs"] = np.array(lrs, np.float64)
    f.attrs["momentum"], f.attrs["weight_decay"], f.attrs["nesterov"] = 0.99, 3e-5, True
    f.attrs["made_by"] = "scripts/make_nnunet_fixtures.py (torch %s optim.SGD)" % torch.__version__
print("SGD Nesterov: 4 steps, final |w| max", float(np.abs(after[-1]).max()))
