#!/usr/bin/env python3
"""Draw docs/statistics-bias.svg: the relative error of the plug-in I, the
curve correction, the Taylor (Miller-Madow) correction and the
permutation-null correction against N/K (rows per label value), on
tests/synthetic.py's mixture whose population I is known.

    python3 scripts/statistics-figure.py [BUILD]   (needs numpy and gnuplot)

Writes docs/statistics-bias.tsv (N/K, then mean and sd of each relative
error over the samples: plug-in, curve, null, taylor) and renders it with
gnuplot.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import synthetic  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
SOFTENT = os.path.join(BUILD, "softent")
SAMPLES, NULL = 6, 30


def estimate(z, y, work):
    np.save(os.path.join(work, "z.npy"), z)
    np.save(os.path.join(work, "y.npy"), y.astype(np.int64))
    out = os.path.join(work, "r.json")
    subprocess.run([SOFTENT, "estimate", os.path.join(work, "z.npy"), "--labels", "y=" + os.path.join(work, "y.npy"),
                    "--null", str(NULL), "--json", out], check=True, capture_output=True)
    s = json.load(open(out))["label_sets"][0]
    subprocess.run([SOFTENT, "estimate", os.path.join(work, "z.npy"), "--labels", "y=" + os.path.join(work, "y.npy"),
                    "--correction", "taylor", "--json", out], check=True, capture_output=True)
    t = json.load(open(out))["label_sets"][0]
    return s["I"], s["curve"]["I"], s["null"]["I_corrected"], t["I_corrected"]


def main():
    eps = float(subprocess.run([SOFTENT, "calibrate", "--dim", "32", "--bins", "100"], check=True,
                               capture_output=True, text=True).stdout.split()[1])
    lines = ["# N/K\tplug-in mean\tsd\tcurve mean\tsd\tnull mean\tsd\ttaylor mean\tsd  (relative error against the population I)"]
    with tempfile.TemporaryDirectory() as work:
        for spread in (1.0, 2.0):
            mix = synthetic.Mixture(spread=spread, eps=eps)
            pop = mix.population(per=8000)["I"]
            lines.append(f"# spread {spread}: population I = {pop:.5f}")
            for r in (2, 3, 5, 10, 20, 50, 100):
                errs = np.array([estimate(*mix.sample(r * mix.k, seed=31 * r + s), work) for s in range(SAMPLES)]) / pop - 1
                cells = [f"{v:.4f}" for pair in zip(errs.mean(0), errs.std(0, ddof=1)) for v in pair]
                lines.append("\t".join([str(r)] + cells))
                print(lines[-1], flush=True)
            lines += ["", ""]
    tsv = os.path.join(ROOT, "docs", "statistics-bias.tsv")
    with open(tsv, "w") as f:
        f.write("\n".join(lines) + "\n")
    gp = f"""set terminal svg size 760,420 font 'Helvetica,12'
set output '{os.path.join(ROOT, "docs", "statistics-bias.svg")}'
set multiplot layout 1,2
set logscale x
set xlabel 'rows per label value, N/K'
set ylabel 'relative error of I'
set grid
set yrange [-1.05:2.2]
set key top right font ',10'
do for [b=0:1] {{
  set title (b == 0 ? 'spread 1.0 (I = 0.26)' : 'spread 2.0 (I = 0.11)')
  plot '{tsv}' index b using 1:2:3 with yerrorlines lw 2 title 'plug-in', \\
       '' index b using 1:4:5 with yerrorlines lw 2 title 'curve (default)', \\
       '' index b using 1:6:7 with yerrorlines lw 2 title 'I - null mean', \\
       '' index b using 1:8:9 with yerrorlines lw 2 title 'taylor (Miller-Madow)', \\
       0 with lines lc rgb 'black' dt 2 notitle
}}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)


if __name__ == "__main__":
    main()
