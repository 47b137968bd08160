#!/bin/bash
# usage: scripts/sandbox_address_space.sh GENESIS FILE
# The smallest RLIMIT_AS (MiB, to 16 MiB) with which the HDF5 sandbox's child still reads FILE:
# runs the hidden subcommand directly, a /dev/shm file standing in for the result memfd.
G=$1; F=$2
truncate -s 0 /dev/shm/genesis-probe; truncate -s 3G /dev/shm/genesis-probe
lo=64; hi=4096
while [ $((hi-lo)) -gt 16 ]; do
  mid=$(((lo+hi)/2))
  if SWIFT_BACKTRACE=enable=no timeout 60 "$G" __read-hdf5 --address-space $((mid<<20)) --cpu 60 --open-files 32 3<"$F" 4<>/dev/shm/genesis-probe >/dev/null 2>&1 && [ "$(head -c 8 /dev/shm/genesis-probe)" = GNSBX001 ] && [ "$(od -An -tu4 -j8 -N4 /dev/shm/genesis-probe | tr -d ' ')" = 0 ]; then hi=$mid; else lo=$mid; fi
  truncate -s 0 /dev/shm/genesis-probe; truncate -s 3G /dev/shm/genesis-probe
done
echo "$F: needs about $hi MiB of address space (file $(( $(stat -c %s "$F") >> 20 )) MiB)"
rm -f /dev/shm/genesis-probe
