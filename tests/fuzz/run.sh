#!/bin/sh
# Run every fuzzer (build-fuzz/fuzz/fuzz_*, `make fuzzers`) for SECONDS on
# its seeds (tests/fuzz/make-seeds.py) and its regressions
# (tests/fuzz/regressions/<harness>/, each a minimized input that once
# crashed), after running each regression once on its own.  One line per
# harness: "PASS fuzz_npy: N runs in S s, E edges" or "FAIL ...: what and
# where the input was kept".
#   tests/fuzz/run.sh SECONDS [FUZZ_BUILD] [BUILD] [HARNESS...]
#   (defaults build-fuzz, build, and every harness; FUZZ_OUT=DIR keeps the
#   corpora, logs and crashing inputs there instead of a new temporary directory)
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:?usage: tests/fuzz/run.sh SECONDS [FUZZ_BUILD] [BUILD]}
FB=${2:-build-fuzz}
B=${3:-build}
[ $# -gt 3 ] && shift 3 || set --
OUT=${FUZZ_OUT:-$(mktemp -d /tmp/softent-fuzz.XXXXXX)}
mkdir -p "$OUT/seeds" "$OUT/artifacts"
# leaks are findings too where LeakSanitizer can run (SOFTENT_LSAN=1)
export ASAN_OPTIONS="detect_leaks=${SOFTENT_LSAN:-0}:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1
if ! /usr/bin/python3 tests/fuzz/make-seeds.py "$OUT/seeds" "$B" > "$OUT/seeds.log" 2>&1; then
    echo "FAIL fuzz: making the seeds failed:"; tail -5 "$OUT/seeds.log"; exit 1
fi
status=0
[ $# -eq 0 ] && set -- "$FB"/fuzz/fuzz_*
for h in "$@"; do
    case "$h" in *.d) continue ;; */*) ;; *) h=$FB/fuzz/$h ;; esac
    name=$(basename "$h")
    reg=tests/fuzz/regressions/$name
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
        if ! "$h" "$reg"/* > "$OUT/$name.regressions.log" 2>&1; then
            echo "FAIL $name: a regression input fails again: $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$OUT/$name.regressions.log") (log $OUT/$name.regressions.log)"
            status=1
            continue
        fi
    fi
    mkdir -p "$OUT/corpus/$name"
    dirs="$OUT/corpus/$name $OUT/seeds/$name"
    [ -d "$reg" ] && dirs="$dirs $reg"
    # shellcheck disable=SC2086
    "$h" -max_total_time="$SECONDS_EACH" -timeout=10 -malloc_limit_mb=2048 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$name-" $dirs > "$OUT/$name.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$name.log" | tail -1)
    edges=$(grep -o 'cov: [0-9]*' "$OUT/$name.log" | tail -1 | cut -d' ' -f2)
    if [ $rc -ne 0 ]; then
        echo "FAIL $name: $(grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$OUT/$name.log") (input kept in $OUT/artifacts, log $OUT/$name.log)"
        status=1
    else
        echo "PASS $name: ${runs:-?} runs in $SECONDS_EACH s, ${edges:-?} edges, 0 crashes"
    fi
done
exit $status
