"""Benchmark of softent estimate against the reference Python's accumulator
(issue: the forward pass at llama.cpp's speed, and the estimator at the
sgemm limit).

In one run, on the same 100,000 x 768 float32 rows in an .npy file, m = 100,
four label sets (input/output unigram and bigram of a Zipf token stream, V
= 5000), end to end with the file read included:
  1. softent estimate (the command, every label set from .npy files),
     with float32 products (the default) and with --product bf16 (opt-in);
  2. soft_h's SoftEntropyAccumulator with its numpy backend, and
  3. with its torch-CPU backend: its update loop (per batch: normalise,
     product, softmax, then for each label set a sum over the rows of each
     value present), restated in bench_estimate.numpy_accumulator and
     bench_python.torch_accumulator, fed batches of 4096 rows as soft_h's
     LLM runner feeds it; each in a child process that reads the files.
The three alternate for --rounds rounds; best of each; the ratios against
the faster backend.  Target: >= 15x.

Usage: /usr/bin/python3 bench/bench_soft_h.py BUILD_DIR [--rows N] [--rounds R]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import bench_estimate  # noqa: E402

SETS = ("uni_in", "uni_out", "bi_in", "bi_out")
V = 5000


def child(backend, work, threads):
    """One baseline pass, files read: prints its seconds."""
    t0 = time.perf_counter()
    z = np.load(os.path.join(work, "z.npy"))
    labels = {k: np.load(os.path.join(work, k + ".npy")) for k in SETS}
    # soft_h keys an n-gram as one integer
    sets = {k: (v[:, 0] * V + v[:, 1]) if v.shape[1] == 2 else v[:, 0] for k, v in labels.items()}
    w = np.load(os.path.join(work, "w.npy"))
    eps = float(open(os.path.join(work, "eps")).read())
    if backend == "numpy":
        bench_estimate.numpy_accumulator(z, w, eps, sets, batch=4096)
    else:
        import torch
        torch.set_num_threads(threads)
        import bench_python
        bench_python.torch_accumulator(z, w, eps, sets, batch=4096)
    print(time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--child", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.work, a.threads)
        return
    work = tempfile.mkdtemp(prefix="soft-h-bench-")
    try:
        n, d, m = a.rows, 768, 100
        rng = np.random.default_rng(0)
        np.save(os.path.join(work, "z.npy"), rng.standard_normal((n, d), dtype=np.float32))
        tokens = bench_estimate.zipf_stream(n + 4, V, 1)
        uni_in, uni_out = bench_estimate.label_sets(tokens, n, 1)
        bi_in, bi_out = bench_estimate.label_sets(tokens, n, 2)
        for k, arr in zip(SETS, (uni_in, uni_out, bi_in, bi_out)):
            np.save(os.path.join(work, k + ".npy"), arr)
        import oracle
        np.save(os.path.join(work, "w.npy"), oracle.reference_points(0, m, d))
        eps = subprocess.run([os.path.join(a.build, "softent"), "calibrate", "--dim", str(d), "--bins", str(m)],
                             capture_output=True, text=True, check=True).stdout.split()[1]
        with open(os.path.join(work, "eps"), "w") as f:
            f.write(eps)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        cmd = [os.path.join(a.build, "softent"), "estimate", os.path.join(work, "z.npy"), "--quiet",
               *sum((["--labels", f"{k}={os.path.join(work, k + '.npy')}"] for k in SETS), [])]
        subprocess.run(cmd, check=True, env=env)  # warm the page cache
        print(f"== softent estimate against soft_h's accumulator: {n} x {d} float32, m = {m}, 4 label sets, "
              f"batches of 4096, {a.threads} threads, best of {a.rounds}", flush=True)
        best = {"softent": 1e30, "softent_bf16": 1e30, "numpy": 1e30, "torch": 1e30}
        for _ in range(a.rounds):
            for name, extra in (("softent", []), ("softent_bf16", ["--product", "bf16"])):
                t0 = time.perf_counter()
                subprocess.run(cmd + extra, check=True, env=env)
                best[name] = min(best[name], time.perf_counter() - t0)
            for backend in ("numpy", "torch"):
                p = subprocess.run([sys.executable, __file__, a.build, "--child", backend, "--work", work, "--threads", str(a.threads)],
                                   capture_output=True, text=True, check=True, env=env)
                best[backend] = min(best[backend], float(p.stdout.split()[-1]))
        for k, t in best.items():
            print(f"{k:12s}: {n / t:12,.0f} rows/s  ({t:.2f} s)")
        faster = min(best["numpy"], best["torch"])
        print(f"ratio softent / faster soft_h backend: {faster / best['softent']:.1f}x   (target >= 15x)", flush=True)
        print(f"ratio softent --product bf16 / faster soft_h backend: {faster / best['softent_bf16']:.1f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
