"""Synthetic embeddings whose population soft entropy and soft MI are known.

K label values with Zipf frequencies (like n-grams); value x's rows are its
centre c_x (uniform on the sphere) plus isotropic Gaussian noise of scale
spread / sqrt(d), normalised.  The population I = H(sum_x P(x) mu_x) -
sum_x P(x) H(mu_x), mu_x = E[p | x], is computed here in NumPy from a
sample far larger than any test's (`per` rows a value), whose own small
bias is removed with the leading-order term (n = per is large enough for
it to hold).  Tests and scripts/statistics-figure.py use it; nothing in it
calls softent.
"""
import math

import numpy as np

import oracle


def entropy_rows(c, m):
    """H of each row of c (soft counts), as a fraction of log m."""
    q = c / c.sum(axis=-1, keepdims=True)
    return -(q * np.log(np.clip(q, 1e-9, None))).sum(axis=-1) / math.log(m)


class Mixture:
    def __init__(self, k=400, d=32, m=100, spread=1.0, zipf=1.0, eps=None, seed=1):
        rng = np.random.default_rng(seed)
        self.k, self.d, self.m, self.spread = k, d, m, spread
        c = rng.standard_normal((k, d))
        self.centres = c / np.linalg.norm(c, axis=1, keepdims=True)
        p = 1.0 / np.arange(1, k + 1) ** zipf
        self.P = p / p.sum()
        self.w = oracle.reference_points(0, m, d).astype(np.float64)
        self.eps = eps

    def rows(self, rng, labels):
        z = self.centres[labels] + self.spread * rng.standard_normal((len(labels), self.d)) / math.sqrt(self.d)
        return z / np.linalg.norm(z, axis=1, keepdims=True)

    def sample(self, n, seed):
        """n rows and their labels (float32 rows, as softent reads them)."""
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.k, size=n, p=self.P)
        return self.rows(rng, labels).astype(np.float32), labels

    def population(self, per=20000, seed=99):
        """Population H(Z), H(Z|X) and I (fractions of log m) at this eps."""
        rng = np.random.default_rng(seed)
        mu = np.zeros((self.k, self.m))
        bias = np.zeros(self.k)
        for x in range(self.k):
            p, _ = oracle.soft_assign(self.rows(rng, np.full(per, x)), self.w, self.eps)
            mu[x] = p.mean(axis=0)
            bias[x] = (p.var(axis=0, ddof=1) / mu[x]).sum() / (2 * per) / math.log(self.m)
        H = float(entropy_rows(self.P @ mu, self.m))
        H_cond = float((self.P * (entropy_rows(mu, self.m) + bias)).sum())
        return {"H": H, "H_cond": H_cond, "I": H - H_cond}
