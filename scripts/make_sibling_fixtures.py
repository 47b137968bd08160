"""Makes Tests/References/siblings/: small files of the Models Genesis siblings (issue 21,
item 6), each network rebuilt from its official code's architecture and saved as that code
saves it (schemas/sibling-networks.md has the layouts and where each comes from).

Run with the peers' Python:
    /opt/peers/bin/python scripts/make_sibling_fixtures.py [--official DIR]

--official DIR: a directory holding the official model files
(`DIR/SemanticGenesis/pytorch/models/ynet3d.py`, `DIR/TransVW/pytorch/models/ynet3d.py`,
`DIR/SuPreM/supervised_pretraining/backbone/unet.py`); when given, the rebuilt PyTorch networks
at the official widths are checked key for key and shape for shape against the official
classes (the official classes fix the width at 32, so the fixtures themselves use the
rebuilds at a small width).

The widths: base width 2 for every trunk (official 32) and, for the heads, the official
widths scaled by the same factor (base / 32), so that at base 32 every shape is the official
one: Semantic Genesis / TransVW Keras head Conv3D 16*base filters (official 512), Dense
32*base (official 1024); PyTorch head Conv3d 32*base (official 1024). Class counts are the
official 44. SuPreM's head (Universal_model with the `unet` backbone, word embedding) keeps
its official widths (256-wide task encoding, 153 controller outputs, 25 classes); its
GroupNorm over the decoder's 2*base channels takes min(16, 2*base) groups (official 16: at
base 2 there are 4 channels; the group count is not stored in the file). Inputs (N, 1, 16,
16, 8). Deterministic: torch.manual_seed(0), numpy default_rng(0), tf_keras set_random_seed(0).

Outputs (every one listed in Tests/References/siblings/README.md):
- semantic_genesis_chest_ct.tiny.h5 (by make_sibling_fixtures_keras.py, in its own process:
  TensorFlow and torch in one process abort): Keras `ynet_model_3d` (tf_keras), compiled as the
  official keras/train.py does (Adam lr 1e-3; losses mse on reconst_output and categorical
  cross-entropy on cls_output, weights 1 and 0.01), one train_on_batch, then `model.save`
  (what its ModelCheckpoint writes: model_config, model_weights, optimizer_weights).
- TransVW_chest_ct.tiny.pt: PyTorch `YNet3D` wrapped in nn.DataParallel (`module.` keys, the
  official --multi_gpu), one Adam step (lr 1e-3) of the official loss (0.01 * CE(log(cls)) +
  MSE(seg)), saved as the official pytorch/train.py does: torch.save({'epoch',
  'state_dict', 'optimizer_state_dict', 'num_epoch_no_improvement', 'best_loss', 'best_acc'}).
- supervised_suprem_unet.tiny.pth: SuPreM's Universal_model (backbone 'unet', encoding
  'word_embedding', 25 classes) wrapped as the official DistributedDataParallel wraps it
  (keys `module.backbone.*`, `module.precls_conv.*`, ...; nn.DataParallel gives the same
  `module.` prefix without a process group), saved as supervised_pretraining/train.py does:
  torch.save({'net', 'optimizer' (AdamW, fresh: no steps, to keep the file small),
  'scheduler', 'epoch'}).
- <name>.reference.h5 for each: `input` (2,1,16,16,8) float32 and the trunk's output on it,
  computed by the framework: Keras `seg_output` = model.predict(input)[0] (reconst_output,
  BatchNorm with moving statistics as Keras predict does); PyTorch `seg_output` =
  model(input)[0] (ContBatchNorm3d: the batch's statistics in every mode); SuPreM
  `decoder_features` = backbone(input)[1] (out_up_64: SuPreM's UNet3D has no output layer,
  its segmentation comes from the Universal_model's dynamic heads) and `seg_output` of a
  target-application UNet3D (totalsegmentator/model/unet3d.py: the same trunk plus out_tr
  final_conv, logits) built from the backbone weights plus a seeded out_tr stored in
  `out_tr/weight`, `out_tr/bias`. Also `cls_output` for the Y-Nets.
- The head weights alone are not stored separately: they are in the files.
"""
import argparse
import importlib.util
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "References", "siblings")
BASE = 2
SHAPE = (1, 16, 16, 8)
CLASSES = 44


# ---------------------------------------------------------------------------------------------
# PyTorch: fhaghighi/SemanticGenesis pytorch/models/ynet3d.py (identical in fhaghighi/TransVW),
# the literal 32 of `_make_nConv` and the head's 1024 made parameters.

class ContBatchNorm3d(nn.modules.batchnorm._BatchNorm):
    def _check_input_dim(self, input):
        if input.dim() != 5:
            raise ValueError('expected 5D input (got {}D input)'.format(input.dim()))

    def forward(self, input):
        self._check_input_dim(input)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, True, self.momentum, self.eps)


class LUConv(nn.Module):
    def __init__(self, in_chan, out_chan, act):
        super().__init__()
        self.conv1 = nn.Conv3d(in_chan, out_chan, kernel_size=3, padding=1)
        self.bn1 = ContBatchNorm3d(out_chan)
        assert act == 'relu'
        self.activation = nn.ReLU(out_chan)

    def forward(self, x):
        return self.activation(self.bn1(self.conv1(x)))


def _make_nConv(in_channel, depth, act, base, double_chnnel=False):
    if double_chnnel:
        layer1 = LUConv(in_channel, base * (2 ** (depth + 1)), act)
        layer2 = LUConv(base * (2 ** (depth + 1)), base * (2 ** (depth + 1)), act)
    else:
        layer1 = LUConv(in_channel, base * (2 ** depth), act)
        layer2 = LUConv(base * (2 ** depth), base * (2 ** depth) * 2, act)
    return nn.Sequential(layer1, layer2)


class ClassificationHead(nn.Module):
    def __init__(self, in_chan, act, lst_act, cls_classes, width):
        super().__init__()
        self.conv1 = nn.Conv3d(in_chan, width, kernel_size=3, padding=1)
        self.bn1 = ContBatchNorm3d(width)
        self.activation = nn.ReLU(width)
        self.avgpool1 = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Linear(width, cls_classes)
        self.lst_act = nn.Softmax(dim=1) if lst_act == 'soft' else nn.Sigmoid()

    def forward(self, x):
        feature_space = self.avgpool1(self.activation(self.bn1(self.conv1(x))))
        return self.lst_act(self.fc1(torch.flatten(feature_space, 1)))


class DownTransition(nn.Module):
    def __init__(self, in_channel, depth, act, base):
        super().__init__()
        self.ops = _make_nConv(in_channel, depth, act, base)
        self.maxpool = nn.MaxPool3d(2)
        self.current_depth = depth

    def forward(self, x):
        if self.current_depth == 3:
            out = self.ops(x)
            out_before_pool = out
        else:
            out_before_pool = self.ops(x)
            out = self.maxpool(out_before_pool)
        return out, out_before_pool


class UpTransition(nn.Module):
    def __init__(self, inChans, outChans, depth, act, base):
        super().__init__()
        self.depth = depth
        self.up_conv = nn.ConvTranspose3d(inChans, outChans, kernel_size=2, stride=2)
        self.ops = _make_nConv(inChans + outChans // 2, depth, act, base, double_chnnel=True)

    def forward(self, x, skip_x):
        return self.ops(torch.cat((self.up_conv(x), skip_x), 1))


class OutputTransition(nn.Module):
    def __init__(self, inChans, n_labels, sigmoid=True):
        super().__init__()
        self.final_conv = nn.Conv3d(inChans, n_labels, kernel_size=1)
        self.sigmoid = nn.Sigmoid()
        self.apply_sigmoid = sigmoid

    def forward(self, x):
        out = self.final_conv(x)
        return self.sigmoid(out) if self.apply_sigmoid else out


class YNet3D(nn.Module):
    def __init__(self, n_class=1, act='relu', lst_act='soft', cls_classes=44, base=32, head_width=1024):
        super().__init__()
        b = base
        self.down_tr64 = DownTransition(1, 0, act, b)
        self.down_tr128 = DownTransition(2 * b, 1, act, b)
        self.down_tr256 = DownTransition(4 * b, 2, act, b)
        self.down_tr512 = DownTransition(8 * b, 3, act, b)
        self.up_tr256 = UpTransition(16 * b, 16 * b, 2, act, b)
        self.up_tr128 = UpTransition(8 * b, 8 * b, 1, act, b)
        self.up_tr64 = UpTransition(4 * b, 4 * b, 0, act, b)
        self.out_tr = OutputTransition(2 * b, n_class)
        self.clc_out = ClassificationHead(16 * b, act, lst_act, cls_classes, head_width)

    def forward(self, x):
        out64, skip64 = self.down_tr64(x)
        out128, skip128 = self.down_tr128(out64)
        out256, skip256 = self.down_tr256(out128)
        out512, _ = self.down_tr512(out256)
        up256 = self.up_tr256(out512, skip256)
        up128 = self.up_tr128(up256, skip128)
        up64 = self.up_tr64(up128, skip64)
        return [self.out_tr(up64), self.clc_out(out512)]


# ---------------------------------------------------------------------------------------------
# PyTorch: MrGiovanni/SuPreM supervised_pretraining/backbone/unet.py (UNet3D without out_tr,
# returning (out512, out_up_64)) inside backbone/Universal_model.py ('unet' branch).

class SuPreMUNet3D(nn.Module):
    def __init__(self, act='relu', base=32):
        super().__init__()
        b = base
        self.down_tr64 = DownTransition(1, 0, act, b)
        self.down_tr128 = DownTransition(2 * b, 1, act, b)
        self.down_tr256 = DownTransition(4 * b, 2, act, b)
        self.down_tr512 = DownTransition(8 * b, 3, act, b)
        self.up_tr256 = UpTransition(16 * b, 16 * b, 2, act, b)
        self.up_tr128 = UpTransition(8 * b, 8 * b, 1, act, b)
        self.up_tr64 = UpTransition(4 * b, 4 * b, 0, act, b)

    def forward(self, x):
        out64, skip64 = self.down_tr64(x)
        out128, skip128 = self.down_tr128(out64)
        out256, skip256 = self.down_tr256(out128)
        out512, _ = self.down_tr512(out256)
        up256 = self.up_tr256(out512, skip256)
        up128 = self.up_tr128(up256, skip128)
        return out512, self.up_tr64(up128, skip64)


class UniversalModel(nn.Module):
    def __init__(self, out_channels=25, encoding='word_embedding', base=32):
        super().__init__()
        b = base
        self.backbone_name = 'unet'
        self.backbone = SuPreMUNet3D(base=b)
        self.precls_conv = nn.Sequential(nn.GroupNorm(min(16, 2 * b), 2 * b), nn.ReLU(inplace=True), nn.Conv3d(2 * b, 8, kernel_size=1))
        self.GAP = nn.Sequential(nn.GroupNorm(16, 16 * b), nn.ReLU(inplace=True), torch.nn.AdaptiveAvgPool3d((1, 1, 1)),
                                 nn.Conv3d(16 * b, 256, kernel_size=1, stride=1, padding=0))
        self.encoding = encoding
        weight_nums, bias_nums = [8 * 8, 8 * 8, 8 * 1], [8, 8, 1]
        self.weight_nums, self.bias_nums = weight_nums, bias_nums
        self.controller = nn.Conv3d(256 + 256, sum(weight_nums + bias_nums), kernel_size=1, stride=1, padding=0)
        if encoding == 'rand_embedding':
            self.organ_embedding = nn.Embedding(out_channels, 256)
        else:
            self.register_buffer('organ_embedding', torch.randn(out_channels, 512))
            self.text_to_vision = nn.Linear(512, 256)
        self.class_num = out_channels


class TargetUNet3D(nn.Module):
    """SuPreM target_applications/totalsegmentator/model/unet3d.py: the trunk plus out_tr (logits)."""
    def __init__(self, n_class=1, base=32):
        super().__init__()
        b = base
        self.down_tr64 = DownTransition(1, 0, 'relu', b)
        self.down_tr128 = DownTransition(2 * b, 1, 'relu', b)
        self.down_tr256 = DownTransition(4 * b, 2, 'relu', b)
        self.down_tr512 = DownTransition(8 * b, 3, 'relu', b)
        self.up_tr256 = UpTransition(16 * b, 16 * b, 2, 'relu', b)
        self.up_tr128 = UpTransition(8 * b, 8 * b, 1, 'relu', b)
        self.up_tr64 = UpTransition(4 * b, 4 * b, 0, 'relu', b)
        self.out_tr = OutputTransition(2 * b, n_class, sigmoid=False)

    def forward(self, x):
        out64, skip64 = self.down_tr64(x)
        out128, skip128 = self.down_tr128(out64)
        out256, skip256 = self.down_tr256(out128)
        out512 = self.down_tr512(out256)
        up256 = self.up_tr256(out512[0], skip256)
        up128 = self.up_tr128(up256, skip128)
        return self.out_tr(self.up_tr64(up128, skip64))


class LinearWarmupCosineAnnealingLR(torch.optim.lr_scheduler._LRScheduler):
    """SuPreM optimizers/lr_scheduler.py's scheduler (its state: the _LRScheduler fields plus
    warmup_epochs, max_epochs, warmup_start_lr, eta_min)."""
    def __init__(self, optimizer, warmup_epochs, max_epochs, warmup_start_lr=0.0, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs, self.max_epochs = warmup_epochs, max_epochs
        self.warmup_start_lr, self.eta_min = warmup_start_lr, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [self.warmup_start_lr] * len(self.base_lrs)
        return [g["lr"] for g in self.optimizer.param_groups]


def torch_statistics(module, gen):
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)
                m.running_mean.uniform_(-0.1, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)


def write_reference(path, arrays, attrs):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=np.asarray(v, dtype=np.float32))
        for k, v in attrs.items():
            f.attrs[k] = v


def torch_ynet_fixture(x):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = YNet3D(cls_classes=CLASSES, base=BASE, head_width=32 * BASE)
    torch_statistics(model, gen)
    parallel = nn.DataParallel(model)
    optimizer = torch.optim.Adam(parallel.parameters(), 1e-3)
    target_cls = torch.tensor([3, 17])
    seg, cls = parallel(torch.from_numpy(x))
    loss = 0.01 * nn.CrossEntropyLoss()(torch.log(cls), target_cls) + nn.MSELoss()(seg, torch.from_numpy(x))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    path = os.path.join(OUT, "TransVW_chest_ct.tiny.pt")
    torch.save({'epoch': 1, 'state_dict': parallel.state_dict(), 'optimizer_state_dict': optimizer.state_dict(),
                'num_epoch_no_improvement': 0, 'best_loss': float(loss.item()), 'best_acc': 0.0}, path)
    with torch.no_grad():
        seg, cls = model(torch.from_numpy(x))
    write_reference(os.path.join(OUT, "TransVW_chest_ct.tiny.reference.h5"), {"input": x, "seg_output": seg.numpy(), "cls_output": cls.numpy()},
                    {"bn": "batch (ContBatchNorm3d: the batch's statistics in every mode, epsilon 1e-5)", "base_filters": BASE})
    return path


def suprem_fixture(x):
    torch.manual_seed(2)
    gen = torch.Generator().manual_seed(3)
    model = UniversalModel(out_channels=25, encoding='word_embedding', base=BASE)
    torch_statistics(model.backbone, gen)
    with torch.no_grad():
        for gn in (model.precls_conv[0], model.GAP[0]):
            gn.weight.uniform_(0.5, 1.5, generator=gen)
            gn.bias.uniform_(-0.2, 0.2, generator=gen)
    parallel = nn.DataParallel(model)
    optimizer = torch.optim.AdamW(parallel.parameters(), lr=1e-4, weight_decay=1e-5)
    scheduler = LinearWarmupCosineAnnealingLR(optimizer, warmup_epochs=20, max_epochs=800)
    path = os.path.join(OUT, "supervised_suprem_unet.tiny.pth")
    torch.save({"net": parallel.state_dict(), 'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict(), "epoch": 1}, path)
    with torch.no_grad():
        _, features = model.backbone(torch.from_numpy(x))
        # A target application's UNet3D started from the backbone, as totalsegmentator/train.py does
        # (keys 'module.backbone.<k>' -> '<k>'; out_tr keeps its fresh init).
        target = TargetUNet3D(n_class=3, base=BASE)
        store = target.state_dict()
        for k, v in parallel.state_dict().items():
            nk = '.'.join(k.split('.')[2:])
            if nk in store:
                store[nk] = v
        target.load_state_dict(store)
        seg = target(torch.from_numpy(x))
    write_reference(os.path.join(OUT, "supervised_suprem_unet.tiny.reference.h5"),
                    {"input": x, "decoder_features": features.numpy(), "seg_output": seg.numpy(),
                     "out_tr/weight": target.out_tr.final_conv.weight.detach().numpy(), "out_tr/bias": target.out_tr.final_conv.bias.detach().numpy()},
                    {"bn": "batch (ContBatchNorm3d: the batch's statistics in every mode, epsilon 1e-5)", "base_filters": BASE})
    return path


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_against_official(official):
    """The rebuilds at the official widths have the official classes' keys and shapes."""
    def table(m):
        return [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
    for repo in ("SemanticGenesis", "TransVW"):
        mod = load_module(os.path.join(official, repo, "pytorch", "models", "ynet3d.py"), repo + "_ynet3d")
        assert table(mod.YNet3D(cls_classes=44)) == table(YNet3D(cls_classes=44)), repo
        print(f"{repo} YNet3D: rebuilt keys and shapes equal the official class's")
    sys.modules.setdefault("backbone", type(sys)("backbone"))
    unet = load_module(os.path.join(official, "SuPreM", "supervised_pretraining", "backbone", "unet.py"), "suprem_unet")
    assert table(unet.UNet3D()) == table(SuPreMUNet3D()), "SuPreM UNet3D"
    print("SuPreM UNet3D: rebuilt keys and shapes equal the official class's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", help="directory with SemanticGenesis/, TransVW/, SuPreM/ checkouts (official code)")
    ap.add_argument("--out", help="write elsewhere than Tests/References/siblings (to check that a rerun gives the same tensors)")
    args = ap.parse_args()
    global OUT
    if args.out:
        OUT = args.out
    if args.official:
        check_against_official(args.official)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2,) + SHAPE).astype(np.float32)
    # Keras in its own process (TensorFlow and torch in one process abort); the same seeds give
    # the same input there.
    subprocess.run([sys.executable, os.path.join(HERE, "make_sibling_fixtures_keras.py"), OUT, str(BASE)], check=True)
    keras = os.path.join(OUT, "semantic_genesis_chest_ct.tiny.h5")
    for p in (keras, torch_ynet_fixture(x), suprem_fixture(x)):
        print(p, os.path.getsize(p), "bytes")


if __name__ == "__main__":
    main()
