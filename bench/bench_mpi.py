"""Benchmark of softent across processes (issue: MPI, resume, merge):

  1. strong scaling of analyze, interleaved rounds on this machine: 1 rank
     of 1 thread (the baseline), 2 MPI ranks of 1 thread each, and 1 rank of
     2 threads; wall time, median over rounds, and each ratio to the
     baseline;
  2. the reduction's cost against the state's size: a shard's accumulator
     serialised (softent_acc_serialize) and absorbed by rank 0
     (softent_acc_absorb), for shards of growing row counts, with the null
     and the bootstrap (whose stored rows are most of the bytes); MB and
     seconds of each, and MB/s.  Over MPI the bytes travel once besides.

Usage: /usr/bin/python3 bench/bench_mpi.py [BUILD_DIR] [--docs N] [--len L] [--rounds R]
"""
import argparse
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import bench_analyze  # noqa: E402
import bench_forward  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def scaling(build, docs, length, rounds):
    work = tempfile.mkdtemp(prefix="mpi-bench-")
    try:
        # a smaller llama than the forward benchmark's, so that rounds are short
        bench_forward.D, bench_forward.FF, bench_forward.LAYERS, bench_forward.HEADS = 256, 704, 4, 4
        model = os.path.join(work, "llama")
        params = bench_forward.write_llama(model)
        bench_analyze.byte_tokenizer(os.path.join(model, "tokenizer.json"))
        with open(os.path.join(work, "corpus.txt"), "w") as f:
            f.write("\n".join(bench_analyze.corpus(docs, length)) + "\n")
        args = [os.path.join(build, "softent"), "analyze", model, os.path.join(work, "corpus.txt"), "--max-length", str(length),
                "--null", "20", "--bootstrap", "50", "--quiet", "--checkpoint-seconds", "0"]
        configs = {"1 rank x 1 thread": ([], "1"), "2 ranks x 1 thread": (["mpirun", "-n", "2", "--bind-to", "none"], "1"),
                   "1 rank x 2 threads": ([], "2")}
        print(f"== analyze strong scaling: llama {params / 1e6:.1f}M float32, {docs} documents x {length} tokens, "
              f"n-grams 1,2,3, all {bench_forward.LAYERS + 1} hidden states, --null 20 --bootstrap 50; {rounds} interleaved rounds")
        times = {k: [] for k in configs}
        for r in range(rounds):
            for name, (prefix, threads) in configs.items():
                out = os.path.join(work, f"out{r}")
                t0 = time.perf_counter()
                subprocess.run(prefix + args + ["--out", out], check=True, env=dict(ENV, OMP_NUM_THREADS=threads),
                               stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - t0)
                shutil.rmtree(out)
        base = statistics.median(times["1 rank x 1 thread"])
        for name, t in times.items():
            med = statistics.median(t)
            print(f"  {name:20s} median {med:6.2f} s   speed-up {base / med:4.2f}x against 1 rank x 1 thread   ({', '.join(f'{x:.2f}' for x in t)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def reduction(build):
    os.environ["SOFTENT_LIBRARY"] = os.path.join(os.path.abspath(build), "libsoftent.so.0")
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    import softent
    from softent._lib import lib
    print("== the reduction: a shard serialised and absorbed (d = 768, m = 100, trigram-like labels, --null 20 --bootstrap 50)")
    rng = np.random.default_rng(0)
    for rows in (4096, 16384, 65536):
        y = rng.zipf(1.3, 2 * rows) % 20000
        z = rng.standard_normal((2 * rows, 768)).astype(np.float32)
        parts = []
        for first in (0, rows):
            a = softent.Accumulator(768, bins=100, null=20, bootstrap=50)
            a.count({"y": y})
            a.set_first_row(first)
            a.update(z[first:first + rows], start=first)
            parts.append(a)
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        t0 = time.perf_counter()
        if lib.softent_acc_serialize(parts[1]._h(), ctypes.byref(data), ctypes.byref(size)):
            raise SystemExit("serialize failed")
        t1 = time.perf_counter()
        if lib.softent_acc_absorb(parts[0]._h(), data, size):
            raise SystemExit("absorb failed")
        t2 = time.perf_counter()
        ctypes.CDLL(None).free(data)
        mb = size.value / 1e6
        print(f"  shard of {rows:6d} rows: {mb:7.1f} MB; serialise {t1 - t0:6.3f} s ({mb / (t1 - t0):6.0f} MB/s), "
              f"absorb {t2 - t1:6.3f} s ({mb / (t2 - t1):6.0f} MB/s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--docs", type=int, default=192)
    ap.add_argument("--len", type=int, default=256, dest="doc_len")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if shutil.which("mpirun") is None:
        raise SystemExit("bench_mpi: mpirun is not installed (scripts/install-deps.sh installs Open MPI)")
    scaling(a.build, a.docs, a.doc_len, a.rounds)
    reduction(a.build)


if __name__ == "__main__":
    main()
