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
/usr/bin/python3 bench/bench_soft_h.py "$BUILD"
# the estimator against the product alone, in memory: 100,000 x 768 rows, m
# = 100, four label sets, in a document's batches (507) and in one batch,
# with float32 products and with the opt-in bf16 ones (--product bf16)
cc -O2 -fopenmp -Iinclude -I/usr/include/$(cc -print-multiarch)/openblas-openmp bench/estimator_rate.c "$BUILD/libsoftent.a" \
    -o "$BUILD/bench/estimator_rate" -L/usr/lib/$(cc -print-multiarch)/openblas-openmp \
    -Wl,-rpath,/usr/lib/$(cc -print-multiarch)/openblas-openmp -lopenblas -ldnnl -lcjson -lpcre2-8 -lutf8proc -lz -lm
for product in f32 bf16; do
    for batch in 507 100000; do
        echo "estimator_rate, batches of $batch rows: $("$BUILD/bench/estimator_rate" 100000 768 100 4 $batch 5 $product)"
    done
done
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
