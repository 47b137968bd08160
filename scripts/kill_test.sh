#!/bin/sh
# Kill test for RELIABILITY.md: N runs of `genesis pretrain --checkpoint-every 1` killed with
# SIGKILL after a random delay (N/3 per checkpoint format: .genesis, .pt, .h5), each checkpoint
# verified and resumed to the end (KillTestCLITests; `make test` runs 21). Prints the table and
# writes it to $GENESIS_KILL_REPORT (default: kill-test-report.md).
#   scripts/kill_test.sh 60
set -eu
N=${1:-60}
cd "$(dirname "$0")/.."
export GENESIS_KILL_TRIALS="$N"
export GENESIS_KILL_REPORT="${GENESIS_KILL_REPORT:-$PWD/kill-test-report.md}"
swift build --product genesis
swift build --build-tests
status=0
swift test --disable-swift-testing --skip-build --filter KillTestCLITests || status=$?
cat "$GENESIS_KILL_REPORT"
exit $status
