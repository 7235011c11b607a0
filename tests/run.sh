#!/bin/sh
# Run the whole suite against build/ and then build-asan/ (sanitizers), and
# end with one summary line: "N passed, N failed".
# Usage: tests/run.sh [--c-only] [BUILD_DIR...]   (default: build build-asan)
#   --c-only   the C unit tests (BUILD/tests/c/test_*) alone, no Python
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3   # Debian's python, where python3-numpy/mpmath/sklearn live
c_only=0
if [ "${1:-}" = "--c-only" ]; then c_only=1; shift; fi
dirs=${*:-build build-asan}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# LeakSanitizer needs ptrace, which some sandboxes forbid; leaks are still
# checked where it works (SOFTENT_LSAN=1).
export ASAN_OPTIONS="detect_leaks=${SOFTENT_LSAN:-0}:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One test program: its PASS/FAIL lines, tagged with the build and its name;
# a nonzero exit without a FAIL line is a failure too.
run_one() {
    build=$1 name=$2
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    echo "$out" | grep -E '^(PASS|FAIL)' | sed -E "s#^(PASS|FAIL) #\1 [$build] $name: #" | tee -a "$log"
    if [ $rc -ne 0 ] && ! echo "$out" | grep -q '^FAIL'; then
        echo "FAIL [$build] $name: exited $rc" | tee -a "$log"
        echo "$out" | tail -20
    fi
}

for build in $dirs; do
    if [ ! -x "$build/softent" ]; then
        echo "FAIL [$build] build: $build/softent is missing (run make)" | tee -a "$log"
        continue
    fi
    # the C unit tests, one program each (tests/c/test_*.c)
    for t in "$build"/tests/c/test_*; do
        case "$t" in *.d | *'*') continue ;; esac
        run_one "$build" "$(basename "$t")" timeout 300 "$t"
    done
    [ $c_only -eq 1 ] && continue
    for t in tests/test_*.py; do
        run_one "$build" "$(basename "$t" .py)" env SOFTENT_BUILD="$build" timeout 600 "$PY" "$t" "$build"
    done
done
# the fuzzers, briefly, on their seeds and regressions (make fuzzers builds
# them; make fuzz runs a longer campaign)
if [ $c_only -eq 0 ] && [ -d build-fuzz/fuzz ]; then
    tests/fuzz/run.sh "${FUZZ_SECONDS:-5}" build-fuzz build | sed -E 's#^(PASS|FAIL) #\1 [fuzz] #' | tee -a "$log"
fi
passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
