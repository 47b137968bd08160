#!/usr/bin/env python3
"""Packs a staged release (scripts/dist.sh) into a wheel, by hand: a zip with the package,
its .dist-info (METADATA, WHEEL, entry_points.txt, RECORD with every file's SHA-256).

    make_wheel.py --stage DIR --package python/genesis_weights --version V --tag PLATFORM \
                  --readme FILE --out-dir dist

DIR is the release's prefix (bin/, lib/, share/); it goes into the package as
genesis_weights/{bin,lib,share}, so the binaries' RPATH ($ORIGIN/../lib) and the zoo's place
(bin/../share/genesis/zoo) are the same as in the tarball. Prints the wheel's path.
"""

import argparse
import base64
import hashlib
import os
import stat
import sys
import zipfile

NAME = "genesis_weights"
DIST = "genesis-weights"


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--stage", required=True)
    p.add_argument("--package", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--tag", required=True, help="platform tag, e.g. manylinux_2_36_x86_64")
    p.add_argument("--readme", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--epoch", type=int, default=315532800, help="timestamp of every entry (SOURCE_DATE_EPOCH)")
    a = p.parse_args()

    entries = []  # (archive name, bytes, executable)

    for name in sorted(os.listdir(a.package)):
        path = os.path.join(a.package, name)
        if not name.endswith(".py"):
            continue
        text = open(path, encoding="utf-8").read().replace("@VERSION@", a.version)
        entries.append((f"{NAME}/{name}", text.encode(), False))

    for root, dirs, files in os.walk(a.stage):
        dirs.sort()
        for f in sorted(files):
            full = os.path.join(root, f)
            if os.path.islink(full):
                raise SystemExit(f"make_wheel: {full} is a symbolic link; the stage must hold regular files")
            rel = os.path.relpath(full, a.stage)
            mode = os.stat(full).st_mode
            entries.append((f"{NAME}/{rel}", open(full, "rb").read(), bool(mode & stat.S_IXUSR)))

    info = f"{NAME}-{a.version}.dist-info"
    readme = open(a.readme, encoding="utf-8").read()
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {DIST}",
        f"Version: {a.version}",
        "Summary: genesis: Models Genesis weights (Keras .h5, PyTorch .pt, ...) verified, converted with proof, run and trained; a self-contained native command",
        "License: MIT (genesis); the shipped libraries under their own licences (genesis_weights/share/genesis/licenses)",
        "Requires-Python: >=3.8",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: Swift",
        "Classifier: Topic :: Scientific/Engineering :: Medical Science Apps.",
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])
    wheel = "\n".join([
        "Wheel-Version: 1.0",
        "Generator: genesis scripts/make_wheel.py",
        "Root-Is-Purelib: false",
        f"Tag: py3-none-{a.tag}",
        "",
    ])
    entry_points = "[console_scripts]\ngenesis = genesis_weights:main\n"
    entries += [
        (f"{info}/METADATA", metadata.encode(), False),
        (f"{info}/WHEEL", wheel.encode(), False),
        (f"{info}/entry_points.txt", entry_points.encode(), False),
        (f"{info}/top_level.txt", f"{NAME}\n".encode(), False),
    ]
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d, _ in entries) + f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode(), False))

    os.makedirs(a.out_dir, exist_ok=True)
    out = os.path.join(a.out_dir, f"{NAME}-{a.version}-py3-none-{a.tag}.whl")
    import time
    stamp = time.gmtime(max(a.epoch, 315532800))[:6]
    with zipfile.ZipFile(out + ".part", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n, d, exe in entries:
            zi = zipfile.ZipInfo(n, date_time=stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = ((0o100755 if exe else 0o100644) & 0xFFFF) << 16
            z.writestr(zi, d)
    os.replace(out + ".part", out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
