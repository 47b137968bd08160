"""Parity of `genesis run` on a whole scan with MONAI's sliding_window_inference: a seeded
official PyTorch UNet3D (base 8) saved as .pt, a small CT-like scan (scripts/make_bench_scan.py),
MONAI (mode="gaussian", constant padding) against genesis (which reads the same .pt: torch
variant, BN batch statistics per window as ContBatchNorm3d). Prints the largest difference.

usage: monai_parity.py GENESIS_BINARY WORKDIR
"""
import os, subprocess, sys
import numpy as np
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(here, "../../shared/peers")))
import torch
from monai.inferers import sliding_window_inference
from torch_genesis import UNet3D

genesis, work = sys.argv[1], sys.argv[2]
torch.manual_seed(5)
m = UNet3D(base=8).eval()
torch.save(m.state_dict(), f"{work}/m.pt")
for shape, patch, overlap in [((80, 72, 40), (32, 32, 16), 0.5), ((50, 24, 30), (32, 32, 16), 0.25)]:
    subprocess.run([sys.executable, f"{here}/make_bench_scan.py", f"{work}/s.mhd", *map(str, shape)], check=True)
    raw = np.fromfile(f"{work}/s.raw", dtype="<i2").reshape(shape[::-1])
    x = np.ascontiguousarray(((np.clip(raw.astype(np.float32), -1000, 1000) + 1000) / 2000).transpose(2, 1, 0))
    with torch.no_grad():
        y = sliding_window_inference(torch.from_numpy(x)[None, None], patch, 1, m, overlap=overlap, mode="gaussian")[0, 0].numpy()
    subprocess.run([genesis, "run", f"{work}/m.pt", "--input", f"{work}/s.mhd", "--output", f"{work}/g.nii",
                    "--patch", ",".join(map(str, patch)), "--overlap", str(overlap), "--json"], check=True, stdout=subprocess.DEVNULL)
    # The NIfTI body: a 352-byte header (vox_offset) then float32, i fastest.
    g = np.fromfile(f"{work}/g.nii", dtype="<f4", offset=352).reshape(shape[::-1]).transpose(2, 1, 0)
    print(f"scan {shape}, patch {patch}, overlap {overlap}: max |genesis - monai| = {np.abs(g - y).max():.3g} "
          f"(output range {y.min():.4f}..{y.max():.4f})")
