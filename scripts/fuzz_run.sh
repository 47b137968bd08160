#!/usr/bin/env bash
# Builds the fuzz driver with libFuzzer and AddressSanitizer, then fuzzes each target in turn.
# Usage: scripts/fuzz_run.sh [TARGET...]   (default: every target; see Sources/FuzzTargets)
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_RUNS      stop a target after this many executions instead (default: time only)
#   FUZZ_NO_BUILD  set to 1 to reuse the last build
# Layout under .build-fuzz/ (the fuzz build's own scratch path, so .build is untouched):
#   corpus/T    seeds from the fixtures (scripts/fuzz_corpus.sh; made when missing)
#   work/T      inputs libFuzzer found interesting, kept across runs
#   findings/T  crash-*, timeout-*, oom-* inputs; logs/T.log  libFuzzer's output
# Seeds longer than a target's -max_len are cut to it (a short input runs many times faster).
# Leak checks are off: Foundation's FileManager.fileSystemRepresentation (under ZIPFoundation's
# Archive(url:)) never frees its buffer on Linux, which LeakSanitizer reports on the first input.
# Then scripts/fuzz_report.sh prints the table RELIABILITY.md keeps. Exit 1 when a target found
# something (its input is in findings/T), 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SECONDS_PER=${FUZZ_SECONDS:-60}
SCRATCH=.build-fuzz
BIN=$SCRATCH/release/genesis-fuzz
ALL=(pickle zip safetensors native npy keras-config metaimage onnx data-pickle)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    # -DGENESIS_FUZZ makes the driver hand main to libFuzzer; lld, because gold fails on
    # SwiftPM's `--defsym main=...` beside libFuzzer's own main.
    $SWIFT build -c release --scratch-path "$SCRATCH" --product genesis-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DGENESIS_FUZZ \
        -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
fi
[ -x "$BIN" ] || { echo "fuzz_run: no fuzz build at $BIN" >&2; exit 2; }
[ -d "$SCRATCH/corpus/pickle" ] || scripts/fuzz_corpus.sh "$SCRATCH/corpus"

dict_for() {
    case $1 in
        pickle|data-pickle) echo fuzz/pickle.dict ;;
        zip) echo fuzz/zip.dict ;;
        npy) echo fuzz/npy.dict ;;
        metaimage) echo fuzz/metaimage.dict ;;
        onnx) echo fuzz/onnx.dict ;;
        *) echo fuzz/json.dict ;;
    esac
}
max_len_for() {
    case $1 in
        pickle|data-pickle) echo 4096 ;;
        zip) echo 10240 ;;
        safetensors) echo 4096 ;;
        keras-config) echo 8192 ;;
        native) echo 2048 ;;
        npy) echo 512 ;;
        metaimage) echo 2048 ;;
        onnx) echo 4096 ;;
    esac
}

# -detect_leaks=0 stops libFuzzer's per-input leak checks; LeakSanitizer's own report at exit
# (which then writes the empty input as a "crash") needs ASAN_OPTIONS too.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/work/$t" "$SCRATCH/findings/$t" "$SCRATCH/logs"
    log=$SCRATCH/logs/$t.log
    runs=()
    [ -z "${FUZZ_RUNS:-}" ] || runs=(-runs="$FUZZ_RUNS")
    echo "fuzz_run: $t for ${SECONDS_PER}s (log $log)"
    set +e
    GENESIS_FUZZ_TARGET=$t "$BIN" -max_total_time="$SECONDS_PER" "${runs[@]}" -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 \
        -print_final_stats=1 -dict="$(dict_for "$t")" -max_len="$(max_len_for "$t")" \
        -artifact_prefix="$SCRATCH/findings/$t/" "$SCRATCH/work/$t" "$SCRATCH/corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(find "$SCRATCH/findings/$t" -type f | wc -l)
    echo "fuzz_run: $t: ${execs:-?} executions, ${rate:-?}/s, exit $rc, $found finding(s)"
    if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
        status=1
        grep -m3 -E "^==[0-9]+==ERROR|Fatal error|SUMMARY|Test unit written" "$log" || true
    fi
done
scripts/fuzz_report.sh "${TARGETS[@]}"
exit $status
