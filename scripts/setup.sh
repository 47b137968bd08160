#!/usr/bin/env bash
# Installs what `genesis` needs to build on a fresh Debian machine: libhdf5 (serial),
# OpenBLAS, zlib, libpng, the NIfTI C library, Open MPI and pkg-config, through apt-get when any is missing. Idempotent and quiet when
# everything is there.
set -euo pipefail

packages=(libhdf5-dev libopenblas-dev zlib1g-dev libpng-dev libnifti2-dev libopenmpi-dev openmpi-bin pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for m in hdf5-serial openblas zlib libpng ompi-c; do
    pkg-config --exists "$m" || { echo "setup: pkg-config cannot find $m after installing" >&2; exit 1; }
done
[ -f /usr/include/nifti/nifti2_io.h ] || { echo "setup: no NIfTI headers (/usr/include/nifti/nifti2_io.h) after installing libnifti2-dev" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "setup: no mpirun after installing openmpi-bin" >&2; exit 1; }
command -v swift >/dev/null || { echo "setup: no Swift toolchain on PATH (Swift 5.9 or newer is needed)" >&2; exit 1; }
