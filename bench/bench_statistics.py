"""Benchmark of the statistics' cost (issue 8): softent analyze on the main
job's last checkpoint and held-out chapters (make demo writes them), with

  1. no statistics (the curve correction alone: it is always on),
  2. --bootstrap 200 (linearised, over documents),
  3. --null 100 (replayed exactly from the stored rows),
  4. --null 100 --bootstrap 200,
  5. --null scaled (the null's mean and sd from a sample of rows),
  6. --null scaled --bootstrap 200,
  7. the same with --spill-dir (the bootstrap's stored rows in a file),

wall time and peak RSS of each, interleaved over --rounds rounds, medians
quoted with the ratios to (1).  Targets (issue 8): at most +50% wall time
and 2x memory.  Then the same on every chapter, over one round fewer
(10x the held-out positions), and the extrapolation to a paper-like scale
(10,000 documents x 512 tokens) from the measured per-position costs.

Usage: /usr/bin/python3 bench/bench_statistics.py [BUILD_DIR] [--run out/kjv] [--rounds 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODES = [("no statistics", []), ("--bootstrap 200", ["--bootstrap", "200"]), ("--null 100", ["--null", "100"]),
         ("--null 100 --bootstrap 200", ["--null", "100", "--bootstrap", "200"]), ("--null scaled", ["--null", "scaled"]),
         ("--null scaled --bootstrap 200", ["--null", "scaled", "--bootstrap", "200"]),
         ("  ... --spill-dir", ["--null", "scaled", "--bootstrap", "200", "--spill-dir", tempfile.gettempdir()])]


def measure(softent, model, corpus, extra, out):
    """(wall seconds, peak RSS in MB, positions) of one analyze run."""
    t0 = time.perf_counter()
    p = subprocess.Popen([softent, "analyze", model, corpus, "--out", out, "--ngrams", "1,2,3", "--max-length", "128",
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    stdout = p.stdout.read()
    if status != 0:
        sys.exit(f"softent analyze {' '.join(extra)} failed: {p.stderr.read()}")
    positions = int(stdout.split(" positions")[0].split()[-1])
    return wall, usage.ru_maxrss / 1024, positions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--run", default="out/kjv")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    softent = os.path.join(a.build, "softent")
    model = os.path.join(a.run, "run", "step-1000")
    held_out, every = os.path.join(a.run, "analysis.txt"), os.path.join(a.run, "chapters.txt")
    if not os.path.isdir(model) or not os.path.isfile(held_out):
        sys.exit(f"{model} or {held_out} is missing: run the main job first (make demo)")
    work = tempfile.mkdtemp(prefix="stats-bench-")
    print(f"softent analyze {model}, orders 1-3, max length 128; interleaved over {a.rounds} rounds, medians")
    for label, corpus, rounds in (("held-out chapters", held_out, a.rounds), ("every chapter (10x)", every, max(1, a.rounds - 1))):
        runs = {name: [] for name, _ in MODES}
        for _ in range(rounds):
            for name, extra in MODES:
                runs[name].append(measure(softent, model, corpus, extra, os.path.join(work, "o")))
        positions = runs[MODES[0][0]][0][2]
        base_t = statistics.median(r[0] for r in runs[MODES[0][0]])
        base_m = statistics.median(r[1] for r in runs[MODES[0][0]])
        print(f"\n{label}: {positions} positions")
        print(f"  {'mode':<30} {'wall s':>8} {'x base':>7} {'RSS MB':>8} {'x base':>7}")
        per = {}
        for name, _ in MODES:
            t = statistics.median(r[0] for r in runs[name])
            mem = statistics.median(r[1] for r in runs[name])
            per[name] = (t, mem)
            print(f"  {name:<30} {t:8.2f} {t / base_t:7.2f} {mem:8.1f} {mem / base_m:7.2f}")
    # the extrapolation: the statistics' extra time grows with positions x
    # label sets x layer states x replicates; their memory is the stored rows
    t0, m0 = per[MODES[0][0]]
    P = 10000 * 512
    rows_gb = P * 100 * 4 * 33 / 1e9
    print(f"\npaper-like scale ({P} positions, orders 1-4 in and out, 33 layer states, m = 100), from the 10x run:")
    for name, rows in ((MODES[3][0], True), (MODES[4][0], False), (MODES[5][0], True), (MODES[6][0], False)):
        t2, m2 = per[name]
        extra_t = (t2 - t0) * (P / positions) * (8 / 6) * (33 / 5)
        # the scaled null's sample is fixed (16384 rows a layer state); the
        # bootstrap's and the exact null's stored rows grow with positions,
        # in memory unless spilled to a file (page cache)
        mem = f"{rows_gb:.0f} GB of stored rows (4 m bytes a position and layer state)" if rows else \
            f"{16384 * 404 * 33 / 1e6:.0f} MB of samples (16384 rows a layer state)" + \
            (f", the {rows_gb:.0f} GB of stored rows in the spill file" if "spill" in name else "")
        # (linear in positions: an upper bound for the scaled null, whose
        # subsets are capped per count)
        took = f"at most {extra_t / 3600:.2f} hours" if extra_t > 0 else "no time measurable here (below the noise)"
        print(f"  {name} adds {took} on this machine ({os.cpu_count()} threads) and {mem};")
        print(f"    measured here: +{t2 - t0:.1f} s and +{m2 - m0:.0f} MB over {positions} positions x 6 label sets x 5 layer states.")


if __name__ == "__main__":
    main()
