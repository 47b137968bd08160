"""Peer for scripts/bench_train.sh: one training step (forward, MSELoss, backward, SGD lr 0.1
momentum 0.9) of the official PyTorch UNet3D(base=32) at batch B on 64x64x32 cubes, all cores;
prints the median and best seconds of REPS steps after one warm-up, and the peak RSS.

usage: peer_train_step.py B [REPS]
"""
import os, resource, sys, time
import numpy as np
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "../../shared/peers")))
import torch
from torch_genesis import UNet3D

torch.set_num_threads(os.cpu_count())
torch.manual_seed(0)
b = int(sys.argv[1])
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
m = UNet3D(base=32)
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
x = torch.rand(b, 1, 64, 64, 32)
t = torch.rand(b, 1, 64, 64, 32)


def step():
    loss = torch.nn.functional.mse_loss(m(x), t)
    opt.zero_grad()
    loss.backward()
    opt.step()


step()
ts = []
for _ in range(reps):
    s = time.perf_counter()
    step()
    ts.append(time.perf_counter() - s)
print(f"pytorch {torch.__version__} train step batch {b}: median {np.median(ts):.3f} s, best {min(ts):.3f} s ({reps} steps), "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
