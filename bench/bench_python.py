"""Benchmark of the Python package (issue: softent from Python and on GPUs).

In one run, on the same N x 768 float32 rows (default 200,000), m = 100,
four label sets (input/output unigram and bigram of a Zipf token stream):
  1. softent.Accumulator.update in-process, streaming labels, batch 4096
     (float32 products, and the opt-in product="bf16"), against soft_h's accumulator algorithm with its numpy backend and with
     its torch-CPU backend at the same batch (restated in
     bench_estimate.numpy_accumulator and torch_accumulator below; the
     baselines run on the first --baseline-rows rows and are compared as
     rows/s).  Target: >= 10x the faster of the two.
  2. The Python layer's overhead: the counted mode in Python (count(), then
     update() in batches of 4096) against the same C calls made through
     bare ctypes (the wrapper's own cost), and against `softent estimate`
     on the same .npy files (whose time includes reading them, and which
     feeds the library large blocks of rows), at batch 4096 and 65536.
     Target: under 10 %.
Rounds are interleaved and medians quoted (the machine is shared).  The
soft_h baselines run in a child process each round: with PyTorch's and
NumPy's thread pools alive in the process, their idle threads spinning
slow OpenMP in the same process by 10-25 % (docs/python.md).

Usage: /usr/bin/python3 bench/bench_python.py BUILD_DIR [--rows N] [--baseline-rows N] [--rounds R]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
import oracle  # noqa: E402
from bench_estimate import label_sets, numpy_accumulator, zipf_stream  # noqa: E402


def torch_accumulator(z, w, eps, sets, batch=512):
    """soft_h's update loop with its torch backend on the CPU."""
    import torch
    w = torch.from_numpy(w)
    total = torch.zeros(w.shape[0])
    per_value = {name: {} for name in sets}
    for b0 in range(0, len(z), batch):
        zb = torch.from_numpy(z[b0:b0 + batch])
        p = torch.softmax(torch.nn.functional.normalize(zb, dim=-1) @ w.T / eps, dim=-1)
        total += p.sum(0)
        for name, labels in sets.items():
            lb = labels[b0:b0 + batch]
            for value in np.unique(lb):
                idx = np.where(lb == value)[0]
                acc = per_value[name]
                acc[value] = acc.get(value, 0) + p[idx].sum(0)
    return total


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--baseline-rows", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", choices=("numpy", "torch"), help=argparse.SUPPRESS)  # the child's job
    args = ap.parse_args()
    os.environ["SOFTENT_LIBRARY"] = os.path.join(os.path.abspath(args.build), "libsoftent.so.0")
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    import softent

    n, d, m, batch = args.rows, 768, 100, 4096
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, d), dtype=np.float32)
    tokens = zipf_stream(n + 4, 5000, 1)
    sets = {}
    for order in (1, 2):
        sets[f"in{order}"], sets[f"out{order}"] = label_sets(tokens, n, order)
    eps = softent.calibrate(d, m)
    w = oracle.reference_points(0, m, d)
    nb = min(args.baseline_rows, n)
    # soft_h takes 1-D labels: bigrams keyed as single integers (t0 * V + t1), as its users key them
    base_sets = {k: (v[:nb, 0] if v.shape[1] == 1 else v[:nb, 0] * 5000 + v[:nb, 1]) for k, v in sets.items()}
    if args.baseline:
        fn = numpy_accumulator if args.baseline == "numpy" else torch_accumulator
        print(timed(lambda: fn(z[:nb], w, eps, base_sets, batch=batch)))
        return

    def baseline(name):
        """Seconds of a soft_h baseline, timed in a child process."""
        p = subprocess.run([sys.executable, __file__, args.build, "--rows", str(n), "--baseline-rows", str(nb), "--baseline", name],
                           capture_output=True, text=True, check=True)
        return float(p.stdout.split()[-1])

    tmp = tempfile.mkdtemp(prefix="softent-bench-py-")
    np.save(os.path.join(tmp, "z.npy"), z)
    label_args = []
    for k, v in sets.items():
        np.save(os.path.join(tmp, f"{k}.npy"), v)
        label_args += ["--labels", f"{k}={os.path.join(tmp, k + '.npy')}"]
    cli = [os.path.join(args.build, "softent"), "estimate", os.path.join(tmp, "z.npy"), *label_args, "--quiet", "--json",
           os.path.join(tmp, "cli.json")]

    def streaming(product="f32"):
        acc = softent.Accumulator(d, bins=m, product=product)
        for b0 in range(0, n, batch):
            acc.update(z[b0:b0 + batch], labels={k: v[b0:b0 + batch] for k, v in sets.items()})
        acc.results()

    def counted(size=batch):
        acc = softent.Accumulator(d, bins=m)
        acc.count(sets)
        for b0 in range(0, n, size):
            acc.update(z[b0:b0 + size])
        acc.results()

    def direct():
        """counted(), each update a bare ctypes call: what the wrapper adds is the difference."""
        import ctypes
        from softent._lib import lib
        acc = softent.Accumulator(d, bins=m)
        acc.count(sets)
        h, as_float = acc._h(), ctypes.POINTER(ctypes.c_float)
        for b0 in range(0, n, batch):
            lib.softent_acc_add(h, z[b0:b0 + batch].ctypes.data_as(as_float), min(batch, n - b0), b0)
        acc.results()

    t = {k: [] for k in ("stream", "stream_bf16", "counted", "direct", "counted_65536", "cli", "numpy", "torch")}
    for _ in range(args.rounds):
        t["stream"].append(timed(streaming))
        t["stream_bf16"].append(timed(lambda: streaming("bf16")))
        t["numpy"].append(baseline("numpy"))
        t["counted"].append(timed(counted))
        t["direct"].append(timed(direct))
        t["torch"].append(baseline("torch"))
        t["counted_65536"].append(timed(lambda: counted(65536)))
        t["cli"].append(timed(lambda: subprocess.run(cli, check=True)))
    med = {k: float(np.median(v)) for k, v in t.items()}
    rate = {k: (nb if k in ("numpy", "torch") else n) / med[k] for k in med}
    print(f"bench_python: {n} x {d} rows, m = {m}, 4 label sets, batch {batch}, medians of {args.rounds} interleaved rounds")
    for k in t:
        print(f"  {k:14s} {med[k]:8.2f} s  {rate[k]:10.0f} rows/s" + (f"  (on {nb} rows)" if k in ("numpy", "torch") else ""))
    faster = max(rate["numpy"], rate["torch"])
    print(f"softent.Accumulator.update (streaming) / the faster soft_h backend: {rate['stream'] / faster:.1f}x (target >= 10x)")
    print(f"  the same with product='bf16' (opt-in): {rate['stream_bf16'] / faster:.1f}x")
    print(f"Python wrapper overhead (counted, batch {batch}) over bare ctypes calls: {100 * (med['counted'] / med['direct'] - 1):+.1f} % (target < 10 %)")
    print(f"Python counted mode vs softent estimate: batch {batch} {100 * (med['counted'] / med['cli'] - 1):+.1f} %, "
          f"batch 65536 {100 * (med['counted_65536'] / med['cli'] - 1):+.1f} %")
    print(f"streaming vs counted labels in Python: {med['stream'] / med['counted']:.2f}x the time")


if __name__ == "__main__":
    main()
