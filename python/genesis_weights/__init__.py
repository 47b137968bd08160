"""The `genesis` command for Models Genesis weights, shipped as a native binary.

The wheel carries the `genesis` executable (Swift runtime linked in), its HDF5 sandbox helper,
the libraries they need (libhdf5, OpenBLAS, libnifti2, libpng, ...; found through the
binaries' RPATH) and the model zoo's manifests. Installing it puts `genesis` on PATH; this
module finds the binary and runs it:

    >>> import genesis_weights
    >>> genesis_weights.binary_path()
    '/.../site-packages/genesis_weights/bin/genesis'
    >>> genesis_weights.run(["verify", "model.h5"]).returncode
    0

`python -m genesis_weights ARGS` is the same as `genesis ARGS`.
"""

import os
import subprocess
import sys

__all__ = ["binary_path", "run", "__version__"]

__version__ = "@VERSION@"

_HERE = os.path.dirname(os.path.abspath(__file__))


def binary_path() -> str:
    """The path of the `genesis` executable inside this package."""
    return os.path.join(_HERE, "bin", "genesis")


def run(args, **kwargs) -> "subprocess.CompletedProcess":
    """Runs `genesis ARGS` and returns the `subprocess.CompletedProcess`.

    `args` is a list of arguments (`["verify", "model.h5", "--json"]`); other keyword
    arguments go to `subprocess.run` (`capture_output=True, text=True`, `check=True`, ...).
    Exit codes: 0 ok, 1 checked and found problems, 2 unreadable input or bad usage.
    """
    if isinstance(args, (str, bytes)):
        raise TypeError("args is a list of arguments, e.g. ['verify', 'model.h5']")
    return subprocess.run([binary_path(), *[os.fspath(a) for a in args]], **kwargs)


def main() -> None:
    """The `genesis` console script and `python -m genesis_weights`: becomes the binary."""
    binary = binary_path()
    try:
        os.execv(binary, [binary, *sys.argv[1:]])
    except OSError as e:
        sys.stderr.write(f"genesis: error: cannot start {binary}: {e.strerror}\n")
        sys.exit(2)
