/// The network module a MONAI bundle ships (`scripts/genesis_unet.py`): the Genesis U-Net of the
/// official pytorch/unet3d.py, module for module, TorchScript-able, with one BatchNorm for both
/// behaviours (`batch_statistics`). `scripts/interop_monai.py` loads every bundle's copy into
/// MONAI and compares it with the official network.
enum MonaiBundleNetworkModule {
    static let fileName = "genesis_unet.py"
    static let className = "GenesisUNet3D"

    static let source = #"""
"""The Models Genesis 3D U-Net (PyTorch variant: ConvTranspose3d up-sampling) as a MONAI bundle
network, written by genesis. Module names and tensors are those of the official
pytorch/unet3d.py (MrGiovanni/ModelsGenesis), so models/model.pt loads with strict=True; the
code is TorchScript-able (nn.ReLU() where the official passes the channel count to nn.ReLU as
its inplace flag, which torch.jit.script refuses), and BatchNorm is one module for both behaviours:

- batch_statistics=True: every forward normalises with the batch's own mean and variance, as the
  official ContBatchNorm3d does in every mode (the running statistics are left untouched here);
- batch_statistics=False: the running statistics, as nn.BatchNorm3d does in eval mode.

eps is the BatchNorm epsilon of the framework the weights were trained in (PyTorch 1e-5,
Keras 1e-3). Input (N, 1, D, H, W), each spatial size a multiple of 8; output the sigmoid of
n_class channels.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class GenesisBatchNorm3d(nn.Module):
    def __init__(self, channels: int, eps: float, batch_statistics: bool):
        super().__init__()
        self.eps = eps
        self.batch_statistics = batch_statistics
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # momentum 0: with batch statistics, F.batch_norm leaves the running statistics as they are.
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.batch_statistics, 0.0, self.eps)


class LUConv(nn.Module):
    def __init__(self, cin: int, cout: int, eps: float, batch_statistics: bool):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, kernel_size=3, padding=1)
        self.bn1 = GenesisBatchNorm3d(cout, eps, batch_statistics)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.bn1(self.conv1(x)))


def _two_convs(cin: int, first: int, second: int, eps: float, batch_statistics: bool) -> nn.Sequential:
    return nn.Sequential(LUConv(cin, first, eps, batch_statistics), LUConv(first, second, eps, batch_statistics))


class DownTransition(nn.Module):
    def __init__(self, cin: int, depth: int, base: int, eps: float, batch_statistics: bool):
        super().__init__()
        width = base * 2 ** depth
        self.ops = _two_convs(cin, width, width * 2, eps, batch_statistics)
        self.maxpool = nn.MaxPool3d(2)
        self.pool = depth < 3

    def forward(self, x: torch.Tensor):
        before = self.ops(x)
        if self.pool:
            return self.maxpool(before), before
        return before, before


class UpTransition(nn.Module):
    def __init__(self, cin: int, cout: int, depth: int, base: int, eps: float, batch_statistics: bool):
        super().__init__()
        width = base * 2 ** (depth + 1)
        self.up_conv = nn.ConvTranspose3d(cin, cout, kernel_size=2, stride=2)
        self.ops = _two_convs(cin + cout // 2, width, width, eps, batch_statistics)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.ops(torch.cat((self.up_conv(x), skip), 1))


class OutputTransition(nn.Module):
    def __init__(self, cin: int, n_class: int):
        super().__init__()
        self.final_conv = nn.Conv3d(cin, n_class, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.final_conv(x))


class GenesisUNet3D(nn.Module):
    def __init__(self, n_class: int = 1, base: int = 32, batch_statistics: bool = True, eps: float = 1e-5):
        super().__init__()
        b = base
        self.down_tr64 = DownTransition(1, 0, b, eps, batch_statistics)
        self.down_tr128 = DownTransition(2 * b, 1, b, eps, batch_statistics)
        self.down_tr256 = DownTransition(4 * b, 2, b, eps, batch_statistics)
        self.down_tr512 = DownTransition(8 * b, 3, b, eps, batch_statistics)
        self.up_tr256 = UpTransition(16 * b, 16 * b, 2, b, eps, batch_statistics)
        self.up_tr128 = UpTransition(8 * b, 8 * b, 1, b, eps, batch_statistics)
        self.up_tr64 = UpTransition(4 * b, 4 * b, 0, b, eps, batch_statistics)
        self.out_tr = OutputTransition(2 * b, n_class)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out64, skip64 = self.down_tr64(x)
        out128, skip128 = self.down_tr128(out64)
        out256, skip256 = self.down_tr256(out128)
        out512, _ = self.down_tr512(out256)
        up256 = self.up_tr256(out512, skip256)
        up128 = self.up_tr128(up256, skip128)
        up64 = self.up_tr64(up128, skip64)
        return self.out_tr(up64)
"""#
}
