"""Looks for damaged Keras HDF5 files that kill libhdf5 in-process: overwrites a few bytes of a
file's metadata (seeded), reads each variant with `genesis inspect` in-process
(GENESIS_HDF5_IN_PROCESS=1) and prints one JSON line per variant that died by a signal or hung.

usage: python3 scripts/find_hdf5_crashes.py GENESIS FILE.h5 FIRST_SEED COUNT [OUT_DIR]

A variant is `damage(data, seed)`: reproducible from the seed alone (Tests/CLITests uses the
same recipe), so a finding is kept as its seed, not as a file.
"""
import json, os, random, signal, subprocess, sys, tempfile


def metadata_ranges(data):
    """Byte ranges that are not tensor data: the first 4 KiB (superblock, root object header,
    B-tree and heap of the root group) and every 512-byte block holding 'TREE', 'HEAP', 'SNOD',
    'OHDR' signatures or attribute names."""
    ranges = [(0, min(len(data), 4096))]
    for sig in (b"TREE", b"HEAP", b"SNOD", b"OHDR", b"GCOL"):
        i = data.find(sig, 4096)
        while i >= 0:
            ranges.append((i, min(len(data), i + 512)))
            i = data.find(sig, i + 4)
    return ranges


def damage(data, seed):
    """1-4 overwrites of 1-4 random bytes each, inside metadata ranges."""
    rng = random.Random(seed)
    out = bytearray(data)
    ranges = metadata_ranges(data)
    for _ in range(rng.randint(1, 4)):
        a, b = rng.choice(ranges)
        at = rng.randrange(a, b)
        for k in range(rng.randint(1, 4)):
            if at + k < len(out):
                out[at + k] = rng.randrange(256)
    return bytes(out)


def main():
    genesis, path, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    out_dir = sys.argv[5] if len(sys.argv) > 5 else tempfile.mkdtemp(prefix="genesis-crash-")
    data = open(path, "rb").read()
    env = dict(os.environ, GENESIS_HDF5_IN_PROCESS="1")
    work = os.path.join(out_dir, "variant.h5")
    for seed in range(first, first + count):
        with open(work, "wb") as f:
            f.write(damage(data, seed))
        try:
            r = subprocess.run([genesis, "inspect", "--json", work], env=env, capture_output=True, timeout=30)
            code = r.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        if code == "timeout" or code < 0:
            name = code if code == "timeout" else signal.Signals(-code).name
            print(json.dumps({"seed": seed, "death": name, "stderr": (r.stderr.decode(errors="replace")[-200:] if code != "timeout" else "")}), flush=True)


if __name__ == "__main__":
    main()
