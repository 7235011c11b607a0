#!/usr/bin/env python3
"""The scaled null against the exact permutation null on real model states:
the main job's last checkpoint, every layer state, input and output n-grams
of orders 1-3 on the held-out chapters, `estimate --null 200` against
`estimate --null scaled` (and a 2048-row sample).  Hidden states come from
the float64 PyTorch reference forward (tests/torch_reference.py), one
128-token window per chapter, as analyze cuts them.

    scripts/scaled-null-check.py [OUT_DIR (out/kjv)] [SOFTENT (build/softent)]

Prints, per layer and label set, the two nulls' means and sds and their
difference in exact-null sds (docs/statistics.md quotes it)."""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import torch  # noqa: E402
import torch_reference  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "out/kjv"
    softent = sys.argv[2] if len(sys.argv) > 2 else "build/softent"
    model = os.path.join(out, "run", "step-1000")
    config, weights = torch_reference.load(model)
    ids = subprocess.run([softent, "tokenize", model, os.path.join(out, "analysis.txt")], check=True, capture_output=True,
                         text=True).stdout.split("\n")
    docs = [np.array(line.split(), dtype=np.int64)[: config["n_positions"]] for line in ids if line.strip()]
    W = torch_reference.to_torch(weights, torch.float64)
    states, labels = None, {f"{k}{n}": [] for k in ("in", "out") for n in (1, 2, 3)}
    for t in docs:
        with torch.no_grad():
            hidden, _ = torch_reference.forward(config, W, t, torch.float64)
        keep = np.arange(2, len(t) - 3)  # every position with an input and an output trigram
        h = [x.numpy()[keep].astype(np.float32) for x in hidden]
        states = h if states is None else [np.concatenate([a, b]) for a, b in zip(states, h)]
        for n in (1, 2, 3):
            labels[f"in{n}"].append(np.stack([t[keep - j] for j in range(n - 1, -1, -1)], axis=1))
            labels[f"out{n}"].append(np.stack([t[keep + 1 + j] for j in range(n)], axis=1))
    tmp = tempfile.mkdtemp(prefix="scaled-null-")
    args = []
    for name, parts in labels.items():
        np.save(os.path.join(tmp, name + ".npy"), np.concatenate(parts))
        args += ["--labels", f"{name}={os.path.join(tmp, name + '.npy')}"]
    print(f"{len(docs)} chapters, {len(states[0])} positions, {len(states)} layer states")
    worst, times = 0.0, {}
    for layer, z in enumerate(states):
        zf = os.path.join(tmp, f"z{layer}.npy")
        np.save(zf, z)
        res = {}
        for null in ("200", "scaled", "scaled:2048"):
            t0 = time.time()
            subprocess.run([softent, "estimate", zf, *args, "--null", null, "--json", os.path.join(tmp, "r.json"), "--quiet"],
                           check=True)
            times.setdefault(null, []).append(time.time() - t0)
            with open(os.path.join(tmp, "r.json")) as f:
                res[null] = {s["name"]: s for s in json.load(f)["label_sets"]}
        for name in labels:
            e = res["200"][name]["null"]
            line = f"layer {layer} {name:4s} I {res['200'][name]['I']:.4f}  exact {e['I_null_mean']:.4f} sd {e['I_null_sd']:.5f}"
            for null in ("scaled", "scaled:2048"):
                s = res[null][name]["null"]
                diff = (s["I_null_mean"] - e["I_null_mean"]) / e["I_null_sd"]
                worst = max(worst, abs(diff))
                line += f" | {null}: {s['I_null_mean']:.4f} sd {s['I_null_sd']:.5f} ({diff:+.2f} sd, sd x{s['I_null_sd'] / e['I_null_sd']:.2f})"
            print(line)
    print(f"worst |scaled - exact| null mean: {worst:.2f} exact null sd")
    for null, t in times.items():
        print(f"estimate --null {null}: median {np.median(t):.2f} s a layer state")


if __name__ == "__main__":
    main()
