"""The null's permutations (lib/permute.c): each is a bijection of [0, n),
different seeds and indices give different permutations, and over many
permutations every row lands on every position about equally often
(chi-square against the uniform distribution, via NumPy)."""
import math
import os
import subprocess

import numpy as np

from common import BUILD, Fail, main

DRIVER = os.path.join(BUILD, "tests", "perm_driver")


def perm(n, seed, r, count=1):
    out = subprocess.run([DRIVER, str(n), str(seed), str(r), str(count)], capture_output=True, text=True, check=True).stdout
    p = np.array(out.split(), dtype=np.int64)
    return p if count == 1 else p.reshape(count, n)


def check_bijection():
    for n in (1, 2, 3, 5, 64, 1000, 4097, 65537):
        p = perm(n, 0, 3)
        if not np.array_equal(np.sort(p), np.arange(n)):
            raise Fail(f"n = {n}: not a permutation")


def check_distinct_permutations():
    ps = [tuple(perm(500, s, r)) for s in (0, 1) for r in range(5)]
    if len(set(ps)) != len(ps):
        raise Fail("two (seed, r) pairs gave the same permutation")


def check_uniform_positions():
    n, reps = 8, 4000
    counts = np.zeros((n, n))
    for p in perm(n, 7, 0, reps):
        counts[np.arange(n), p] += 1
    expected = reps / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    # (n-1)^2 = 49 degrees of freedom: the 0.999 quantile is about 86
    if chi2 > 86:
        raise Fail(f"positions far from uniform: chi-square {chi2:.1f} on 49 df")


def check_small_n_every_order_equally_likely():
    """Up to 32 points a permutation is a keyed Fisher-Yates shuffle: all n!
    orders equally likely (the Feistel network it replaced gave n = 5 a
    chi-square p of 0)."""
    from scipy import stats
    for n, reps in ((2, 4000), (3, 12000), (4, 24000), (5, 36000)):
        orders = perm(n, 11, 0, reps) @ (n ** np.arange(n))
        counts = np.unique(orders, return_counts=True)[1]
        if len(counts) != math.factorial(n):
            raise Fail(f"n = {n}: {len(counts)} of the {math.factorial(n)} orders drawn in {reps} permutations")
        p = stats.chisquare(counts).pvalue
        if p < 1e-4:
            raise Fail(f"n = {n}: orders far from uniform, chi-square p = {p:.2g}")


def check_ordered_pairs_uniform():
    """Where two rows go together, (perm(0), perm(1)), uniform over the n(n-1)
    ordered pairs, on both sides of the shuffle's limit of 32 points (the
    Feistel network failed this at n = 6, 9 and 12)."""
    from scipy import stats
    for n in (6, 9, 12, 32, 33, 64):
        p = perm(n, 5, 0, 20000)
        counts = np.bincount(p[:, 0] * n + p[:, 1], minlength=n * n).reshape(n, n)[~np.eye(n, dtype=bool)]
        pv = stats.chisquare(counts).pvalue
        if pv < 1e-4:
            raise Fail(f"n = {n}: ordered pairs far from uniform, chi-square p = {pv:.2g}")


main(globals())
