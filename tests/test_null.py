"""The permutation null: with labels independent of Z the bias-corrected I
sits within 3 null sd of 0 (unigram- and bigram-like label sets); with
labels that carry information the p-value is below 0.01; and the null
agrees with an explicit NumPy permutation test in distribution."""
import numpy as np

import oracle
from common import Fail, estimate_json, main, save_npy


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


main(globals())
