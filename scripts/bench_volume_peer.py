"""Peer for scripts/bench_volume_memory.sh: MONAI's sliding_window_inference (mode="gaussian",
sw_batch_size 1) with the official PyTorch UNet3D (base 32, torch.no_grad()) on the same
MetaImage scan, CT-windowed as genesis does (clip [-1000, 1000], scale to [0, 1]), D along i;
the output saved as float32 .npy (MONAI returns the whole volume). Prints seconds and peak RSS.

usage: bench_volume_peer.py SCAN.mhd OUT.npy PATCH(D,H,W) OVERLAP
"""
import os, resource, sys, time
import numpy as np
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "../../shared/peers")))
import torch
from monai import __version__ as monai_version
from monai.inferers import sliding_window_inference
from torch_genesis import UNet3D

scan, out, patch, overlap = sys.argv[1], sys.argv[2], tuple(map(int, sys.argv[3].split(","))), float(sys.argv[4])
header = dict(line.split(" = ", 1) for line in open(scan).read().splitlines() if " = " in line)
ni, nj, nk = map(int, header["DimSize"].split())
raw = np.fromfile(os.path.join(os.path.dirname(scan), header["ElementDataFile"].strip()), dtype="<i2").reshape(nk, nj, ni)
x = np.ascontiguousarray(((np.clip(raw.astype(np.float32), -1000, 1000) + 1000) / 2000).transpose(2, 1, 0))
del raw
torch.set_num_threads(os.cpu_count())
m = UNet3D(base=32).eval()
windows = 0
def predictor(p):
    global windows
    windows += 1
    if windows % 16 == 1:
        print(f"window {windows} at {time.perf_counter() - t:.0f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", file=sys.stderr, flush=True)
    return m(p)
t = time.perf_counter()
with torch.no_grad():
    y = sliding_window_inference(torch.from_numpy(x)[None, None], patch, 1, predictor, overlap=overlap, mode="gaussian")
seconds = time.perf_counter() - t
np.save(out, y[0, 0].numpy())
print(f"monai {monai_version}, pytorch {torch.__version__}: {windows} windows of {patch}, overlap {overlap}, "
      f"{seconds:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
