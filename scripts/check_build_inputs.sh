#!/usr/bin/env bash
# Names every header and shared library the build takes from outside what scripts/setup.sh
# installs, so that a machine with a hand-installed header (say /usr/include/znzlib.h) or
# library cannot make CI pass where a fresh machine fails.
#
#   scripts/check_build_inputs.sh [BINARY...]   (default: the debug and release genesis, genesis-hdf5-helper and the test bundle, those built)
#
# Headers: every header the C modules' headers reach (clang -M on each module header, with the
# flags SwiftPM gives it: pkg-config's and the C targets' include folders). Libraries: what
# ldd resolves for the binaries. Each file must belong to a Debian package that setup.sh's
# packages pull in (their dependencies, recursively) or to the C/C++ runtime the toolchain
# builds against (libc6-dev, libstdc++, libgcc); /opt/swift and the work tree count as the
# toolchain's and the project's. Prints one line; exit 1 when anything came from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_packages=$(sed -n 's/^packages=(\(.*\))$/\1/p' scripts/setup.sh)
[ -n "$setup_packages" ] || { echo "check_build_inputs: no packages=(...) line in scripts/setup.sh" >&2; exit 2; }
runtime_packages="libc6 libc6-dev linux-libc-dev libgcc-s1 libstdc++6 libgcc-12-dev libstdc++-12-dev"

binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
    for b in .build/debug/genesis .build/debug/genesis-hdf5-helper .build/debug/genesisPackageTests.xctest .build/release/genesis .build/release/genesis-hdf5-helper; do
        [ -e "$b" ] && binaries+=("$b")
    done
fi
[ ${#binaries[@]} -gt 0 ] || { echo "check_build_inputs: nothing built yet (swift build first)" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Headers, through the same search path SwiftPM gives the modules.
cflags=$(pkg-config --cflags hdf5-serial openblas zlib libpng ompi-c)
includes=()
for d in Sources/*/include; do includes+=(-I "$d"); done
for h in Sources/*/shim.h Sources/*/include/*.h; do
    # shellcheck disable=SC2086
    clang -M -x c $cflags "${includes[@]}" "$h" >"$scratch/deps" 2>"$scratch/clang.err" || {
        echo "build inputs: clang cannot preprocess $h with setup.sh's packages: $(head -n 1 "$scratch/clang.err")"; exit 1; }
    tr ' ' '\n' <"$scratch/deps" | sed 's/\\$//' | { grep '^/' || true; } >>"$scratch/files"
done
headers=$(sort -u "$scratch/files" | grep -v -E "^($PWD|/opt/swift)/" | wc -l)

# Libraries the binaries load.
for b in "${binaries[@]}"; do
    ldd "$b" | awk '/=> \// { print $3 } /^\t\// { print $1 }' >>"$scratch/libs"
done
libraries=$(sort -u "$scratch/libs" | grep -v -E "^($PWD|/opt/swift)/" | wc -l)
sort -u "$scratch/libs" >>"$scratch/files"

# The packages setup.sh brings in (with their dependencies) and the C/C++ runtime.
# shellcheck disable=SC2086
apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
    $setup_packages $runtime_packages 2>/dev/null | sed -n 's/^\([a-z0-9][^ :<>]*\)\(:amd64\)\?$/\1/p; s/^ *Depends: \([a-z0-9][^ :<>]*\).*$/\1/p' \
    | sort -u >"$scratch/allowed"

# Which package owns each file: one pass over dpkg's file lists. Debian 12 merges /lib into
# /usr/lib, so a package may record either spelling (or the target of a symbolic link).
while read -r f; do
    case "$f" in "$PWD"/*|/opt/swift/*) continue ;; esac
    r=$(readlink -f "$f")
    printf '%s\t%s\n' "$f" "$f" "$f" "$r" "$f" "${f#/usr}" "$f" "/usr$f" "$f" "${r#/usr}" "$f" "/usr$r"
done < <(sort -u "$scratch/files") | awk -F'\t' 'NF == 2' | sort -u >"$scratch/spellings"
cut -f2 "$scratch/spellings" | sort -u >"$scratch/wanted"
awk 'NR == FNR { want[$0] = 1; next }
     FNR == 1 { pkg = FILENAME; sub(/.*\//, "", pkg); sub(/\.list$/, "", pkg); sub(/:.*/, "", pkg) }
     $0 in want { print $0 "\t" pkg }' "$scratch/wanted" /var/lib/dpkg/info/*.list | sort -u >"$scratch/owners"

outside=()
while read -r f; do
    owner=$(awk -F'\t' -v f="$f" '$1 == f { print $2 }' "$scratch/spellings" | while read -r s; do
        awk -F'\t' -v s="$s" '$1 == s { print $2; exit }' "$scratch/owners"; done | head -n 1)
    if [ -z "$owner" ]; then
        outside+=("$f (no package)")
    elif ! grep -qx "$owner" "$scratch/allowed"; then
        outside+=("$f ($owner)")
    fi
done < <(cut -f1 "$scratch/spellings" | sort -u)

if [ ${#outside[@]} -gt 0 ]; then
    echo "build inputs outside scripts/setup.sh: ${outside[*]}"
    exit 1
fi
echo "build inputs: $headers headers and $libraries libraries, all from scripts/setup.sh's packages ($setup_packages), their dependencies and the C runtime; nothing from elsewhere"
