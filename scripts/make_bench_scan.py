"""Writes a CT-like int16 MetaImage (.mhd + .raw) for scripts/bench_volume_memory.sh: air at
-1000 HU, an ellipsoid of soft tissue (40 HU) with seeded noise, bone-bright spots. Never
committed; made at bench time.

usage: make_bench_scan.py OUT.mhd I J K
"""
import os, sys
import numpy as np

out, (ni, nj, nk) = sys.argv[1], map(int, sys.argv[2:5])
rng = np.random.default_rng(7)
raw = out[:-4] + ".raw"
# MetaImage stores i fastest: a C-order array indexed [k, j, i], written slice by slice.
i = np.arange(ni, dtype=np.float32)[None, :]
j = np.arange(nj, dtype=np.float32)[:, None]
with open(raw, "wb") as f:
    for k in range(nk):
        r = ((i - ni / 2) / (0.42 * ni)) ** 2 + ((j - nj / 2) / (0.35 * nj)) ** 2 + ((k - nk / 2) / (0.48 * nk)) ** 2
        s = np.where(r < 1, 40.0, -1000.0) + rng.normal(0, 20, (nj, ni))
        s[rng.random((nj, ni)) < 1e-3] = 900
        f.write(s.astype("<i2").tobytes())
with open(out, "w") as f:
    f.write(f"""ObjectType = Image
NDims = 3
BinaryData = True
BinaryDataByteOrderMSB = False
CompressedData = False
TransformMatrix = 1 0 0 0 1 0 0 0 1
Offset = -180 -180 -300
ElementSpacing = 0.7 0.7 2
DimSize = {ni} {nj} {nk}
ElementType = MET_SHORT
ElementDataFile = {os.path.basename(raw)}
""")
