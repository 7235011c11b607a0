"""Reference points equal NumPy's: softent --save-refpoints for several
(seed, m, d) against default_rng(seed).standard_normal((m, d)) normalised
in float64 and rounded to float32 (within 1 ulp; the float64 draws
themselves are compared bit for bit by test_rng)."""
import numpy as np

from common import Fail, main, run, save_npy, tmp


def check_refpoints_match_numpy():
    for seed, m, d in ((0, 100, 64), (1, 10, 3), (42, 1000, 7), (12345, 50, 768), (2**40 + 3, 7, 4096)):
        z = save_npy(f"rz{d}.npy", np.ones((3, d), dtype=np.float32))
        out = tmp(f"w_{seed}_{m}_{d}.npy")
        run("estimate", z, "--bins", m, "--seed", seed, "--save-refpoints", out, "--quiet")
        got = np.load(out)
        w = np.random.default_rng(seed).standard_normal((m, d))
        want = (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(np.float32)
        if got.shape != want.shape or got.dtype != np.float32:
            raise Fail(f"seed {seed}: shape {got.shape} {got.dtype}, want {want.shape} float32")
        ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64)).max()
        if ulps > 1:
            raise Fail(f"seed {seed}, m {m}, d {d}: {ulps} ulps from NumPy")


main(globals())
