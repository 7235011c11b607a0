"""soft_h's SoftEntropyAccumulator on softent: change one import,

    from soft_entropy.accumulator import SoftEntropyAccumulator   # before
    from softent.compat import SoftEntropyAccumulator             # after

and keep the calls: update(z, labels), entropy(), conditional_entropy(),
mutual_information(), results(), reset().  The numbers are soft_h's: its
temperature (find_eps, softent's "bound" calibration), its reference
points (drawn as its backend draws them: NumPy's default_rng for "numpy",
torch.randn on the device it picks for "torch"), P(x)-weighted H(Z|X).
They differ from soft_h's own only by float32 rounding, since softent sums
in double.  results() adds softent's curve-corrected I beside soft_h's keys.

Differences, each refused with a message rather than guessed: every
labelled batch names the same label sets, and a batch without labels after
labelled ones is an error (soft_h counts its rows in H(Z) and in no label
set, which weighs H(Z|X) by a P(x) that does not sum to one).  The "jax"
backend is not offered.
"""
import numpy as np

from .accumulator import Accumulator


def _torch_device():
    import torch
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _refpoints(backend, n_bins, d, seed, dtype):
    """The reference points soft_h's backend draws, unit rows, float32."""
    if backend == "numpy":
        w = np.random.default_rng(seed).standard_normal((n_bins, d)).astype(np.float32)
        return w / np.linalg.norm(w, axis=-1, keepdims=True), None
    import torch
    device = _torch_device()
    g = torch.Generator(device=device).manual_seed(seed)
    w = torch.randn(n_bins, d, generator=g, device=device, dtype=dtype or torch.float32)
    w = torch.nn.functional.normalize(w, dim=-1)
    return w.float().cpu().numpy(), device


class SoftEntropyAccumulator:
    """soft_h's accumulator, on softent's C accumulator (see the module)."""

    def __init__(self, d, n_bins=100, seed=0, backend="numpy", dtype=None):
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend {backend!r}: softent.compat offers 'numpy' and 'torch'")
        self.d, self.n_bins, self.seed, self.backend, self.dtype = d, n_bins, seed, backend, dtype
        self._w, self._device = _refpoints(backend, n_bins, d, seed, dtype)
        self.reset()

    def reset(self):
        """Clear all accumulated counts."""
        self._acc = Accumulator(self.d, bins=self.n_bins, calibration="bound", refpoints=self._w)
        self.temp = self._acc.eps
        self._labelled = None

    @property
    def w(self):
        return self._acc.refpoints

    def update(self, z, labels=None):
        """A batch z [batch, d] with labels: None, one array (the set
        "labels"), or a dict name -> array."""
        if labels is not None and not isinstance(labels, dict):
            labels = {"labels": labels}
        if labels is None and self._labelled:
            raise ValueError("softent.compat: a batch without labels after labelled ones; give every batch its labels")
        self._labelled = labels is not None
        if self.backend == "torch":
            import torch
            if not isinstance(z, torch.Tensor):
                z = torch.as_tensor(np.asarray(z))
            self._acc.update(z.to(self._device), labels=labels, on_device=True)
        else:
            self._acc.update(z, labels=labels)

    def entropy(self):
        """H(Z), efficiency-normalised."""
        return self._acc.results()["H(Z)"]

    def conditional_entropy(self):
        """{label set: {label value: H(Z | X = value)}}."""
        return {name: {v: h for v, (_, h) in self._acc.values(name).items()} for name in self._acc._sets}

    def mutual_information(self):
        """{label set: I(X; Z)}."""
        r = self._acc.results()
        return {name: r[f"I(X;Z)/{name}"] for name in self._acc._sets}

    def results(self):
        """soft_h's flat summary (H(Z), I(X;Z)/name, regularity/name), with
        softent's curve-corrected I(X;Z) beside it as I_corrected/name."""
        r = self._acc.results()
        out = {"H(Z)": r["H(Z)"]}
        for name in self._acc._sets:
            out[f"I(X;Z)/{name}"] = r[f"I(X;Z)/{name}"]
            out[f"regularity/{name}"] = r[f"regularity/{name}"]
            out[f"I_corrected/{name}"] = r[f"I_corrected/{name}"]
        return out
