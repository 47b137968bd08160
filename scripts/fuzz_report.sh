#!/usr/bin/env bash
# The table of the last fuzz run of each target (from .build-fuzz/logs/T.log, written by
# scripts/fuzz_run.sh), in Markdown, for RELIABILITY.md.
# Usage: scripts/fuzz_report.sh [TARGET...]   (default: every target with a log)
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=.build-fuzz
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    for f in "$SCRATCH"/logs/*.log; do [ -e "$f" ] && TARGETS+=("$(basename "$f" .log)"); done
fi
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1 || true; }
echo "| target | executions | exec/s | seconds | corpus inputs | peak RSS (MB) | findings |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in "${TARGETS[@]}"; do
    log=$SCRATCH/logs/$t.log
    [ -f "$log" ] || { echo "| $t | no log | | | | | |"; continue; }
    execs=$(stat number_of_executed_units "$log")
    rate=$(stat average_exec_per_sec "$log")
    rss=$(stat peak_rss_mb "$log")
    secs=$(grep -oE "Done [0-9]+ runs in [0-9]+ second" "$log" | tail -1 | awk '{print $5}' || true)
    corpus=$(find "$SCRATCH/work/$t" -type f 2>/dev/null | wc -l)
    found=$(find "$SCRATCH/findings/$t" -type f 2>/dev/null | wc -l)
    echo "| $t | ${execs:-?} | ${rate:-?} | ${secs:-stopped} | $corpus | ${rss:-?} | $found |"
done
