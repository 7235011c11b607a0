"""softent.Accumulator: the C accumulator (include/softent.h) from Python,
fed NumPy arrays or PyTorch tensors batch by batch, with their labels
(streaming, as soft_h takes them) or with labels counted up front.

Ownership: the Accumulator owns its C handle and frees it in close() (or
when collected); arrays passed in are copied or converted for the call and
never kept.  One lock per accumulator serialises calls on it; ctypes
releases the GIL during each call, so accumulators in different threads
run in parallel (and each call uses the library's OpenMP threads).
"""
import ctypes
import math
import threading

import numpy as np

from . import _lib
from ._lib import check, lib


def calibrate(d, bins=100, mode="exact"):
    """The temperature eps for dimension d and `bins` reference points:
    mode "exact" (KL(vMF || uniform) = log m solved exactly), "bound" (the
    reference Python's find_eps) or "leading" (1 / sqrt(2 d ln m))."""
    if mode not in ("exact", "bound", "leading"):
        raise ValueError(f"calibration mode {mode!r}: use exact, bound or leading")
    eps = ctypes.c_double()
    check(lib.softent_calibrate(_lib.CALIBRATIONS[mode], int(d), int(bins), ctypes.byref(eps)), "calibrate")
    return eps.value


def _is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _rows(z, d):
    """z as float32 C-contiguous [n, d] NumPy rows (a copy when needed)."""
    if _is_torch(z):
        if not z.dtype.is_floating_point:
            raise ValueError(f"rows must be floating point (float16, bfloat16, float32 or float64), not {z.dtype}")
        z = z.detach().cpu().float().numpy()  # NumPy has no bfloat16; the library takes float32
    z = np.asarray(z)
    if z.dtype.kind != "f":
        raise ValueError(f"rows must be floating point (float16, bfloat16, float32 or float64), not {z.dtype}")
    if z.ndim != 2:
        raise ValueError(f"rows must be a 2-D array [n, d], got shape {z.shape}")
    if z.shape[1] != d:
        raise ValueError(f"rows have {z.shape[1]} columns but the accumulator has d = {d}")
    return np.ascontiguousarray(z, dtype=np.float32)


class Accumulator:
    """Soft-entropy statistics of rows z [n, d], with label sets.

    Streaming (soft_h's way): acc.update(z, labels={"token": ids, "bigram":
    pairs}) batch after batch; every batch names the same sets.  Counted:
    acc.count(labels) over the whole arrays first, then acc.update(z) in
    row order; this lets values seen once skip their m-vector and allows
    min_count > 1.  Results are the same to rounding (docs/python.md)."""

    def __init__(self, d, bins=100, seed=0, calibration="exact", eps=None, weighting="prob", min_count=1, null=0,
                 null_seed=0, correction="curve", bootstrap=0, bootstrap_seed=0, level=0.95, null_groups=0,
                 max_memory_mb=0, per_value=False, refpoints=None, spill_dir=None, product="f32"):
        p = lib.softent_default_params()
        p.m, p.seed = int(bins), int(seed)
        if isinstance(calibration, (int, float)) and not isinstance(calibration, bool):
            calibration, eps = "fixed", float(calibration)
        if calibration not in _lib.CALIBRATIONS:
            raise ValueError(f"calibration {calibration!r}: use exact, bound, leading, or a temperature (a number)")
        p.calibration = _lib.CALIBRATIONS[calibration]
        if calibration == "fixed":
            if eps is None:
                raise ValueError("calibration 'fixed' needs eps")
            p.eps = float(eps)
        if weighting not in _lib.WEIGHTINGS:
            raise ValueError(f"weighting {weighting!r}: use prob or uniform")
        if correction not in _lib.CORRECTIONS:
            raise ValueError(f"correction {correction!r}: use curve, taylor, null or none")
        if product not in _lib.PRODUCTS:
            raise ValueError(f"product {product!r}: use f32 or bf16 (docs/estimator.md)")
        p.weighting, p.correction, p.product = _lib.WEIGHTINGS[weighting], _lib.CORRECTIONS[correction], _lib.PRODUCTS[product]
        p.min_count, p.null_seed = int(min_count), int(null_seed)
        if isinstance(null, str) and null.split(":")[0] == "scaled":
            # the scaled null: a sample of rows instead of permutations
            p.null_reservoir = int(null.split(":")[1]) if ":" in null else 16384
        else:
            p.null_perms = int(null)
        p.bootstrap, p.bootstrap_seed, p.level, p.null_groups = int(bootstrap), int(bootstrap_seed), float(level), int(null_groups)
        p.max_memory, p.per_value = int(max_memory_mb * 1e6), int(bool(per_value))
        spill = str(spill_dir).encode() if spill_dir is not None else None  # (the C accumulator copies it)
        p.spill_dir = spill
        w = None
        if refpoints is not None:
            refpoints = np.ascontiguousarray(refpoints, dtype=np.float32)
            if refpoints.shape != (p.m, int(d)):
                raise ValueError(f"refpoints have shape {refpoints.shape}, need ({p.m}, {d})")
            w = refpoints.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        handle = ctypes.c_void_p()
        check(lib.softent_acc_new(ctypes.byref(handle), ctypes.byref(p), int(d), w), "Accumulator")
        self._init(handle, int(d))

    def _init(self, handle, d):
        self._handle, self.d = handle, d
        self._lock = threading.RLock()  # results() -> summary() -> finish() nest
        self._sets = []        # label set names, in the C accumulator's order
        self._arity = {}
        self._codes = {}       # set -> {label: integer key} for non-integer labels
        self._mode = None      # "stream", "counted" or "loaded"
        self._rows = 0         # rows added
        self._counted = 0      # rows counted (counted mode)
        self._device_w = {}    # torch device -> reference points there (rounded as the product is)

    @classmethod
    def load(cls, path):
        """A state saved by save() or by `softent estimate --save`: it can be
        merged and reported, not extended."""
        handle = ctypes.c_void_p()
        check(lib.softent_acc_load(ctypes.byref(handle), str(path).encode()), str(path))
        acc = cls.__new__(cls)
        summary = _lib.Summary()
        check(lib.softent_acc_summary(handle, ctypes.byref(summary)))
        acc._init(handle, int(summary.d))
        acc._mode = "loaded"
        m = _lib.Measures()
        for k in range(summary.n_labelsets):
            check(lib.softent_acc_labelset(handle, k, ctypes.byref(m)))
            acc._sets.append(m.name.decode())
        return acc

    # ---- life cycle ---------------------------------------------------------

    def close(self):
        """Free the C accumulator; any later call raises ValueError."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            lib.softent_acc_free(handle)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _h(self):
        if not self._handle:
            raise ValueError("the accumulator was closed")
        return self._handle

    # ---- labels ---------------------------------------------------------------

    def _keys(self, name, labels, n):
        """labels [n] or [n, k] as int64 C-contiguous keys [n, arity]:
        integers as they are, anything else (strings, floats, objects)
        numbered in order of first appearance, the same across batches."""
        if _is_torch(labels):
            labels = labels.detach().cpu().numpy()
        a = np.asarray(labels)
        if a.ndim not in (1, 2) or a.shape[0] != n:
            raise ValueError(f"label set {name!r}: need {n} labels (shape [{n}] or [{n}, k]), got shape {a.shape}")
        if a.ndim == 2 and not 1 <= a.shape[1] <= _lib.MAX_ARITY:
            raise ValueError(f"label set {name!r}: tuple labels have 1..{_lib.MAX_ARITY} components, got {a.shape[1]}")
        if a.dtype.kind in "iub":
            return np.ascontiguousarray(a.reshape(n, -1), dtype=np.int64)
        if a.ndim == 2:
            raise ValueError(f"label set {name!r}: tuple labels must be integers, not {a.dtype}")
        codes = self._codes.setdefault(name, {})
        return np.fromiter((codes.setdefault(x, len(codes)) for x in a.tolist()), dtype=np.int64, count=n).reshape(n, 1)

    def _declare(self, labels, n):
        """The label sets of a batch: declared at the first, the same after."""
        keys = {name: self._keys(name, v, n) for name, v in labels.items()}
        if not self._sets:
            for name, k in keys.items():
                idx = ctypes.c_int()
                check(lib.softent_acc_add_labelset(self._h(), str(name).encode(), k.shape[1], ctypes.byref(idx)), f"label set {name!r}")
                self._sets.append(name)
                self._arity[name] = k.shape[1]
        if set(keys) != set(self._sets):
            raise ValueError(f"label sets {sorted(keys)} given, but this accumulator has {sorted(self._sets)}: every batch names the same sets")
        for name, k in keys.items():
            if k.shape[1] != self._arity[name]:
                raise ValueError(f"label set {name!r}: tuples of {k.shape[1]}, earlier batches had {self._arity[name]}")
        return [keys[name] for name in self._sets]

    @staticmethod
    def _groups(groups, n):
        if groups is None:
            return None
        if _is_torch(groups):
            groups = groups.detach().cpu().numpy()
        g = np.ascontiguousarray(groups, dtype=np.int64)
        if g.shape != (n,):
            raise ValueError(f"groups: need one per row, shape [{n}], got {g.shape}")
        return g

    def count(self, labels, groups=None):
        """Counted mode: the label arrays (a dict name -> [N] or [N, k]) of
        every row to come, in row order (at once or in pieces), before the
        first update(); groups [N] (documents) for the bootstrap."""
        with self._lock:
            if self._mode not in (None, "counted") or self._rows:
                raise ValueError("count() comes before the first update(), and not after streamed labels")
            n = len(next(iter(labels.values()))) if labels else 0
            keys = self._declare(labels, n)
            for k, arr in enumerate(keys):
                check(lib.softent_acc_count(self._h(), k, arr.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), n), self._sets[k])
            g = self._groups(groups, n)
            if g is not None:
                check(lib.softent_acc_count_groups(self._h(), g.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), n), "groups")
            self._mode = "counted"
            self._counted += n

    # ---- rows -------------------------------------------------------------------

    def _device_probs(self, z):
        """Soft assignments of torch rows on their own device: the d-wide
        product and the softmax run there (float32), only [n, m] cross."""
        import torch
        bf16 = self.product == "bf16"  # the C library's bf16 product: both sides rounded, float32 sums
        w = self._device_w.get(z.device)
        if w is None:
            w = torch.from_numpy(self.refpoints).to(z.device)
            w = self._device_w[z.device] = w.to(torch.bfloat16).float() if bf16 else w
        zf = z.detach().to(torch.float32)
        if zf.ndim != 2 or zf.shape[1] != self.d:
            raise ValueError(f"rows must be [n, {self.d}], got shape {tuple(zf.shape)}")
        zp = zf.to(torch.bfloat16).float() if bf16 else zf
        scores = (zp @ w.T) / (torch.linalg.vector_norm(zf, dim=1, keepdim=True) * self.eps)
        return np.ascontiguousarray(torch.softmax(scores, dim=1).cpu().numpy(), dtype=np.float32)

    def update(self, z, labels=None, groups=None, on_device=None, start=None):
        """Add rows z [n, d] (NumPy float16/32/64 of any strides, or a torch
        tensor: float32, bfloat16, float16, on any device) with, when
        streaming, their labels (a dict name -> [n] ints, [n, k] int tuples,
        or [n] strings/objects) and groups [n].  A torch tensor on a GPU
        (or any tensor with on_device=True) is scored where it lies; others
        by the C library.  Rows of zero or non-finite norm are skipped and
        counted.  start (counted mode): these are rows start .. start + n - 1
        of the counted labels, for a shard of them (default: the next rows)."""
        if _is_torch(z) and (on_device if on_device is not None else z.device.type != "cpu"):
            self._add(None, self._device_probs(z), labels, groups, start)
        else:
            self._add(_rows(z, self.d), None, labels, groups, start)

    def update_probs(self, p, labels=None, groups=None):
        """Add rows given as their soft assignments p [n, bins] (each row a
        softmax over the reference points, computed elsewhere with
        self.refpoints and self.eps), as update() adds rows."""
        if _is_torch(p):
            p = p.detach().float().cpu().numpy()
        p = np.ascontiguousarray(p, dtype=np.float32)
        if p.ndim != 2 or p.shape[1] != self.bins:
            raise ValueError(f"soft assignments must be [n, {self.bins}], got shape {p.shape}")
        self._add(None, p, labels, groups)

    def _add(self, rows, probs, labels, groups, start=None):
        """rows [n, d] or probs [n, bins] (float32, C-contiguous), after their labels."""
        as_ptr = ctypes.POINTER(ctypes.c_int64)
        with self._lock:
            h = self._h()
            if self._mode == "loaded":
                raise ValueError("a loaded state can be merged and reported, not extended")
            n = (rows if rows is not None else probs).shape[0]
            if start is not None:
                if self._mode != "counted" or start < 0:
                    raise ValueError("start picks rows of labels counted up front (count()); streamed rows come in order")
                self._rows = int(start)
            if labels is not None:
                if self._mode == "counted":
                    raise ValueError("labels were counted up front (count()); update() then takes rows only")
                if not isinstance(labels, dict):
                    labels = {"labels": labels}
                keys = self._declare(labels, n)
                ptrs = (as_ptr * max(1, len(keys)))(*[k.ctypes.data_as(as_ptr) for k in keys])
                g = self._groups(groups, n)
                check(lib.softent_acc_append_labels(h, ptrs, None if g is None else g.ctypes.data_as(as_ptr), n), "update")
                self._mode = "stream"
            elif self._mode == "stream" and self._sets:
                raise ValueError(f"this accumulator streams labels: give labels {sorted(self._sets)} with every batch")
            elif groups is not None:
                raise ValueError("groups come with streamed labels, or with count()")
            if probs is not None:
                check(lib.softent_acc_add_probs(h, probs.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n, self._rows), "update")
            else:
                check(lib.softent_acc_add(h, rows.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n, self._rows), "update")
            self._rows += n

    # ---- what it holds ----------------------------------------------------------

    def _params(self):
        p = _lib.Params()
        with self._lock:
            check(lib.softent_acc_params(self._h(), ctypes.byref(p)))
        return p

    @property
    def eps(self):
        return self._params().eps

    @property
    def product(self):
        """The product's arithmetic: "f32" or "bf16"."""
        return {v: k for k, v in _lib.PRODUCTS.items()}[self._params().product]

    @property
    def bins(self):
        return int(self._params().m)

    @property
    def refpoints(self):
        """The reference points, a copy [bins, d] float32 (unit rows)."""
        with self._lock:
            ptr = lib.softent_acc_refpoints(self._h())
            return np.ctypeslib.as_array(ptr, shape=(self.bins, self.d)).copy()

    @property
    def memory(self):
        """Bytes the accumulator holds (about)."""
        with self._lock:
            return int(lib.softent_acc_memory(self._h()))

    def finish(self):
        """Score held rows and replay the null and bootstrap (results() does it)."""
        with self._lock:
            if self._mode != "loaded":
                check(lib.softent_acc_finish(self._h()), "finish")

    def measures(self, name):
        """Every measure of one label set, as a dict of the C struct's fields."""
        self.finish()
        if name not in self._sets:
            raise KeyError(f"no label set {name!r} (have {self._sets})")
        m = _lib.Measures()
        with self._lock:
            check(lib.softent_acc_labelset(self._h(), self._sets.index(name), ctypes.byref(m)), name)
        out = {f: getattr(m, f) for f, _ in m._fields_ if f != "name"}
        out["correction"] = _lib.CORRECTION_NAMES.get(m.correction, "?")
        return out

    def summary(self):
        self.finish()
        s = _lib.Summary()
        with self._lock:
            check(lib.softent_acc_summary(self._h(), ctypes.byref(s)), "summary")
        return {f: getattr(s, f) for f, _ in s._fields_}

    def results(self):
        """soft_h's keys (H(Z), I(X;Z)/NAME, regularity/NAME) and softent's:
        the headline corrected I and its correction, H(Z|X), the plug-in's
        curve and null values, the p-value, intervals, rows.  Undefined
        values are NaN."""
        s = self.summary()
        out = {"H(Z)": s["H"], "rows": s["rows"], "skipped": s["skipped"], "eps": s["eps"], "bins": s["m"]}
        if s["bootstrap"]:
            out["H(Z)_interval"] = (s["H_lo"], s["H_hi"])
        for name in self._sets:
            m = self.measures(name)
            out[f"I(X;Z)/{name}"] = m["mi"]
            out[f"regularity/{name}"] = m["mi"] / s["H"] if s["H"] > 0 else math.nan
            out[f"H(Z|X)/{name}"] = m["H_cond"]
            out[f"I_corrected/{name}"] = m["mi_corrected"] if m["correction"] != "none" else math.nan
            out[f"correction/{name}"] = m["correction"]
            out[f"I_curve/{name}"] = m["mi_curve"]
            out[f"rows/{name}"] = m["rows"]
            out[f"values/{name}"] = m["n_values"]
            if m["null_perms"] or m["null_scaled"]:
                out[f"I_null_mean/{name}"] = m["mi_null_mean"]
                out[f"I_null_sd/{name}"] = m["mi_null_sd"]
                out[f"p_value/{name}"] = m["p_value"]
            if m["bootstrap"]:
                out[f"I_interval/{name}"] = (m["mi_lo"], m["mi_hi"])
                out[f"I_corrected_interval/{name}"] = (m["mi_corrected_lo"], m["mi_corrected_hi"])
        return out

    def values(self, name):
        """Per value of a label set: {label: (count, H(Z|X=label))}, labels
        as they were given (integers, tuples, or the original objects)."""
        self.finish()
        k = self._sets.index(name)
        m = self.measures(name)
        inverse = {v: key for key, v in self._codes.get(name, {}).items()}
        key, count, h = (ctypes.c_int64 * _lib.MAX_ARITY)(), ctypes.c_int64(), ctypes.c_double()
        out = {}
        for i in range(m["n_values"]):
            with self._lock:
                check(lib.softent_acc_value(self._h(), k, i, key, ctypes.byref(count), ctypes.byref(h)), name)
            t = tuple(key[:m["arity"]])
            label = inverse.get(t[0], t[0]) if name in self._codes else (t[0] if len(t) == 1 else t)
            out[label] = (count.value, h.value)
        return out

    # ---- files and shards ---------------------------------------------------------

    def save(self, path):
        """The accumulated statistics, written atomically (softent_acc_save)."""
        with self._lock:
            self.finish()
            check(lib.softent_acc_save(self._h(), str(path).encode()), str(path))

    def set_first_row(self, first_row):
        """Counted mode, after count() and before the first update(): this
        accumulator holds the shard of rows from first_row on.  Merged with
        the other shards (so marked), it then gives the one pass's bias
        curve exactly, not each shard's own reading of it."""
        with self._lock:
            if self._mode != "counted" or self._rows:
                raise ValueError("set_first_row() comes after count() and before the first update()")
            check(lib.softent_acc_set_first_row(self._h(), int(first_row)), "set_first_row")

    def merge(self, other):
        """Add another accumulator's statistics: shards of the same rows,
        counted on the same label arrays (counted mode), with the same
        settings and reference points."""
        other.finish()
        with self._lock, other._lock:
            self.finish()
            check(lib.softent_acc_merge(self._h(), other._h()), "merge")
