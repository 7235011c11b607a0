#!/bin/sh
# Run the whole suite against build/ and then build-asan/ (sanitizers), and
# end with one summary line: "N passed, N failed".
# Usage: tests/run.sh [BUILD_DIR...]   (default: build build-asan)
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3   # Debian's python, where python3-numpy/mpmath/sklearn live
dirs=${*:-build build-asan}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# LeakSanitizer needs ptrace, which some sandboxes forbid; leaks are still
# checked where it works (SOFTENT_LSAN=1).
export ASAN_OPTIONS="detect_leaks=${SOFTENT_LSAN:-0}:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

for build in $dirs; do
    if [ ! -x "$build/softent" ]; then
        echo "FAIL [$build] build: $build/softent is missing (run make)" | tee -a "$log"
        continue
    fi
    for t in tests/test_*.py; do
        name=$(basename "$t" .py)
        out=$(SOFTENT_BUILD="$build" timeout 600 "$PY" "$t" "$build" 2>&1)
        rc=$?
        echo "$out" | grep -E '^(PASS|FAIL)' | sed "s|^\(PASS\|FAIL\) |\1 [$build] $name: |" | tee -a "$log"
        if [ $rc -ne 0 ] && ! echo "$out" | grep -q '^FAIL'; then
            echo "FAIL [$build] $name: exited $rc" | tee -a "$log"
            echo "$out" | tail -20
        fi
    done
done
passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
