#!/usr/bin/env python3
"""The model zoo's section of the main job's report (markdown on stdout),
read from what scripts/zoo.sh wrote: the models, their scores, the
correlations of the measures with the aggregate score, and what they say
in plain words.  A correlation is called a prediction only when its
Spearman interval excludes 0 and its permutation p-value is below 0.05;
otherwise the report says it did not predict, whatever the sign.

usage: scripts/zoo-report.py OUT_DIR/zoo
"""
import csv
import json
import os
import sys

# the measures the paper's second claim is about, and how the report names them
CLAIMS = [("optimality", "optimality I(Y;Z)/I(X;Z)"), ("complexity", "complexity I(X;Z)"),
          ("expressivity", "expressivity I(Y;Z)")]


def load(zoo):
    with open(os.path.join(zoo, "correlate", "correlate.json")) as f:
        corr = json.load(f)
    scores = {}
    with open(os.path.join(zoo, "scores.csv"), newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 3 and row[0] != "model":
                scores.setdefault(row[0], {})[row[1]] = float(row[2]) if row[2] not in ("", "nan") else float("nan")
    return corr, scores


def config(zoo, name):
    with open(os.path.join(zoo, "models", name, "config.json")) as f:
        return json.load(f)


def verdict(c):
    s = c["spearman"]
    lo, hi = s["ci"] if s["ci"] else (None, None)
    interval = f"[{lo:.2f}, {hi:.2f}]" if lo is not None else "[undefined]"
    stats = f"Spearman r = {s['r']:.2f} {interval}, p_perm = {s['p_perm']:.3g}"
    ps = c.get("partial_spearman")
    if ps and ps["r"] is not None:
        stats += f"; given the parameter count, partial r = {ps['r']:.2f}"
        if ps.get("ci") and ps["ci"][0] is not None:
            stats += f" [{ps['ci'][0]:.2f}, {ps['ci'][1]:.2f}]"
        if ps.get("p_perm") is not None:
            stats += f", p_perm = {ps['p_perm']:.3g}"
    if not s["ci_includes_0"] and s["p_perm"] < 0.05:
        return ("predicted" if s["r"] > 0 else "predicted, inversely,"), stats
    return "did not predict", stats


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    zoo = sys.argv[1]
    corr, scores = load(zoo)
    agg = {c["measure"]: c for c in corr["correlations"] if c["target"] == "aggregate"}
    models = [m["alias"] for m in corr["models"]]
    names = [b["name"] for b in corr["benchmarks"]]

    print("## Across models: does the compression measure predict the scores?\n")
    print(f"The paper's second claim is that how close a model comes to the bound predicts its benchmark scores. "
          f"`scripts/zoo.sh` tests it on {len(models)} GPT-2s trained here on the KJV training chapters, "
          "which differ in depth, width, steps, data and seed (three are the trace's own checkpoints), each "
          "analysed on the held-out chapters (corrected layer means, 20-permutation null, 100-replicate bootstrap, "
          "and preference information on 150 next-verse pairs) and scored by `softent eval` on held-out tasks "
          "built from Debian data (docs/eval.md): next-token accuracy on held-out verses, which verse comes next, "
          "and a cloze over held-out verses and over fortunes-min's quotations.\n")
    print("| model | layers | d | params | " + " | ".join(names) + " |")
    print("|---|---|---|---|" + "---|" * len(names))
    for name in models:
        cfg = config(zoo, name)
        row = scores.get(name, {})
        cells = [f"{row.get(b, float('nan')):.3f}" for b in names]
        print(f"| {name} | {cfg['n_layer']} | {cfg['n_embd']} | {row.get('params', float('nan')):.3g} | " + " | ".join(cells) + " |")
    print(f"\nThe aggregate is the {corr['aggregation']}; the guessing baselines are 1/4 for the four-way tasks and "
          "1/vocabulary for next-token accuracy.\n")

    print("**In plain words**, against the aggregate score over these models "
          "(a correlation counts only when its 95% bootstrap interval excludes 0 and its permutation p < 0.05):\n")
    for key, label in CLAIMS:
        for n in (1, 2, 3):
            c = agg.get(f"{key}_n{n}")
            if c:
                word, stats = verdict(c)
                print(f"- {label}, n = {n}: **{word}** the scores ({stats}).")
    c = agg.get("preference")
    if c:
        word, stats = verdict(c)
        print(f"- preference information I(P;Z): **{word}** the scores ({stats}).")
    c = agg.get("H")
    if c:
        word, stats = verdict(c)
        print(f"- for comparison, H(Z): **{word}** the scores ({stats}).")
    print(f"\nWith {len(models)} models the intervals are wide and percentile intervals at this n undercover "
          "(docs/correlate.md): read a \"did not predict\" as \"not shown here\", not as evidence against the claim. "
          "These models differ mostly in how well trained they are, so every measure that tracks training "
          "tracks the scores too; the partial Spearman given the parameter count is beside each r.\n")
    print("The table softent printed (`zoo/correlate.txt`; JSON, tidy CSV and the figures in `zoo/correlate/`):\n")
    print("```")
    with open(os.path.join(zoo, "correlate.txt")) as f:
        print(f.read().rstrip())
    print("```\n")
    for key in ("optimality_n1", "complexity_n1", "expressivity_n1", "preference"):
        if os.path.exists(os.path.join(zoo, "correlate", f"scatter_{key}.png")):
            print(f"![aggregate score against {key}](../zoo/correlate/scatter_{key}.png)\n")
    if os.path.exists(os.path.join(zoo, "correlate", "heatmap.png")):
        print("![Spearman r of every measure against every benchmark](../zoo/correlate/heatmap.png)\n")


if __name__ == "__main__":
    main()
