"""A NumPy implementation of the soft-entropy estimator (SPEC section 2),
written from the formulas, independent of softent's C code.  Tests compare
softent against it.

reference_points: numpy default_rng(seed).standard_normal((m, d)), rows
normalised in float64, stored float32 (softent's convention).
measures: H(Z), and per label set H, H(Z|X), I; in float64 throughout.
eps_bound: the reference Python's find_eps (a lower bound on the vMF KL),
solved with scipy's brentq as that code does.
"""
import math

import numpy as np


def reference_points(seed, m, d):
    w = np.random.default_rng(seed).standard_normal((m, d))
    return (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(np.float32)


def round_bf16(x):
    """x rounded to bfloat16 (to nearest even) by PyTorch, back as float64."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(torch.bfloat16).double().numpy()


def soft_assign(z, w, eps, product="f32"):
    """Soft assignments in float64; product "bf16" rounds z and w to bf16
    for the product z.w_j alone (the norms stay those of z)."""
    z = np.asarray(z, dtype=np.float64)
    norms = np.linalg.norm(z, axis=1)
    keep = np.isfinite(norms) & (norms > 0)
    w = np.asarray(w, dtype=np.float64)
    if product == "bf16":
        z, w = round_bf16(z), round_bf16(w)
    s = (z[keep] @ w.T) / norms[keep, None] / eps
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    return p / p.sum(axis=1, keepdims=True), keep


def entropy(c):
    c = np.asarray(c, dtype=np.float64)
    q = c / c.sum()
    return float(-(q * np.log(np.clip(q, 1e-9, None))).sum() / math.log(len(c)))


def key_ids(labels):
    """Row -> id of its key (rows of a 2-D array are tuple keys)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    _, ids, counts = np.unique(labels, axis=0, return_inverse=True, return_counts=True)
    return ids.reshape(-1), counts


def labelset_measures(p, labels, weighting="prob", min_count=1):
    """H over kept rows, H(Z|X) and I for one label set, p over usable rows."""
    ids, counts = key_ids(labels)
    kept = counts[ids] >= min_count
    p, ids = p[kept], ids[kept]
    H = entropy(p.sum(axis=0))
    hs, ws = [], []
    for v in np.unique(ids):
        rows = ids == v
        hs.append(entropy(p[rows].sum(axis=0)))
        ws.append(rows.sum())
    hs, ws = np.array(hs), np.array(ws, dtype=np.float64)
    H_cond = float(hs.mean()) if weighting == "uniform" else float((ws * hs).sum() / ws.sum())
    return {"H": H, "H_cond": H_cond, "I": H - H_cond, "rows": int(kept.sum())}


def measures(z, w, eps, label_sets=None, weighting="prob", min_count=1, product="f32"):
    p, keep = soft_assign(z, w, eps, product)
    out = {"H": entropy(p.sum(axis=0)), "skipped": int((~keep).sum()), "sets": {}}
    for name, labels in (label_sets or {}).items():
        labels = np.asarray(labels)[keep]
        out["sets"][name] = labelset_measures(p, labels, weighting, min_count)
    return out


def eps_bound(m, d):
    """The reference code's default temperature (its find_eps)."""
    from scipy.optimize import brentq

    nu = d / 2 - 1

    def kl_lower(eps):
        k = 1 / eps
        g = k / (d / 2 + math.sqrt(k * k + (d / 2) ** 2))
        r = math.sqrt(k * k + nu * nu)
        phi = r - nu + nu * math.log((d - 2) / (nu + r))
        return g / eps - phi

    return brentq(lambda e: kl_lower(e) - math.log(m), 1e-5, 1)


def reference_python_mi(z, labels, m, seed, eps):
    """The reference Python's soft_mutual_information (soft_entropy.numpy):
    float64 reference points, P(x)-weighted conditional entropies."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((m, z.shape[1]))
    w = w / np.linalg.norm(w, axis=-1, keepdims=True)

    def h(zz):
        zn = zz / np.linalg.norm(zz, axis=-1, keepdims=True)
        s = zn @ w.T / eps
        s -= s.max(axis=-1, keepdims=True)
        e = np.exp(s)
        p = (e / e.sum(axis=-1, keepdims=True)).mean(axis=0)
        return -(p * np.log(np.clip(p, 1e-9, None))).sum() / math.log(m)

    hz = h(z)
    hc = sum((labels == v).mean() * h(z[labels == v]) for v in np.unique(labels))
    return hz, hz - hc


def curve_mi(p, labels, m):
    """The curve-corrected I (docs/statistics.md, prob weighting) from soft
    assignments p in row order: each value's running mean read at counts
    1, 2, 4, ...; level a pools H(mean at 2^(a+1)) - H(mean at 2^a) over
    values; levels with 32 samples (a quarter of the values seen twice when
    fewer) are read, then levels of at least 8 whose standard error is at
    most a quarter of their mean; the tail J(n) = A/(n + n0) takes n0 from
    the last two fully sampled levels.  Returns (I, levels read)."""
    ids, counts = key_ids(labels)
    diffs = {}
    for v in np.flatnonzero(counts >= 2):
        c = np.cumsum(p[ids == v], axis=0)
        a = 0
        while 2 ** (a + 1) <= len(c):
            diffs.setdefault(a, []).append(entropy(c[2 ** (a + 1) - 1]) - entropy(c[2 ** a - 1]))
            a += 1
    need = max(1, min(32, len(diffs.get(0, [])) // 4))
    D, fit = [], 0
    while len(diffs.get(len(D), [])) >= min(need, 8):
        x = np.array(diffs[len(D)])
        se = x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else 0.0
        if len(x) < need and not (x.mean() > 0 and se <= 0.25 * x.mean()):
            break
        if len(x) >= need and fit == len(D):
            fit += 1
        D.append(x.mean())
    top = len(D)
    if top == 0:
        return float("nan"), -1
    tail = D[-1]
    if fit >= 2 and D[fit - 2] > 0 and D[fit - 1] > 0:
        k, R = 2.0 ** (fit - 2), D[fit - 1] / D[fit - 2]
        n0 = min(max(k * (4 * R - 2) / (2 - R) if R < 2 else 8 * k, 0.0), 8 * k)
        K = 2.0 ** (top - 1)
        tail = D[-1] * (K + n0) / K
    J = np.zeros(top + 1)
    J[top] = max(tail, 0.0)
    for a in range(top - 1, -1, -1):
        J[a] = J[a + 1] + D[a]

    def bias(n):
        la = math.log2(n)
        if la >= top:
            return J[top] * 2.0 ** top / n
        a = int(la)
        return J[a] + (la - a) * (J[a + 1] - J[a])

    N = len(ids)
    total = p.sum(axis=0)
    mean = total / N
    var = (p * p).sum(axis=0) / N - mean * mean
    keep = mean > 1e-12
    H = entropy(total) + (np.maximum(var[keep] * N / (N - 1), 0) / mean[keep]).sum() / (2 * N) / math.log(m)
    Hc = sum(counts[v] * (entropy(p[ids == v].sum(axis=0)) + bias(counts[v])) for v in range(len(counts))) / N
    return H - Hc, top
