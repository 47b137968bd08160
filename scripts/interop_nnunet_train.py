"""Does a genesis nnU-Net Genesis checkpoint continue in PyTorch? (issue 21, item 3)

Run with the peers' Python (nnunet 1.7.1, torch) from the repository root, after `swift build`:
    /opt/peers/bin/python scripts/interop_nnunet_train.py [path/to/genesis]

1. Seeded [0, 1] cubes (4, 1, 32, 32, 32) and targets (the cubes themselves, smoothed) are written
   to a scratch directory.
2. genesis pretrains Tests/References/nnunet/nnunet_tiny.model one step on cubes 0-1
   (--transforms none --targets, --no-shuffle, batch 2) to one.pt, then resumes one more step
   (cubes 2-3) to two.pt.
3. PyTorch: nnU-Net v1's own Generic_UNet (the fixture's configuration) loads one.pt's
   `state_dict` strictly, torch.optim.SGD loads its `optimizer_state_dict`, and takes the step
   the recipe takes on cubes 2-3: input normalised as Genesis_nnUNet.py does
   ((x * 2000 - 1000 - (-775.8457)) / 251.9326, in float64, rounded once), loss
   MSELoss(sigmoid(logits), target repeated over the 2 classes), backward, step.
4. The loss, every weight and every momentum buffer are compared with two.pt's; parameters
   without a buffer (seg_outputs.0-3) must have none in both and be unchanged.
Prints the deviations and exits non-zero beyond the tolerances of schemas/numerics.md.
"""
import json, os, subprocess, sys, tempfile
import numpy as np, torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GENESIS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "genesis")
MODEL = os.path.join(ROOT, "Tests", "References", "nnunet", "nnunet_tiny.model")
MEAN, STD = -775.8457, 251.9326

torch.set_num_threads(1)
from nnunet.network_architecture.generic_UNet import Generic_UNet
from nnunet.network_architecture.initialization import InitWeights_He

POOLS = [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]
KERNELS = [[3, 3, 3]] * 6


def generic_unet():
    return Generic_UNet(1, 4, 2, len(POOLS), 2, 2, nn.Conv3d, nn.InstanceNorm3d, {'eps': 1e-5, 'affine': True},
                        nn.Dropout3d, {'p': 0, 'inplace': True}, nn.LeakyReLU, {'negative_slope': 1e-2, 'inplace': True},
                        False, False, lambda x: x, InitWeights_He(1e-2), POOLS, KERNELS, False, True, True,
                        max_num_features=8)


def genesis(*args):
    r = subprocess.run([GENESIS, *args, "--threads", "2", "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("genesis %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return json.loads(r.stdout)


rng = np.random.default_rng(5)
d = tempfile.mkdtemp(prefix="interop_nnunet_")
cubes = rng.uniform(0, 1, (4, 1, 32, 32, 32)).astype(np.float32)
targets = np.clip(cubes + rng.normal(0, 0.05, cubes.shape), 0, 1).astype(np.float32)
np.save(os.path.join(d, "cubes.npy"), cubes)
np.save(os.path.join(d, "targets.npy"), targets)
common = ["--data", os.path.join(d, "cubes.npy"), "--targets", os.path.join(d, "targets.npy"), "--transforms", "none",
          "--batch", "2", "--no-shuffle"]
first = genesis("pretrain", "--init", MODEL, *common, "--steps", "1", "--out", os.path.join(d, "one.pt"))
second = genesis("pretrain", "--resume", os.path.join(d, "one.pt"), *common, "--steps", "2", "--out", os.path.join(d, "two.pt"))
ours_loss = second["losses"][-1]

one = torch.load(os.path.join(d, "one.pt"), weights_only=True)
two = torch.load(os.path.join(d, "two.pt"), weights_only=True)
assert set(one.keys()) >= {"epoch", "state_dict", "optimizer_state_dict"}, one.keys()
model = generic_unet()
model.load_state_dict(one["state_dict"], strict=True)
optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
optimizer.load_state_dict(one["optimizer_state_dict"])
names = [n for n, _ in model.named_parameters()]
group = optimizer.param_groups[0]
print("loaded one.pt strictly: %d tensors; SGD lr %g momentum %g nesterov %s; %d momentum buffers"
      % (len(one["state_dict"]), group["lr"], group["momentum"], group["nesterov"], len(optimizer.state)))

x = torch.from_numpy(((cubes[2:4].astype(np.float64) * 2000 - 1000 - MEAN) / STD).astype(np.float32))
gt = torch.from_numpy(np.repeat(targets[2:4], 2, axis=1))
model.train()
loss = nn.MSELoss()(torch.sigmoid(model(x)), gt)
optimizer.zero_grad()
loss.backward()
before = {n: p.detach().clone() for n, p in model.named_parameters()}
optimizer.step()

rel_loss = abs(loss.item() - ours_loss) / loss.item()
worst, worst_name = 0.0, ""
for n, p in model.named_parameters():
    ours = two["state_dict"][n]
    use = ((ours - p.detach()).abs() / (1e-5 + 1e-3 * (p.detach() - before[n]).abs())).max().item()
    if use > worst:
        worst, worst_name = use, n
state_two = two["optimizer_state_dict"]["state"]
buffers = {names[i]: s["momentum_buffer"] for i, s in state_two.items()}
theirs = {n: optimizer.state[p]["momentum_buffer"] for n, p in model.named_parameters() if p in optimizer.state}
assert set(buffers) == set(theirs), (sorted(set(buffers) ^ set(theirs)))
without = [n for n in names if n not in theirs]
largest = max(b.abs().max().item() for b in theirs.values())
worst_buffer = max(((buffers[n] - theirs[n]).abs().max() / max(theirs[n].abs().max().item(), 1e-3 * largest)).item() for n in theirs)
unchanged = all(torch.equal(two["state_dict"][n], one["state_dict"][n]) for n in without)
print("PyTorch's step from genesis's checkpoint: loss %.8f, genesis's %.8f (relative %.2e)" % (loss.item(), ours_loss, rel_loss))
print("weights: worst |genesis - PyTorch| / (1e-5 + 1e-3 |update|) = %.3g (%s)" % (worst, worst_name))
print("momentum buffers: worst deviation %.3g of the tensor's scale; without a buffer in both: %s (unchanged: %s)"
      % (worst_buffer, without, unchanged))
ok = rel_loss <= 1e-5 and worst <= 1 and worst_buffer <= 1e-3 and unchanged and without == ["seg_outputs.%d.weight" % u for u in range(4)]
print("continues in PyTorch:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
