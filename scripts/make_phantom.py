#!/usr/bin/env python3
"""Writes a synthetic chest-CT-like phantom as a MetaImage file (.mha, int16 HU, zlib-compressed),
the format LUNA16 ships its scans in. numpy only; seeded, so the same arguments give the same bytes.

The phantom: air (-1000 HU) around an elliptic body (skin and fat at about -100 HU, muscle at 40),
two lungs (about -850 HU) with branching vessels (40 HU) and a few nodules (0 to 60 HU), a heart
between them (40 HU), a spine and ribs (400 to 1000 HU), and CT-like noise (sigma 12 HU, lightly
smoothed). It is what `make demo` runs the default model on, and what `scripts/make_default_model.sh`
samples the default model's pretraining cubes from. It is not anatomy: it is a test object with the
intensities and textures that make the Models Genesis transforms meaningful.

    python3 scripts/make_phantom.py --shape 96,96,48 --seed 1 --out zoo/sample/chest_phantom.mha
"""
import argparse
import zlib

import numpy as np


def ellipsoid(grid, centre, radii):
    (x, y, z) = grid
    return ((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2 + ((z - centre[2]) / radii[2]) ** 2


def smooth(a, passes=1):
    """A separable [1, 2, 1] / 4 blur along each axis (edges repeated)."""
    for _ in range(passes):
        for axis in range(a.ndim):
            p = np.concatenate([a.take([0], axis), a, a.take([-1], axis)], axis)
            n = a.shape[axis]
            a = 0.25 * p.take(range(0, n), axis) + 0.5 * p.take(range(1, n + 1), axis) + 0.25 * p.take(range(2, n + 2), axis)
    return a


def vessels(rng, lung, shape, count):
    """Random-walk tubes inside the lungs, thinning as they go."""
    out = np.zeros(shape, dtype=bool)
    (X, Y, Z) = shape
    idx = np.argwhere(lung)
    if len(idx) == 0:
        return out
    grid = np.ogrid[0:X, 0:Y, 0:Z]
    for _ in range(count):
        p = idx[rng.integers(len(idx))].astype(float)
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        r = rng.uniform(1.2, 2.2)
        for _ in range(int(rng.integers(12, 30))):
            lo = np.maximum(np.floor(p - r - 1).astype(int), 0)
            hi = np.minimum(np.ceil(p + r + 2).astype(int), [X, Y, Z])
            if np.any(hi <= lo):
                break
            sub = tuple(slice(lo[a], hi[a]) for a in range(3))
            g = (grid[0][sub[0], :, :], grid[1][:, sub[1], :], grid[2][:, :, sub[2]])
            out[sub] |= ((g[0] - p[0]) ** 2 + (g[1] - p[1]) ** 2 + (g[2] - p[2]) ** 2) <= r * r
            d = d + rng.normal(scale=0.35, size=3)
            d /= np.linalg.norm(d)
            p = p + d * max(r, 1.0) * 1.5
            r = max(0.7, r * 0.96)
    return out & lung


def phantom(shape, seed):
    rng = np.random.default_rng(seed)
    (X, Y, Z) = shape
    grid = np.ogrid[0:X, 0:Y, 0:Z]
    c = np.array([X / 2, Y / 2, Z / 2])
    hu = np.full(shape, -1000.0)

    # Body: an elliptic cylinder along z, slightly varying along z.
    bx, by = X * rng.uniform(0.40, 0.46), Y * rng.uniform(0.30, 0.36)
    x, y, z = grid
    wobble = 1.0 + 0.03 * np.sin(2 * np.pi * z / max(Z, 1) + rng.uniform(0, 6.3))
    body_r = ((x - c[0]) / (bx * wobble)) ** 2 + ((y - c[1]) / (by * wobble)) ** 2
    body = body_r <= 1.0
    hu[body] = -100.0  # fat
    muscle = body_r <= 0.82
    hu[muscle] = 40.0

    # Lungs: two ellipsoids, left and right of the centre, the full height but for the ends.
    lungs = np.zeros(shape, dtype=bool)
    for side in (-1, 1):
        lc = c + np.array([side * bx * rng.uniform(0.42, 0.50), rng.uniform(-0.05, 0.05) * by, 0.0])
        lr = np.array([bx * rng.uniform(0.34, 0.40), by * rng.uniform(0.55, 0.65), Z * rng.uniform(0.55, 0.75)])
        lungs |= ellipsoid(grid, lc, lr) <= 1.0
    lungs &= muscle
    hu[lungs] = -850.0 + 25.0 * smooth(rng.normal(size=shape), 2)[lungs]

    # Heart between the lungs, in front.
    heart = ellipsoid(grid, c + np.array([bx * 0.05, -by * 0.25, 0.0]),
                      np.array([bx * 0.28, by * 0.30, Z * 0.35])) <= 1.0
    hu[heart & muscle] = 40.0
    lungs &= ~heart

    # Vessels and nodules inside the lungs.
    hu[vessels(rng, lungs, shape, count=max(4, (X * Y * Z) // 20000))] = 40.0
    idx = np.argwhere(lungs)
    for _ in range(int(rng.integers(2, 5))):
        if len(idx) == 0:
            break
        p = idx[rng.integers(len(idx))]
        r = rng.uniform(2.0, 4.5)
        hu[(ellipsoid(grid, p, [r, r, r * 0.8]) <= 1.0) & lungs] = rng.uniform(0.0, 60.0)

    # Spine behind, ribs as thin shells at the edge of the muscle.
    spine = ((x - c[0]) / (bx * 0.12)) ** 2 + ((y - (c[1] + by * 0.70)) / (by * 0.14)) ** 2 <= 1.0
    hu[spine & body] = 700.0 + 250.0 * smooth(rng.normal(size=shape), 1)[spine & body]
    rib_band = (body_r > 0.84) & (body_r <= 0.90)
    rib_z = (np.sin(2 * np.pi * z / max(6.0, Z / 6.0)) > 0.55)
    hu[rib_band & rib_z] = 400.0

    # CT noise, lightly correlated.
    hu += 12.0 * smooth(rng.normal(size=shape), 1) * 2.0
    return np.clip(np.round(hu), -1024, 3071).astype(np.int16)


def write_mha(path, volume, spacing, origin):
    """MetaImage, header and zlib-compressed data in one file, as SimpleITK writes .mha.
    `volume` is indexed (i, j, k); MetaImage stores i fastest."""
    data = zlib.compress(np.ascontiguousarray(volume.transpose(2, 1, 0)).astype('<i2').tobytes(), 6)
    X, Y, Z = volume.shape
    header = "\n".join([
        "ObjectType = Image",
        "NDims = 3",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        "CompressedData = True",
        f"CompressedDataSize = {len(data)}",
        "TransformMatrix = 1 0 0 0 1 0 0 0 1",
        "Offset = " + " ".join(f"{v:g}" for v in origin),
        "CenterOfRotation = 0 0 0",
        "AnatomicalOrientation = RAI",
        "ElementSpacing = " + " ".join(f"{v:g}" for v in spacing),
        f"DimSize = {X} {Y} {Z}",
        "ElementType = MET_SHORT",
        "ElementDataFile = LOCAL",
    ]) + "\n"
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="96,96,48", help="i,j,k voxels")
    ap.add_argument("--spacing", default="0.8,0.8,2.5", help="mm along i,j,k")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    shape = tuple(int(v) for v in a.shape.split(","))
    spacing = [float(v) for v in a.spacing.split(",")]
    origin = [-0.5 * (n - 1) * s for n, s in zip(shape, spacing)]
    write_mha(a.out, phantom(shape, a.seed), spacing, origin)


if __name__ == "__main__":
    main()
