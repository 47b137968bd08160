"""Peer for scripts/bench_run_memory.sh: the official PyTorch UNet3D (base 32) forward pass on
the cubes of a .npy file, with torch.no_grad(), all cubes in one batch as a user would call
it; prints the peak RSS (ru_maxrss) and the seconds. The official ContBatchNorm3d normalises
with batch statistics in every mode; memory-wise its forward is the same as eval BN.

usage: peer_forward_memory.py CUBES.npy
"""
import os, resource, sys, time
import numpy as np
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "../../shared/peers")))
import torch
from torch_genesis import UNet3D

torch.set_num_threads(os.cpu_count())
x = np.load(sys.argv[1]).astype(np.float32)
if x.ndim == 4:
    x = x[:, None]
m = UNet3D(base=32).eval()
t = time.perf_counter()
with torch.no_grad():
    y = m(torch.from_numpy(x))
seconds = time.perf_counter() - t
print(f"pytorch {torch.__version__}: input {tuple(x.shape)} -> {tuple(y.shape)} in {seconds:.2f} s, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
