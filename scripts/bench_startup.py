#!/usr/bin/env python3
"""Start-up time of `genesis` builds: the median wall time of N runs of one command per
binary (default `--version`, 20 runs, after one unmeasured warm-up run), and each file's size.

    scripts/bench_startup.py [--runs 20] [--args="--version"] LABEL=PATH [LABEL=PATH ...]

Prints one line per binary: label, median and min/max in milliseconds, size in MB.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--args", default="--version")
    p.add_argument("binaries", nargs="+", help="LABEL=PATH")
    a = p.parse_args()
    args = shlex.split(a.args)
    for item in a.binaries:
        label, _, path = item.partition("=")
        cmd = [path, *args]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times = []
        for _ in range(a.runs):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append((time.perf_counter() - t) * 1000)
        size = os.path.getsize(os.path.realpath(path)) / 1e6
        print(f"{label}\t{a.args}\tmedian {statistics.median(times):.1f} ms\t(min {min(times):.1f}, max {max(times):.1f}, {a.runs} runs)\t{size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
