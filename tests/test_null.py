"""The permutation null: with labels independent of Z the bias-corrected I
sits within 3 null sd of 0 (unigram- and bigram-like label sets); with
labels that carry information the p-value is below 0.01; the null
agrees with an explicit NumPy permutation test in distribution; labels of
whole documents whose rows are correlated fool a row-level null and not
the null over groups (--null-groups), whose distribution is a NumPy
permutation of the documents' labels; and an optimality over independent
labels (corrected I(in) near or below 0) is "undefined" or a number in the
table, null or a number in JSON, never NaN."""
import csv
import json

import numpy as np

import oracle
import table
from common import Fail, close, estimate_json, expect_error, main, run, save_npy, tmp


def zipf_tokens(n, v, seed):
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, v + 1)
    p = 1 / ranks**1.1
    return rng.choice(v, size=n, p=p / p.sum())


def check_independent_labels_corrected_near_zero():
    rng = np.random.default_rng(5)
    n, d = 20000, 64
    z = rng.standard_normal((n, d)).astype(np.float32)
    tokens = zipf_tokens(n + 1, 2000, 6)
    uni = tokens[:n]
    bi = np.stack([tokens[:n], tokens[1:]], axis=1)
    r = estimate_json(save_npy("n_z.npy", z), "--labels", "uni=" + save_npy("n_uni.npy", uni),
                      "--labels", "bi=" + save_npy("n_bi.npy", bi), "--null", 30)
    for s in r["label_sets"]:
        null = s["null"]
        if not s["I"] > 0.01:
            raise Fail(f"{s['name']}: plug-in I = {s['I']:.4f}; expected visible upward bias on independent labels")
        if not abs(null["I_corrected"]) <= 3 * null["I_null_sd"]:
            raise Fail(f"{s['name']}: corrected I {null['I_corrected']:.5f} beyond 3 sd ({null['I_null_sd']:.5f})")


def check_informative_labels_significant():
    rng = np.random.default_rng(8)
    n, d, k = 5000, 32, 20
    y = rng.integers(0, k, n)
    z = (rng.standard_normal((k, d))[y] * 0.5 + rng.standard_normal((n, d))).astype(np.float32)
    r = estimate_json(save_npy("i_z.npy", z), "--labels", "y=" + save_npy("i_y.npy", y), "--null", 199)
    null = r["label_sets"][0]["null"]
    if not null["p_value"] < 0.01:
        raise Fail(f"p = {null['p_value']} for labels that shape Z")
    if not null["I_corrected"] > 5 * null["I_null_sd"]:
        raise Fail(f"corrected I {null['I_corrected']} not well above the null sd {null['I_null_sd']}")


def check_null_matches_numpy_permutations():
    """softent's permutations are its own, so compare distributions: the
    mean of its null I against the mean over NumPy permutations."""
    rng = np.random.default_rng(9)
    n, d = 3000, 16
    z = rng.standard_normal((n, d)).astype(np.float32)
    y = zipf_tokens(n, 300, 10)
    r = estimate_json(save_npy("m_z.npy", z), "--labels", "y=" + save_npy("m_y.npy", y), "--null", 100)
    w = oracle.reference_points(0, 100, d)
    p, _ = oracle.soft_assign(z, w, r["settings"]["eps"])
    perm_rng = np.random.default_rng(11)
    ref = [oracle.labelset_measures(p, perm_rng.permutation(y))["I"] for _ in range(100)]
    null = r["label_sets"][0]["null"]
    se = np.std(ref) * np.sqrt(1 / 100 + 1 / 100)
    if not abs(null["I_null_mean"] - np.mean(ref)) < 4 * se:
        raise Fail(f"null mean {null['I_null_mean']:.6f} vs NumPy permutations {np.mean(ref):.6f} (se {se:.2g})")
    if not 0.6 < null["I_null_sd"] / np.std(ref, ddof=1) < 1.6:
        raise Fail(f"null sd {null['I_null_sd']:.3g} vs NumPy permutations {np.std(ref, ddof=1):.3g}")


def documents(seed, g=60, rows=40, d=16):
    """g documents of `rows` rows each: a document's rows share its own
    random centre, and its label (0/1) is drawn independently of it, so the
    population I(label; Z) is 0."""
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((g, d)) * 1.5
    doc = np.repeat(np.arange(g), rows)
    z = (centre[doc] + 0.5 * rng.standard_normal((g * rows, d))).astype(np.float32)
    label = rng.integers(0, 2, g)
    return z, label[doc], doc


def grouped_estimate(seed, z, y, doc, *extra):
    tag = f"g{seed}"
    return estimate_json(save_npy(f"{tag}_z.npy", z), "--labels", "y=" + save_npy(f"{tag}_y.npy", y), "--groups",
                         save_npy(f"{tag}_g.npy", doc), "--null", 99, *extra)["label_sets"][0]


def check_null_over_groups():
    """Labels of whole documents, independent of Z in the population: the
    row-level null calls nearly every data set significant, the null over
    groups does not (its p-values spread like a uniform's), and its mean and
    sd are those of NumPy permutations of the documents' labels."""
    row_p, group_p = [], []
    for seed in range(10):
        z, y, doc = documents(100 + seed)
        row_p.append(grouped_estimate(seed, z, y, doc, "--bootstrap", 10)["null"]["p_value"])
        group_p.append(grouped_estimate(seed, z, y, doc, "--null-groups")["null"]["p_value"])
    if sum(p <= 0.02 for p in row_p) < 8:
        raise Fail(f"the row-level null should be fooled by correlated rows (p {row_p}); the check tests nothing")
    if sum(p < 0.05 for p in group_p) > 2 or not 0.2 < np.mean(group_p) < 0.8:
        raise Fail(f"the null over groups gives p {group_p} for labels independent of Z")
    z, y, doc = documents(7)
    null = grouped_estimate(7, z, y, doc, "--null-groups")["null"]
    w = oracle.reference_points(0, 100, z.shape[1])
    r = estimate_json(save_npy("g_ref_z.npy", z), "--labels", "y=" + save_npy("g_ref_y.npy", y))
    p, _ = oracle.soft_assign(z, w, r["settings"]["eps"])
    labels = y[::40]
    perm_rng = np.random.default_rng(12)
    ref = [oracle.labelset_measures(p, np.repeat(perm_rng.permutation(labels), 40))["I"] for _ in range(200)]
    se = np.sqrt(null["I_null_sd"] ** 2 / 99 + np.var(ref) / 200)
    if not abs(null["I_null_mean"] - np.mean(ref)) < 4 * se:
        raise Fail(f"grouped null mean {null['I_null_mean']:.6f} vs NumPy document permutations {np.mean(ref):.6f} (se {se:.2g})")
    if not 0.6 < null["I_null_sd"] / np.std(ref, ddof=1) < 1.6:
        raise Fail(f"grouped null sd {null['I_null_sd']:.3g} vs NumPy document permutations {np.std(ref, ddof=1):.3g}")


def check_scaled_null_matches_exact_null():
    """The scaled null (no permutations) against the exact one with R = 200
    on the clustered mixture with Zipf token labels: unigram, bigram and
    cluster sets, prob and uniform weighting, min-count 2; a reservoir that
    holds every row and one of 512 of the 8000 rows.  Means within one exact
    null sd (the issue asks two), sds within 25%."""
    import synthetic
    n = 8000
    z, lab = synthetic.Mixture(spread=1.0).sample(n, 3)
    tok = zipf_tokens(n + 1, 3000, 4)
    zf = save_npy("sn_z.npy", z)
    sets = ["--labels", "clu=" + save_npy("sn_clu.npy", lab), "--labels", "uni=" + save_npy("sn_uni.npy", tok[:n]),
            "--labels", "bi=" + save_npy("sn_bi.npy", np.stack([tok[:n], tok[1:]], axis=1))]
    worst = 0.0
    for extra in ((), ("--min-count", 2), ("--weighting", "uniform")):
        exact = estimate_json(zf, *sets, "--null", 200, *extra)
        for reservoir in ("scaled", "scaled:512"):
            scaled = estimate_json(zf, *sets, "--null", reservoir, *extra)
            for a, b in zip(exact["label_sets"], scaled["label_sets"]):
                ne, ns = a["null"], b["null"]
                if ns["method"] != "scaled" or ns["perms"] != 0:
                    raise Fail(f"scaled null reported as {ns['method']} with {ns['perms']} permutations")
                diff = abs(ns["I_null_mean"] - ne["I_null_mean"]) / ne["I_null_sd"]
                ratio = ns["I_null_sd"] / ne["I_null_sd"]
                worst = max(worst, diff)
                where = f"{a['name']} {' '.join(map(str, extra))} {reservoir}"
                if diff > 1:
                    raise Fail(f"{where}: scaled null mean {ns['I_null_mean']:.5f} vs exact {ne['I_null_mean']:.5f} (sd {ne['I_null_sd']:.5f})")
                if not 0.75 < ratio < 1.33:
                    raise Fail(f"{where}: scaled null sd {ns['I_null_sd']:.5f} vs exact {ne['I_null_sd']:.5f}")
                close(f"{where} corrected", ns["I_corrected"], b["I"] - ns["I_null_mean"], 1e-12)
    print(f"  worst |scaled - exact| null mean: {worst:.2f} exact null sd")


def check_scaled_null_refusals():
    z = save_npy("sr_z.npy", np.random.default_rng(1).standard_normal((300, 8)).astype(np.float32))
    y = "y=" + save_npy("sr_y.npy", np.arange(300) % 7)
    expect_error(["estimate", z, "--labels", y, "--null", "scaled:1"], "scaled", code=2)
    expect_error(["estimate", z, "--labels", y, "--null", "scaledx"], "scaled", code=2)
    g = save_npy("sr_g.npy", np.arange(300) // 10)
    expect_error(["estimate", z, "--labels", y, "--null", "scaled", "--groups", g, "--null-groups"], "--null-groups", "--null R", code=2)


def check_optimality_over_independent_labels():
    rng = np.random.default_rng(12)
    n, d, k = 4000, 16, 8
    y = rng.integers(0, k, n)
    z = (rng.standard_normal((k, d))[y] + rng.standard_normal((n, d))).astype(np.float32)
    args = [save_npy("o_z.npy", z), "--labels", "y=" + save_npy("o_y.npy", y), "--null", 30, "--correction", "null"]
    names = [f"u{i}" for i in range(4)]  # independent of Z: I_c near 0, some below
    for i, name in enumerate(names):
        args += ["--labels", f"{name}=" + save_npy(f"o_{name}.npy", zipf_tokens(n, 200, 20 + i)), "--optimality", f"y,{name}"]
    stdout = run("estimate", *args, "--json", tmp("o.json"), "--csv", tmp("o.csv")).stdout
    with open(tmp("o.json")) as f:
        r = json.load(f)
    with open(tmp("o.csv")) as f:
        rows = {r["label_set"]: r["value"] for r in csv.DictReader(f) if r["measure"] == "optimality_corrected"}
    ic = {s["name"]: s["null"]["I_corrected"] for s in r["label_sets"]}
    printed = table.optimality(stdout)
    if table.has_nan(stdout):
        raise Fail(f"nan in the table:\n{stdout}")
    for o in r["optimality"]:
        name, v = o["in"], o["value_corrected"]
        undefined = printed[("y", name)]["text"].startswith(f"undefined (corrected I({name}) <= 0)")
        if (ic[name] <= 0) != (v is None) or (v is None) != undefined or (v is None) != (rows[f"y,{name}"] == ""):
            raise Fail(f"I_c({name}) = {ic[name]}: JSON {v}, CSV {rows[f'y,{name}']!r}, table {printed[('y', name)]}")
        if v is not None and not abs(v - ic["y"] / ic[name]) <= 1e-9 * abs(v):
            raise Fail(f"corrected optimality y,{name} = {v}, I_c ratio {ic['y'] / ic[name]}")
    if all(v > 0 for v in ic.values()):
        raise Fail(f"no independent set with I_c <= 0 ({ic}): the undefined case went untested")


main(globals())
