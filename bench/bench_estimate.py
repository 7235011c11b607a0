"""Benchmark of softent estimate (issue: the estimator library).

In one run:
  1. softent estimate and a NumPy implementation of the reference
     accumulator's algorithm (per-batch product, softmax, per-label-value
     sums, as SoftEntropyAccumulator.update does) on the same 200,000 x 768
     float32 embeddings, m = 100, four label sets (input/output unigram and
     bigram of a Zipf token stream, V = 5000): tokens/s of each, the ratio.
  2. The machine's sgemm rate on the same product shape, and softent's rate
     as a fraction of the sgemm-bound rate (2 d m flops a row).
  3. Peak RSS of softent on 1,000,000 x 256 rows with trigram input and
     output labels, against a stored m-vector for every distinct value.

Usage: /usr/bin/python3 bench/bench_estimate.py BUILD_DIR [--rows N] [--numpy-rows N]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import oracle  # noqa: E402


def zipf_stream(n, v, seed):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, v + 1) ** 1.1
    return rng.choice(v, size=n, p=p / p.sum())


def label_sets(tokens, n, order):
    """Input n-gram ends at t, output n-gram starts at t+1 (SPEC section 4)."""
    t = np.arange(order - 1, order - 1 + n)
    inp = np.stack([tokens[t - order + 1 + k] for k in range(order)], axis=1)
    out = np.stack([tokens[t + 1 + k] for k in range(order)], axis=1)
    return inp, out


def numpy_accumulator(z, w, eps, sets, batch=512):
    """The reference SoftEntropyAccumulator's update loop, in NumPy."""
    total = np.zeros(w.shape[0], dtype=np.float32)
    per_value = {name: {} for name in sets}
    for b0 in range(0, len(z), batch):
        zb = z[b0:b0 + batch]
        zn = zb / np.linalg.norm(zb, axis=-1, keepdims=True)
        s = (zn @ w.T) / eps
        s -= s.max(axis=-1, keepdims=True)
        e = np.exp(s)
        p = e / e.sum(axis=-1, keepdims=True)
        total += p.sum(axis=0)
        for name, labels in sets.items():
            lb = labels[b0:b0 + batch]
            for value in np.unique(lb):
                idx = np.where(lb == value)[0]
                acc = per_value[name]
                acc[value] = acc.get(value, 0) + p[idx].sum(axis=0)
    return total, per_value


def softent_run(build, args):
    t0 = time.perf_counter()
    subprocess.run([os.path.join(build, "softent"), "estimate", *args, "--quiet"], check=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--numpy-rows", type=int, default=200_000)
    ap.add_argument("--rss-rows", type=int, default=1_000_000)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="softent-bench-")
    n, d, m, V = a.rows, 768, 100, 5000

    print(f"== estimate throughput: {n} x {d} float32, m = {m}, 4 label sets (Zipf V = {V})", flush=True)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, d), dtype=np.float32)
    tokens = zipf_stream(n + 4, V, 1)
    uni_in, uni_out = label_sets(tokens, n, 1)
    bi_in, bi_out = label_sets(tokens, n, 2)
    paths = {}
    np.save(os.path.join(tmp, "z.npy"), z)
    for name, arr in (("uni_in", uni_in), ("uni_out", uni_out), ("bi_in", bi_in), ("bi_out", bi_out)):
        paths[name] = os.path.join(tmp, name + ".npy")
        np.save(paths[name], arr)
    args = [os.path.join(tmp, "z.npy")] + sum((["--labels", f"{k}={v}"] for k, v in paths.items()), [])
    softent_run(a.build, args)  # warm the page cache
    t_softent = min(softent_run(a.build, args) for _ in range(3))
    rate_softent = n / t_softent

    w = oracle.reference_points(0, m, d)
    eps = float(subprocess.run([os.path.join(a.build, "softent"), "calibrate", "--dim", str(d), "--bins", str(m)],
                               capture_output=True, text=True, check=True).stdout.split()[1])
    # The reference keys bigrams as single integers (t0 * V + t1).
    sets = {"uni_in": uni_in[:, 0], "uni_out": uni_out[:, 0],
            "bi_in": bi_in[:, 0] * V + bi_in[:, 1], "bi_out": bi_out[:, 0] * V + bi_out[:, 1]}
    nn = min(a.numpy_rows, n)
    t0 = time.perf_counter()
    numpy_accumulator(z[:nn], w, eps, {k: v[:nn] for k, v in sets.items()})
    rate_numpy = nn / (time.perf_counter() - t0)
    print(f"softent estimate : {rate_softent:12,.0f} tokens/s  ({t_softent:.2f} s, file read included)")
    print(f"numpy reference  : {rate_numpy:12,.0f} tokens/s  (on {nn} rows)")
    print(f"ratio            : {rate_softent / rate_numpy:12.1f} x   (target >= 10x)")

    sg = subprocess.run([os.path.join(a.build, "bench", "sgemm_rate"), str(d), str(m)], capture_output=True, text=True, check=True)
    gflops = float(sg.stdout.split()[1])
    bound = gflops * 1e9 / (2 * d * m)
    print(f"sgemm rate       : {gflops:12.1f} GFLOP/s on [16384, {d}] x [{d}, {m}]")
    print(f"sgemm-bound rate : {bound:12,.0f} tokens/s")
    print(f"fraction         : {rate_softent / bound:12.1%}   (target >= 50%)", flush=True)

    nr, dr = a.rss_rows, 256
    print(f"\n== peak memory: {nr} x {dr} rows, trigram input and output labels", flush=True)
    del z
    zr = np.lib.format.open_memmap(os.path.join(tmp, "zr.npy"), mode="w+", dtype=np.float32, shape=(nr, dr))
    for r0 in range(0, nr, 100_000):
        zr[r0:r0 + 100_000] = rng.standard_normal((min(100_000, nr - r0), dr), dtype=np.float32)
    zr.flush()
    del zr
    tok = zipf_stream(nr + 6, V, 2)
    tri_in, tri_out = label_sets(tok, nr, 3)
    np.save(os.path.join(tmp, "tri_in.npy"), tri_in)
    np.save(os.path.join(tmp, "tri_out.npy"), tri_out)
    # a fresh parent, so that the peak is this run's alone
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    cmd = [os.path.join(a.build, "softent"), "estimate", os.path.join(tmp, "zr.npy"), "--quiet",
           "--labels", f"in={tmp}/tri_in.npy", "--labels", f"out={tmp}/tri_out.npy"]
    peak = int(subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True).stdout) * 1024
    distinct = len(np.unique(tri_in, axis=0)) + len(np.unique(tri_out, axis=0))
    dense = distinct * m * 8
    print(f"distinct values  : {distinct:12,d} (input + output trigrams)")
    print(f"dense vectors    : {dense / 2**20:12.1f} MiB  (an m-vector of doubles for every distinct value)")
    print(f"softent peak RSS : {peak / 2**20:12.1f} MiB  (ratio {peak / dense:.2f}; target <= 0.25)")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
