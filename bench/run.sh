#!/bin/sh
# Run the benchmarks named by the issues; each prints its figure beside the
# baseline measured in the same run.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p "$BUILD/bench"
cc -O2 -I/usr/include/$(cc -print-multiarch)/openblas-openmp bench/sgemm_rate.c -o "$BUILD/bench/sgemm_rate" \
    -L/usr/lib/$(cc -print-multiarch)/openblas-openmp -Wl,-rpath,/usr/lib/$(cc -print-multiarch)/openblas-openmp -lopenblas
/usr/bin/python3 bench/bench_estimate.py "$BUILD" "$@"
/usr/bin/python3 bench/bench_tokenizer.py "$BUILD"
/usr/bin/python3 bench/bench_forward.py "$BUILD"
/usr/bin/python3 bench/bench_prefill.py "$BUILD"
/usr/bin/python3 bench/bench_analyze.py "$BUILD"
/usr/bin/python3 bench/bench_train.py "$BUILD"
/usr/bin/python3 bench/bench_mpi.py "$BUILD"
if [ -d out/kjv/run/step-1000 ]; then
    /usr/bin/python3 bench/bench_statistics.py "$BUILD"
else
    echo "bench_statistics: skipped (run the main job first: make demo)"
fi
