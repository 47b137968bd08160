#!/bin/sh
# Damaged-file run for RELIABILITY.md: the DamagedFilesCLITests generator at N times the
# truncations and bit flips per source file that `make test` uses (N=1: 272 files),
# every file through inspect, verify and convert (run and preview for .npy) under the test's
# memory bound. Prints the outcome table and writes it to $GENESIS_DAMAGED_REPORT
# (default: damaged-files-report.md).
#   scripts/damaged_files.sh 3             # 668 files
#   GENESIS_DAMAGED_HDF5_FLIPS=0 scripts/damaged_files.sh 3   # without HDF5 bit flips (see RELIABILITY.md)
set -eu
N=${1:-3}
cd "$(dirname "$0")/.."
export GENESIS_DAMAGED_SCALE="$N"
export GENESIS_DAMAGED_REPORT="${GENESIS_DAMAGED_REPORT:-$PWD/damaged-files-report.md}"
swift build --product genesis
swift build --build-tests
status=0
swift test --disable-swift-testing --skip-build --filter DamagedFilesCLITests.testDamagedFilesOfEveryKindEndCleanly || status=$?
cat "$GENESIS_DAMAGED_REPORT"
exit $status
