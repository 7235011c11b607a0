"""softent correlate: measures of several models against benchmark scores.

Outside references: Spearman, Pearson and their two-sided p-values against
scipy.stats on random and tied data (1e-10); the partial Spearman against a
NumPy implementation (Pearson of the residuals of least squares of the
ranks on the covariates' ranks, p from scipy's t); the bootstrap interval
against a NumPy percentile bootstrap over the same resamples (the generator
reimplemented here); the permutation p-value against the exact permutation
p (all n! permutations), its distribution uniform under independence and
minimal under strong correlation.  The reader is checked on real analyze and
trace output; the aggregate against the Open LLM Leaderboard v2
normalisation; bad input of every kind gives exit 1 and one line naming the
file, never a crash."""
import csv
import itertools
import json
import math
import os
import shutil
import warnings

import numpy as np
from scipy import stats

from common import Fail, close, expect_error, main, run, tmp

TOL = 1e-10
MASK = (1 << 64) - 1
ORDERS = (1, 2, 3)


# ---- helpers ------------------------------------------------------------------

def mix64(x):
    """splitmix64's finaliser, as lib/common/hash.h se_mix64."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def bootstrap_index(seed, b, j, n):
    key = mix64(seed ^ 0x626F6F7473747270)
    return mix64((key + b * n + j) & MASK) % n


def synth(path, name, H, orders, null=True, layers=None, command="analyze"):
    """An analysis.json with the schema of softent analyze: orders maps n to
    (I_in, I_out, optimality), the corrected values when null, else the
    plug-in ones (the other set is offset, so a mix-up shows)."""
    rows = []
    for n, (i_in, i_out, opt) in sorted(orders.items()):
        rows.append({"n": n, "I_in": i_in + 0.5, "I_out": i_out + 0.5, "optimality": opt + 0.5,
                     "I_in_corrected": i_in if null else None, "I_out_corrected": i_out if null else None,
                     "optimality_corrected": opt if null else None,
                     "I_in_null_sd": 0.001 if null else None, "I_out_null_sd": 0.001 if null else None})
        if not null:
            rows[-1].update(I_in=i_in, I_out=i_out, optimality=opt)
    doc = {"softent_version": "0.1.0", "command": command,
           "model": {"path": name, "arch": "gpt2", "n_layers": 2, "d_model": 8, "n_heads": 2, "vocab_size": 10},
           "headline": "corrected (I - null mean)" if null else "plug-in (no null run: biased upward)",
           "layers": layers or [], "layer_mean": {"over": "layers >= 1", "n_layers": 2, "H": H, "orders": rows, "context_width": []}}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def synth_set(tag, x, n_orders=3, null=True, seed=0):
    """Results of len(x) models named m0, m1, ...: every measure a function
    of the model (x[i] for optimality_n1; the others random)."""
    rng = np.random.default_rng(seed)
    paths, values = [], []
    for i, xi in enumerate(x):
        orders = {}
        v = {"H": float(rng.random())}
        for n in range(1, n_orders + 1):
            t = (float(xi) if n == 1 else float(rng.random()), float(rng.random()), float(rng.random()))
            orders[n] = (t[1], t[2], t[0])
            v[f"complexity_n{n}"], v[f"expressivity_n{n}"], v[f"optimality_n{n}"] = t[1], t[2], t[0]
        for n in range(2, n_orders + 1):
            v[f"dI_in_n{n}"] = orders[n][0] - orders[n - 1][0]
            v[f"dI_out_n{n}"] = orders[n][1] - orders[n - 1][1]
        paths.append(synth(tmp(f"{tag}/m{i}/analysis.json"), f"/models/m{i}", v["H"], orders, null=null))
        values.append(v)
    return paths, values


def write_wide(path, names, cols, table):
    with open(path, "w") as f:
        f.write(",".join(["model"] + cols) + "\n")
        for name, row in zip(names, table):
            f.write(",".join([name] + [repr(float(v)) if isinstance(v, (float, int, np.floating)) else str(v) for v in row]) + "\n")
    return path


def correlate(out, paths, scores, *args):
    p = run("correlate", *paths, "--scores", scores, "--out", out, *args)
    with open(os.path.join(out, "correlate.json")) as f:
        return json.load(f), p.stdout


def stat(result, measure, target):
    for c in result["correlations"]:
        if c["measure"] == measure and c["target"] == target:
            return c
    raise Fail(f"no correlation of {measure} with {target}")


def normalised(scores, baseline, top):
    return np.maximum(0, 100 * (np.asarray(scores) - baseline) / (top - baseline))


def scipy_pair(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s, p = stats.spearmanr(x, y)
        q = stats.pearsonr(x, y)
    return float(s), float(p), float(q[0]), float(q[1])


# ---- statistics against scipy -------------------------------------------------

def run_against_scipy(tag, x, benches, n_orders=3, perms=0, boot=0, extra=()):
    names = [f"m{i}" for i in range(len(x))]
    paths, values = synth_set(tag, x, n_orders)
    cols = [f"b{k}" for k in range(benches.shape[1])]
    scores = write_wide(tmp(f"{tag}/scores.csv"), names, cols, benches)
    r, table = correlate(tmp(f"{tag}/out"), paths, scores, "--permutations", perms, "--bootstrap", boot, "--no-figures", *extra)
    return r, values, table, cols


def check_spearman_pearson_p_against_scipy_random_and_tied():
    rng = np.random.default_rng(7)
    worst = 0.0
    for tag, n, tied in (("rand", 12, False), ("tied", 15, True), ("big", 120, False), ("tied_big", 90, True)):
        x = rng.random(n)
        benches = np.column_stack([0.25 + 0.7 * rng.random(n), 0.25 + 0.7 * np.clip(x + 0.3 * rng.random(n), 0, 1)])
        if tied:
            x = np.round(x * 4) / 4
            benches = np.round(benches * 8) / 8
        r, values, _, cols = run_against_scipy(tag, x, benches)
        agg = np.mean([normalised(benches[:, k], 0, 1) for k in range(benches.shape[1])], axis=0)
        targets = {c: benches[:, k] for k, c in enumerate(cols)}
        targets["aggregate"] = agg
        for measure in values[0]:
            xm = np.array([v[measure] for v in values])
            for t, y in targets.items():
                c = stat(r, measure, t)
                s, ps, q, pq = scipy_pair(xm, y)
                for what, got, want in (("spearman", c["spearman"]["r"], s), ("spearman p", c["spearman"]["p_t"], ps),
                                        ("pearson", c["pearson"]["r"], q), ("pearson p", c["pearson"]["p_t"], pq)):
                    close(f"{tag} {measure} vs {t}: {what}", got, want, TOL)
                    worst = max(worst, abs(got - want))
    print(f"  worst |softent - scipy| over r and p_t: {worst:.2e}")


def check_betainc_p_values_extreme():
    """p_t over the whole range: tiny p (strong correlation, many models),
    p near 1, and an exact r = 1."""
    rng = np.random.default_rng(3)
    n = 300
    x = rng.random(n)
    benches = np.column_stack([np.clip(x * 0.6 + 0.05 * rng.random(n) + 0.2, 0, 1), 0.2 + 0.6 * rng.random(n), 0.2 + 0.6 * x])
    r, values, _, cols = run_against_scipy("extreme", x, benches, n_orders=1)
    for k, col in enumerate(cols):
        c = stat(r, "optimality_n1", col)
        s, ps, q, pq = scipy_pair(x, benches[:, k])
        close(f"spearman p {col}", c["spearman"]["p_t"], ps, TOL)
        close(f"pearson p {col}", c["pearson"]["p_t"], pq, TOL)
        if k == 2 and not (c["spearman"]["r"] == 1 and c["spearman"]["p_t"] == 0):
            raise Fail(f"a monotone score must give r = 1, p = 0: {c['spearman']}")


def check_partial_spearman_against_numpy():
    rng = np.random.default_rng(11)
    for tag, n, k, tied in (("partial1", 20, 1, False), ("partial2", 30, 2, True)):
        x = rng.random(n)
        covs = rng.random((n, k)) * 1e9
        if tied:
            covs = np.round(covs / 2e8) * 2e8
        bench = np.clip(0.3 + 0.4 * x + 0.2 * rng.random(n), 0, 1)
        names = [f"m{i}" for i in range(n)]
        paths, values = synth_set(tag, x, 2)
        cols = ["score"] + [f"cov{j}" for j in range(k)]
        scores = write_wide(tmp(f"{tag}/scores.csv"), names, cols, np.column_stack([bench, covs]))
        args = [a for j in range(k) for a in ("--covariate", f"cov{j}")]
        r, table = correlate(tmp(f"{tag}/out"), paths, scores, "--permutations", 0, "--bootstrap", 0, "--no-figures", *args)
        if "partial" not in table:
            raise Fail("the table has no partial column with covariates")
        design = np.column_stack([np.ones(n)] + [stats.rankdata(covs[:, j]) for j in range(k)])
        for measure in values[0]:
            xm = np.array([v[measure] for v in values])
            for t, y in (("score", bench), ("aggregate", normalised(bench, 0, 1))):
                rx, ry = stats.rankdata(xm), stats.rankdata(y)
                ex = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
                ey = ry - design @ np.linalg.lstsq(design, ry, rcond=None)[0]
                want = float(np.dot(ex, ey) / math.sqrt(np.dot(ex, ex) * np.dot(ey, ey)))
                df = n - 2 - k
                tt = want * math.sqrt(df / (1 - want * want))
                p_want = float(2 * stats.t.sf(abs(tt), df))
                c = stat(r, measure, t)["partial_spearman"]
                close(f"{tag} partial {measure}", c["r"], want, TOL)
                close(f"{tag} partial p {measure}", c["p_t"], p_want, TOL)
                if c["df"] != df:
                    raise Fail(f"partial df {c['df']}, want {df}")


def check_bootstrap_against_numpy_same_resamples():
    rng = np.random.default_rng(5)
    n, B, seed = 14, 400, 42
    x = np.round(rng.random(n) * 6) / 6  # ties, so some resamples are constant
    bench = np.clip(0.3 + 0.5 * x + 0.3 * rng.random(n), 0, 1)
    names = [f"m{i}" for i in range(n)]
    paths, values = synth_set("boot", x, 1)
    scores = write_wide(tmp("boot/scores.csv"), names, ["score"], bench.reshape(-1, 1))
    r, _ = correlate(tmp("boot/out"), paths, scores, "--permutations", 0, "--bootstrap", B, "--seed", seed, "--level", 0.9,
                     "--no-figures")
    idx = np.array([[bootstrap_index(seed, b, j, n) for j in range(n)] for b in range(B)])
    for measure in ("optimality_n1", "complexity_n1"):
        xm = np.array([v[measure] for v in values])
        sp, pe = [], []
        for b in range(B):
            xs, ys = xm[idx[b]], bench[idx[b]]
            if np.all(xs == xs[0]) or np.all(ys == ys[0]):
                continue
            s, _, q, _ = scipy_pair(xs, ys)
            sp.append(s)
            pe.append(q)
        c = stat(r, measure, "score")
        for what, vals, got in (("spearman", sp, c["spearman"]["ci"]), ("pearson", pe, c["pearson"]["ci"])):
            want = np.percentile(vals, [5, 95])
            close(f"{measure} {what} CI low", got[0], want[0], TOL)
            close(f"{measure} {what} CI high", got[1], want[1], TOL)
        if c["bootstrap_skipped"] != 2 * (B - len(sp)):
            raise Fail(f"bootstrap_skipped {c['bootstrap_skipped']}, want {2 * (B - len(sp))}")


def check_permutation_p_against_exact():
    """n = 7: all 5040 permutations give the exact permutation p; softent's
    Monte Carlo p from R seeded permutations is within its binomial error
    (keyed Feistel permutations, not uniform on 7 items, failed this)."""
    rng = np.random.default_rng(8)
    n, R = 7, 20000
    x = rng.random(n)
    bench = np.clip(0.2 + 0.5 * x + 0.4 * rng.random(n), 0, 1)
    paths, values = synth_set("exact", x, 1)
    scores = write_wide(tmp("exact/scores.csv"), [f"m{i}" for i in range(n)], ["score"], bench.reshape(-1, 1))
    r, _ = correlate(tmp("exact/out"), paths, scores, "--permutations", R, "--bootstrap", 0, "--no-figures")
    perms = np.array(list(itertools.permutations(range(n))))

    def abs_r(a, b):  # |Pearson r| of a against each row of b
        a, b = a - a.mean(), b - b.mean(axis=-1, keepdims=True)
        return np.abs(b @ a) / np.sqrt((a @ a) * np.einsum("...i,...i->...", b, b))

    for measure in ("optimality_n1", "complexity_n1", "H"):
        xm = np.array([v[measure] for v in values])
        for kind, tr in (("spearman", stats.rankdata), ("pearson", np.asarray)):
            a, b = tr(xm), tr(bench)
            exact = float(np.mean(abs_r(a, b[perms]) >= abs_r(a, b) - 1e-12))
            got = stat(r, measure, "score")[kind]["p_perm"]
            tol = 5 * math.sqrt(exact * (1 - exact) / R) + 2 / R
            if abs(got - exact) > tol:
                raise Fail(f"{measure} {kind}: p_perm {got} vs exact {exact} (tolerance {tol:.2g})")


def partial_residual_maker(cov):
    """The projection off [1, rank(covariates)] as a matrix."""
    n = cov.shape[0]
    design = np.column_stack([np.ones(n)] + [stats.rankdata(cov[:, j]) for j in range(cov.shape[1])])
    return np.eye(n) - design @ np.linalg.pinv(design)


def check_partial_permutation_p_against_exact_freedman_lane():
    """n = 7: the exact Freedman-Lane p over all 5040 permutations of the
    score's rank residuals (NumPy); softent's Monte Carlo p from R seeded
    permutations is within its binomial error."""
    rng = np.random.default_rng(21)
    n, R = 7, 20000
    x = rng.random(n)
    cov = rng.random((n, 1)) * 1e9
    bench = np.clip(0.2 + 0.3 * x + 0.3 * cov[:, 0] / 1e9 + 0.3 * rng.random(n), 0, 1)
    paths, values = synth_set("pexact", x, 1)
    scores = write_wide(tmp("pexact/scores.csv"), [f"m{i}" for i in range(n)], ["score", "params"], np.column_stack([bench, cov]))
    r, table = correlate(tmp("pexact/out"), paths, scores, "--permutations", R, "--bootstrap", 0, "--no-figures", "--covariate", "params")
    M = partial_residual_maker(cov)
    perms = np.array(list(itertools.permutations(range(n))))
    for measure in ("optimality_n1", "complexity_n1", "H"):
        ex = M @ stats.rankdata([v[measure] for v in values])
        ey = M @ stats.rankdata(bench)
        r0 = abs(ex @ ey) / math.sqrt((ex @ ex) * (ey @ ey))
        eyp = ey[perms] @ M.T  # each permuted residual projected again
        rp = np.abs(eyp @ ex) / np.sqrt((ex @ ex) * np.einsum("ij,ij->i", eyp, eyp))
        exact = float(np.mean(rp >= r0 - 1e-12))
        got = stat(r, measure, "score")["partial_spearman"]["p_perm"]
        tol = 5 * math.sqrt(exact * (1 - exact) / R) + 2 / R
        if abs(got - exact) > tol:
            raise Fail(f"{measure} partial: p_perm {got} vs exact Freedman-Lane {exact} (tolerance {tol:.2g})")
    if "Freedman-Lane" not in table:
        raise Fail("the table does not say how the partial p_perm is computed")


def check_partial_bootstrap_against_numpy_same_resamples():
    rng = np.random.default_rng(23)
    n, B, seed = 12, 300, 7
    x = rng.random(n)
    cov = np.zeros((n, 1))
    cov[[3, 8], 0] = 1  # about one resample in nine has a constant covariate
    bench = np.clip(0.2 + 0.4 * x + 0.1 * cov[:, 0] + 0.2 * rng.random(n), 0, 1)
    paths, values = synth_set("pboot", x, 1)
    scores = write_wide(tmp("pboot/scores.csv"), [f"m{i}" for i in range(n)], ["score", "params"], np.column_stack([bench, cov]))
    r, _ = correlate(tmp("pboot/out"), paths, scores, "--permutations", 0, "--bootstrap", B, "--seed", seed, "--level", 0.9,
                     "--no-figures", "--covariate", "params")
    idx = np.array([[bootstrap_index(seed, b, j, n) for j in range(n)] for b in range(B)])
    for measure in ("optimality_n1", "complexity_n1"):
        xm = np.array([v[measure] for v in values])
        got_r = []
        for b in range(B):
            cs = cov[idx[b]]
            if np.all(cs == cs[0]):
                continue  # collinear with the intercept
            M = partial_residual_maker(cs)
            rx, ry = stats.rankdata(xm[idx[b]]), stats.rankdata(bench[idx[b]])
            ex, ey = M @ rx, M @ ry
            if ex @ ex <= 1e-20 * (rx @ rx) or ey @ ey <= 1e-20 * (ry @ ry):
                continue
            got_r.append(float(ex @ ey / math.sqrt((ex @ ex) * (ey @ ey))))
        c = stat(r, measure, "score")["partial_spearman"]
        want = np.percentile(got_r, [5, 95])
        close(f"{measure} partial CI low", c["ci"][0], want[0], 1e-9)
        close(f"{measure} partial CI high", c["ci"][1], want[1], 1e-9)
        if c["bootstrap_skipped"] != B - len(got_r):
            raise Fail(f"partial bootstrap_skipped {c['bootstrap_skipped']}, want {B - len(got_r)}")
        if B - len(got_r) == 0:
            raise Fail("no resample was skipped: the test does not reach the skip path")


def check_permutation_p_uniform_under_independence_small_when_strong():
    rng = np.random.default_rng(9)
    n, nb, R = 10, 40, 999
    x = rng.random(n)
    benches = 0.2 + 0.7 * rng.random((n, nb))
    benches[:, 0] = 0.2 + 0.7 * x  # a score that is the measure itself
    r, values, table, cols = run_against_scipy("uniform", x, benches, n_orders=8, perms=R, boot=200)
    ps = [c["spearman"]["p_perm"] for c in r["correlations"] if c["target"] not in ("b0", "aggregate")]
    ps += [c["pearson"]["p_perm"] for c in r["correlations"] if c["target"] not in ("b0", "aggregate")]
    ks = stats.kstest(ps, "uniform")
    if ks.pvalue < 1e-3 or abs(np.mean(ps) - 0.5) > 0.05:
        raise Fail(f"permutation p-values under independence: mean {np.mean(ps):.3f}, KS p {ks.pvalue:.2g} ({len(ps)} values)")
    strong = stat(r, "optimality_n1", "b0")
    if strong["spearman"]["p_perm"] != 1 / (R + 1) or strong["pearson"]["p_perm"] != 1 / (R + 1):
        raise Fail(f"a perfect correlation must give p_perm = 1/(R+1): {strong}")
    if strong["spearman"]["ci_includes_0"]:
        raise Fail("a perfect correlation's interval includes 0")
    if "CI includes 0" not in table:
        raise Fail("the table never says 'CI includes 0' though most measures are independent of the score")


# ---- inputs and outputs ---------------------------------------------------------

REAL = {}


def real_results():
    """A small training run: its trace (four checkpoints) and an analyze of
    each checkpoint."""
    if REAL:
        return REAL
    with open("/usr/share/common-licenses/GPL-3") as f:
        lines = [" ".join(l.split()) for l in f if len(l.split()) > 3]
    corpus = tmp("real/corpus.txt")
    os.makedirs(os.path.dirname(corpus), exist_ok=True)
    with open(corpus, "w") as f:
        f.write("\n".join(lines[:200]) + "\n")
    runs = tmp("real/run")
    run("train", corpus, "--out", runs, "--layers", 2, "--d-model", 32, "--heads", 2, "--context", 48, "--batch", 4,
        "--steps", 8, "--checkpoints", 4, "--seed", 1)
    args = ("--ngrams", "1,2", "--bins", 24, "--max-length", 48, "--max-docs", 60)
    run("trace", runs, corpus, "--out", tmp("real/trace"), *args, "--null", 3, "--correction", "null")
    steps = sorted(int(d[5:]) for d in os.listdir(runs) if d.startswith("step-"))
    paths = []
    for s in steps:
        out = tmp(f"real/a{s}")
        run("analyze", os.path.join(runs, f"step-{s}"), corpus, "--out", out, *args, *(("--null", 3) if s != steps[-1] else ("--correction", "none")))
        paths.append(os.path.join(out, "analysis.json"))
    REAL.update(steps=steps, analyses=paths, trace=tmp("real/trace/trajectory.json"), run=runs)
    return REAL


def check_real_analyze_output():
    """Real analysis.json files: the measures read are the files' layer
    means (plug-in for all, since the last ran --correction none, and so
    labelled),
    or a chosen layer's values; the scores join on the model's basename."""
    rr = real_results()
    steps = rr["steps"]
    bench = [0.3, 0.45, 0.4, 0.7][: len(steps)]
    scores = write_wide(tmp("real/scores.csv"), [f"step-{s}" for s in steps], ["acc"], np.array(bench).reshape(-1, 1))
    r, table = correlate(tmp("real/out"), rr["analyses"], scores, "--permutations", 99, "--bootstrap", 50)
    if "plug-in (a result without corrected values" not in table:
        raise Fail("a set with a result lacking corrected values must say its values are plug-in")
    docs = [json.load(open(p)) for p in rr["analyses"]]
    for m, doc in zip(r["models"], docs):
        lm = doc["layer_mean"]
        o1 = next(o for o in lm["orders"] if o["n"] == 1)
        o2 = next(o for o in lm["orders"] if o["n"] == 2)
        for key, want in (("H", lm["H"]), ("complexity_n1", o1["I_in"]), ("optimality_n2", o2["optimality"]),
                          ("dI_out_n2", o2["I_out"] - o1["I_out"])):
            close(f"{m['name']} {key}", m["measures"][key], want, 1e-12)
    for c in r["correlations"]:
        if c["measure"] != "H" and not c["basis"].startswith("plug-in"):
            raise Fail(f"basis {c['basis']} with a result lacking corrected values")
    # fewer than 4 models, and --layer 1
    for_layer = rr["analyses"][:3]
    sc3 = write_wide(tmp("real/scores3.csv"), [f"step-{s}" for s in steps[:3]] + ["extra"], ["acc"], np.array([0.3, 0.5, 0.4, 0.9]).reshape(-1, 1))
    expect_error(("correlate", *for_layer, "--scores", sc3, "--out", tmp("real/out3")), "3 models", "at least 4", code=1)
    r, _ = correlate(tmp("real/out4"), rr["analyses"], scores, "--permutations", 0, "--bootstrap", 0, "--layer", 1, "--no-figures")
    for m, doc in zip(r["models"], docs):
        l1 = next(l for l in doc["layers"] if l["layer"] == 1)
        close(f"{m['name']} layer 1 H", m["measures"]["H"], l1["H"], 1e-12)
        close(f"{m['name']} layer 1 complexity_n2", m["measures"]["complexity_n2"], l1["orders"][1]["I_in"], 1e-12)


def check_real_trace_output_corrected():
    """A real trajectory.json: a model per checkpoint, named RUN@STEP,
    corrected values (the headline's, here I - null mean)."""
    rr = real_results()
    t = json.load(open(rr["trace"]))
    base = os.path.basename(rr["run"].rstrip("/"))
    names = [f"{base}@{c['step']}" for c in t["checkpoints"]]
    bench = np.array([0.3, 0.5, 0.45, 0.8][: len(names)])
    scores = write_wide(tmp("real/tscores.csv"), names, ["acc"], bench.reshape(-1, 1))
    r, table = correlate(tmp("real/tout"), [rr["trace"]], scores, "--permutations", 99, "--bootstrap", 50, "--layers", "1-2")
    if "corrected (the headline correction of each result)" not in table:
        raise Fail("a corrected trace must lead with corrected values")
    for m, c in zip(r["models"], t["checkpoints"]):
        ls = [l for l in c["layers"] if 1 <= l["layer"] <= 2]
        want_in = np.mean([next(o for o in l["orders"] if o["n"] == 1)["in"]["I_corrected"] for l in ls])
        want_out = np.mean([next(o for o in l["orders"] if o["n"] == 1)["out"]["I_corrected"] for l in ls])
        close(f"{m['name']} complexity_n1 over layers 1-2", m["measures"]["complexity_n1"], want_in, 1e-12)
        close(f"{m['name']} optimality_n1 over layers 1-2", m["measures"]["optimality_n1"], want_out / want_in, 1e-12)
    xm = np.array([m["measures"]["optimality_n1"] for m in r["models"]])
    s, ps, q, pq = scipy_pair(xm, bench)
    close("trace spearman", stat(r, "optimality_n1", "acc")["spearman"]["r"], s, TOL)
    close("trace pearson p", stat(r, "optimality_n1", "acc")["pearson"]["p_t"], pq, TOL)


def check_aggregate_tidy_baselines_and_wide_agree():
    """Tidy scores with a baseline column, a percentage benchmark, a
    --baseline override and a score below its baseline (clipped to 0): the
    aggregate is the Leaderboard-v2 mean; the same scores wide give the same
    correlations."""
    rng = np.random.default_rng(13)
    n = 8
    x = rng.random(n)
    names = [f"m{i}" for i in range(n)]
    paths, values = synth_set("agg", x, 2)
    a = 0.25 + 0.7 * rng.random(n)
    a[0] = 0.1  # below the baseline 0.25
    b = 100 * (0.5 + 0.5 * rng.random(n))  # percentages, baseline 50
    c = rng.random(n)  # no baseline: 0
    params = rng.integers(1, 100, n) * 1e8
    tidy = tmp("agg/tidy.csv")
    with open(tidy, "w") as f:
        f.write("model,benchmark,score,baseline\n")
        for i in range(n):
            f.write(f"m{i},arc,{a[i]!r},0.25\n\"m{i}\",\"hella swag\",{b[i]!r},50\nm{i},mmlu,{c[i]!r},\nm{i},params,{params[i]!r},\n")
    r1, _ = correlate(tmp("agg/out1"), paths, tidy, "--covariate", "params", "--baseline", "mmlu=0.2", "--permutations", 50,
                      "--bootstrap", 50)
    want = (normalised(a, 0.25, 1) + normalised(b, 50, 100) + normalised(c, 0.2, 1)) / 3
    got = np.array([m["aggregate"] for m in r1["models"]])
    if np.max(np.abs(got - want)) > 1e-10:
        raise Fail(f"aggregate {got} vs Leaderboard-v2 mean {want}")
    if r1["models"][0]["normalised"]["arc"] != 0:
        raise Fail("a score below its baseline must normalise to 0")
    wide = write_wide(tmp("agg/wide.csv"), names, ["arc", "hella swag", "mmlu", "params"], np.column_stack([a, b, c, params]))
    r2, _ = correlate(tmp("agg/out2"), paths, wide, "--covariate", "params", "--baseline", "mmlu=0.2", "--baseline", "arc=0.25",
                      "--baseline", "hella swag=50", "--permutations", 50, "--bootstrap", 50)
    for c1, c2 in zip(r1["correlations"], r2["correlations"]):
        if json.dumps(c1, sort_keys=True) != json.dumps(c2, sort_keys=True):
            raise Fail(f"tidy and wide differ: {c1} vs {c2}")
    if r1["scores_format"] != "tidy" or r2["scores_format"] != "wide":
        raise Fail("scores_format")
    # outputs: the tidy CSV holds the JSON's numbers, the figures are there
    with open(tmp("agg/out1/correlate.csv")) as f:
        rows = list(csv.DictReader(f))
    if list(rows[0].keys()) != ["measure", "order", "benchmark", "statistic", "value"]:
        raise Fail(f"CSV header {list(rows[0].keys())}")
    row = next(x for x in rows if x["measure"] == "optimality" and x["order"] == "1" and x["benchmark"] == "aggregate"
               and x["statistic"] == "partial_spearman")
    close("CSV partial", float(row["value"]), stat(r1, "optimality_n1", "aggregate")["partial_spearman"]["r"], 1e-15)
    if shutil.which("gnuplot"):
        for name in ("scatter_optimality_n1.png", "scatter_H.svg", "heatmap.png", "heatmap.svg", "heatmap.gp", "scatter.tsv"):
            p = tmp(f"agg/out1/{name}")
            if not os.path.exists(p) or os.path.getsize(p) == 0:
                raise Fail(f"{name} missing or empty")
    if "preference" not in r1["measures_left_out"]:
        raise Fail("the output must say preference information is left out")
    text = open(tmp("agg/out1/correlate.json")).read()
    if "NaN" in text or "Infinity" in text:
        raise Fail("NaN in correlate.json")


def check_bad_input():
    d = tmp("bad")
    x = np.linspace(0.1, 0.9, 5)
    paths, _ = synth_set("bad/ok", x, 2)
    names = [f"m{i}" for i in range(5)]
    good = write_wide(f"{d}/good.csv", names, ["acc"], np.array([[0.3], [0.4], [0.35], [0.6], [0.5]]))
    out = ("--out", f"{d}/out")

    def bad(args, *words, code=1):
        expect_error(("correlate", *args, *out), *words, code=code)

    def csv_file(name, text):
        p = f"{d}/{name}"
        with open(p, "w") as f:
            f.write(text)
        return p

    # mismatched names, listed
    mism = write_wide(f"{d}/mism.csv", ["m0", "m1", "mX", "m3", "mY"], ["acc"], np.array([[0.3], [0.4], [0.35], [0.6], [0.5]]))
    bad((*paths, "--scores", mism), mism, "m2", "m4", "mX")
    bad((*paths[:3], "--scores", good), "3 models", "at least 4")
    # one result in bits among efficiencies
    with open(paths[2]) as f:
        doc = json.load(f)
    doc["settings"] = {"units": "bits"}
    bits = tmp("bad/bits/m2/analysis.json")
    os.makedirs(os.path.dirname(bits), exist_ok=True)
    with open(bits, "w") as f:
        json.dump(doc, f)
    bad((*paths[:2], bits, *paths[3:], "--scores", good), bits, "bits", "--units")
    # constant columns: a measure, a benchmark, a covariate
    cpaths = [synth(f"{d}/const/m{i}/analysis.json", f"m{i}", 0.5, {1: (0.1 * i, 0.2 + 0.1 * i, 0.3 + 0.01 * i)}) for i in range(5)]
    bad((*cpaths, "--scores", good), cpaths[0], "measure H", "constant")
    cst = write_wide(f"{d}/cst.csv", names, ["acc", "flat"], np.array([[0.3, 0.5], [0.4, 0.5], [0.35, 0.5], [0.6, 0.5], [0.5, 0.5]]))
    bad((*paths, "--scores", cst), cst, "flat", "constant")
    bad((*paths, "--scores", cst, "--covariate", "flat"), cst, "covariate", "flat", "constant")
    # NaN and missing scores
    bad((*paths, "--scores", csv_file("nan.csv", "model,acc\nm0,0.3\nm1,nan\nm2,0.4\nm3,0.5\nm4,0.6\n")), "nan.csv", "NaN", "acc", "m1")
    bad((*paths, "--scores", csv_file("empty_cell.csv", "model,acc,b\nm0,0.3,0.1\nm1,,0.2\nm2,0.4,0.3\nm3,0.5,0.4\nm4,0.6,0.5\n")),
        "empty_cell.csv", "acc", "m1")
    bad((*paths, "--scores", csv_file("tidy_gap.csv", "model,benchmark,score\nm0,a,0.3\nm1,a,0.4\nm2,a,0.5\nm3,a,0.6\nm4,b,0.1\n")),
        "tidy_gap.csv", "no (or a NaN) score")
    # malformed CSV
    for name, text, words in (("quote.csv", 'model,acc\n"m0,0.3\n', ("quote.csv", "line 2")),
                              ("fields.csv", "model,acc\nm0,0.3,0.4\n", ("fields.csv", "line 2", "3 fields")),
                              ("word.csv", "model,acc\nm0,high\n", ("word.csv", "line 2", "not a number")),
                              ("empty.csv", "", ("empty.csv", "empty")),
                              ("header.csv", "model,acc\n", ("header.csv", "no scores")),
                              ("one.csv", "model\nm0\n", ("one.csv", "one column")),
                              ("dup.csv", "model,acc\nm0,0.3\nm0,0.4\n", ("dup.csv", "line 3", "m0")),
                              ("duphead.csv", "model,acc,acc\nm0,0.3,0.3\n", ("duphead.csv", "twice")),
                              ("tidydup.csv", "model,benchmark,score\nm0,a,0.3\nm0,a,0.4\n", ("tidydup.csv", "line 3", "second score")),
                              ("range.csv", "model,acc\nm0,300\nm1,0.4\nm2,0.5\nm3,0.6\nm4,0.7\n", ("range.csv", "outside")),
                              ("binary.csv", "model,acc\nm0,0.3\x00\n", ("binary.csv",))):
        bad((*paths, "--scores", csv_file(name, text)), *words)
    bad((*paths, "--scores", f"{d}/absent.csv"), "absent.csv")
    bad((*paths, "--scores", good, "--covariate", "params"), "good.csv", "params", "acc")
    bad((*paths, "--scores", good, "--baseline", "nope=0.2"), "nope", "not a benchmark")
    bad((*paths, "--scores", good, "--baseline", "acc=1"), "good.csv", "baseline")
    # malformed and incomplete JSON
    def json_file(name, text):
        p = f"{d}/{name}"
        with open(p, "w") as f:
            f.write(text)
        return p
    doc = json.load(open(paths[0]))
    variants = {
        "trunc.json": open(paths[0]).read()[:200],
        "array.json": "[1, 2]",
        "nocommand.json": json.dumps({k: v for k, v in doc.items() if k != "command"}),
        "nopath.json": json.dumps({**doc, "model": {"arch": "gpt2"}}),
        "nomean.json": json.dumps({k: v for k, v in doc.items() if k != "layer_mean"}),
        "noorders.json": json.dumps({**doc, "layer_mean": {"H": 0.5}}),
        "noIin.json": json.dumps({**doc, "layer_mean": {"H": 0.5, "orders": [{"n": 1, "I_out": 0.1}]}}),
        "badn.json": json.dumps({**doc, "layer_mean": {"H": 0.5, "orders": [{**doc["layer_mean"]["orders"][0], "n": 99}]}}),
        "strH.json": json.dumps({**doc, "layer_mean": {**doc["layer_mean"], "H": "high"}}),
        "trace_empty.json": json.dumps({"command": "trace", "run": "r", "checkpoints": []}),
        "trace_nostep.json": json.dumps({"command": "trace", "run": "r", "checkpoints": [{"path": "r/step-1"}]}),
    }
    keys = {"trunc.json": (), "array.json": ("not a JSON object",), "nocommand.json": ("command",), "nopath.json": ("model.path",),
            "nomean.json": ("layer_mean",), "noorders.json": ("orders",), "noIin.json": ("I_in",), "badn.json": ("order",),
            "strH.json": ("H",), "trace_empty.json": ("checkpoints",), "trace_nostep.json": ("step",)}
    for name, text in variants.items():
        p = json_file(name, text)
        bad((p, *paths[1:], "--scores", good), name, *keys[name])
    bad((*paths, paths[0], "--scores", good), "/models/m0", "once")
    bad((*paths, "--scores", good, "--layer", 3), "layer 3")
    bad((*paths, f"{d}/absent.json", "--scores", good), "absent.json")
    # usage errors exit 2
    bad((*paths,), "--scores", code=2)
    bad(("--scores", good), "results", code=2)
    bad((*paths, "--scores", good, "--layers", "3-1"), "--layers", code=2)
    bad((*paths, "--scores", good, "--level", "1.5"), "--level", code=2)
    bad((*paths, "--scores", good, "--baseline", "acc"), "BENCH=VALUE", code=2)


def check_help():
    p = run("correlate", "--help")
    for w in ("--scores", "--covariate", "--baseline", "--permutations", "--bootstrap", "--layers", "Leaderboard"):
        if w not in p.stdout:
            raise Fail(f"--help does not mention {w}")


main(globals())
