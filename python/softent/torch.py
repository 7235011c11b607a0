"""softent.torch.LayerAccumulators: what `softent analyze` measures, from a
PyTorch model in the user's own loop.

    la = LayerAccumulators(model, ngrams=(1, 2, 3), bins=100)
    for batch in loader:                       # the user's tokenization
        la.update(batch["input_ids"], attention_mask=batch["attention_mask"])
    json.dump(la.results(), open("analysis.json", "w"))   # analyze's layout

Each selected layer's hidden states [B, T, d] go to that layer's
accumulator at analyze's positions (t in [n_max - 1, len - n_max) of each
sequence's real tokens) with the input n-gram (tokens t-n+1 .. t) and output
n-gram (t+1 .. t+n) of each position as exact tuple keys, each sequence one
group (document) for the bootstrap; the states are dropped after each
batch.  On a GPU the d-wide work stays there (Accumulator.update).

States come from `output_hidden_states=True` (a transformers model, or any
module whose output has .hidden_states or ["hidden_states"]: index 0 the
embeddings, i the output of block i, the last after the final norm), or,
with modules=[names], from forward hooks on those named submodules (the
first element of a tuple output).  update() runs the model under
torch.no_grad(); add_hidden_states() takes states the caller already has.
"""
import ctypes
import math

import numpy as np
import torch

from . import _lib
from ._lib import check, lib
from .accumulator import Accumulator


def _positions(length, n_max):
    return range(n_max - 1, max(n_max - 1, length - n_max))


class LayerAccumulators:
    """An Accumulator per selected layer, fed n-gram labels (see the module).
    layers: "all", a list of indices into the hidden states (or into
    modules), or None for all.  Other keywords go to every Accumulator
    (bins, seed, calibration, null, bootstrap, correction, ...)."""

    def __init__(self, model, layers="all", ngrams=(1, 2, 3), modules=None, name=None, **accumulator_args):
        self.model, self.modules = model, list(modules) if modules else None
        self.orders = sorted(set(int(n) for n in ngrams))
        if not self.orders or self.orders[0] < 1 or self.orders[-1] > _lib.MAX_ARITY:
            raise ValueError(f"ngrams {ngrams}: orders from 1 to {_lib.MAX_ARITY}")
        self.n_max = self.orders[-1]
        self.layers_spec = layers
        self.args = accumulator_args
        # no model: the caller hands over hidden states (add_hidden_states)
        self.arch = type(model).__name__ if model is not None else None
        self.name = name or self.arch or "hidden states"
        self.acc = {}          # layer index -> Accumulator
        self.documents = self.tokens = self.positions = 0
        self._hooks, self._captured = [], {}
        if self.modules:
            named = dict(model.named_modules())
            missing = [m for m in self.modules if m not in named]
            if missing:
                raise ValueError(f"no submodules {missing} in the model (it has e.g. {list(named)[1:6]})")
            for i, m in enumerate(self.modules):
                self._hooks.append(named[m].register_forward_hook(self._hook(i)))

    def _hook(self, i):
        def capture(module, inputs, output):
            self._captured[i] = output[0] if isinstance(output, (tuple, list)) else output
        return capture

    def close(self):
        for h in self._hooks:
            h.remove()
        self._hooks = []
        for a in self.acc.values():
            a.close()

    # ---- feeding --------------------------------------------------------------------

    def update(self, input_ids, attention_mask=None, **forward_args):
        """Run the model on a batch (input_ids [B, T], attention_mask [B, T]
        with 1 for real tokens, left or right padding) and feed its states."""
        with torch.no_grad():
            self._captured = {}
            if self.modules:
                self.model(input_ids=input_ids, attention_mask=attention_mask, **forward_args)
                states = [self._captured[i] for i in range(len(self.modules))]
            else:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, **forward_args)
                states = out["hidden_states"] if isinstance(out, dict) else getattr(out, "hidden_states", None)
                if states is None:
                    raise ValueError("the model's output has no hidden_states; give modules=[names] to hook its blocks instead")
            self.add_hidden_states(states, input_ids, attention_mask)

    def _select(self, n_states):
        if self.layers_spec in (None, "all"):
            return list(range(n_states))
        chosen = sorted(set(int(l) for l in self.layers_spec))
        if chosen[0] < 0 or chosen[-1] >= n_states:
            raise ValueError(f"layers {chosen}: the model gives {n_states} hidden states (0 .. {n_states - 1})")
        return chosen

    def _labels(self, input_ids, attention_mask):
        """Per sequence: the index of its real tokens and its positions;
        the batch's n-gram keys and groups."""
        ids = torch.as_tensor(input_ids).detach().cpu().numpy().astype(np.int64)
        if ids.ndim != 2:
            raise ValueError(f"input_ids must be [batch, length], got shape {ids.shape}")
        mask = np.ones_like(ids, dtype=bool) if attention_mask is None else torch.as_tensor(attention_mask).detach().cpu().numpy() != 0
        if mask.shape != ids.shape:
            raise ValueError(f"attention_mask has shape {mask.shape}, input_ids {ids.shape}")
        rows, keys, groups = [], {f"{io}{n}": [] for n in self.orders for io in ("in", "out")}, []
        for b in range(ids.shape[0]):
            real = np.flatnonzero(mask[b])
            tok = ids[b, real]
            pos = np.array(list(_positions(len(tok), self.n_max)), dtype=np.int64)
            self.documents += 1
            self.tokens += len(tok)
            if len(pos) == 0:
                continue
            rows.append(np.stack([np.full(len(pos), b), real[pos]], axis=1))
            for n in self.orders:
                keys[f"in{n}"].append(np.stack([tok[pos - n + 1 + k] for k in range(n)], axis=1))
                keys[f"out{n}"].append(np.stack([tok[pos + 1 + k] for k in range(n)], axis=1))
            groups.append(np.full(len(pos), self.documents - 1, dtype=np.int64))
        if not rows:
            return None, None, None
        return np.concatenate(rows), {k: np.concatenate(v) for k, v in keys.items()}, np.concatenate(groups)

    def add_hidden_states(self, hidden_states, input_ids, attention_mask=None):
        """States the caller computed: a sequence of [B, T, d] tensors (index
        = layer), for the batch input_ids [B, T]."""
        where, keys, groups = self._labels(input_ids, attention_mask)
        if where is None:
            return
        self.positions += len(where)
        selected = self._select(len(hidden_states))
        b = torch.as_tensor(where[:, 0])
        t = torch.as_tensor(where[:, 1])
        for layer in selected:
            h = hidden_states[layer]
            if h.ndim != 3 or h.shape[0] != len(input_ids):
                raise ValueError(f"hidden state {layer} has shape {tuple(h.shape)}, want [batch, length, d]")
            if layer not in self.acc:
                self.acc[layer] = Accumulator(int(h.shape[-1]), **self.args)
            rows = h[b.to(h.device), t.to(h.device)]
            self.acc[layer].update(rows, labels=keys, groups=groups)

    # ---- results in analyze's layout -------------------------------------------------

    def _layer(self, layer):
        a = self.acc[layer]
        s = a.summary()
        orders = []
        for n in self.orders:
            mi, mo = a.measures(f"in{n}"), a.measures(f"out{n}")
            corrected = mi["correction"] != "none"
            opt = mo["mi"] / mi["mi"] if mi["mi"] > 0 else math.nan
            opt_c = mo["mi_corrected"] / mi["mi_corrected"] if corrected and mi["mi_corrected"] > 0 else math.nan
            orders.append({"n": n, "I_in": mi["mi"], "I_out": mo["mi"], "optimality": opt, "optimality_corrected": opt_c,
                           "H_cond_in": mi["H_cond"], "H_cond_out": mo["H_cond"],
                           "values_in": mi["n_values"], "values_out": mo["n_values"],
                           "in": _set_json(mi), "out": _set_json(mo)})
        return {"layer": layer, "H": s["H"], "rows": s["rows"], "orders": orders}, s

    def _mean(self, layers):
        upper = [l for l in layers if l["layer"] >= 1]
        k = len(upper)
        mean = {"over": "selected layers >= 1 (the embedding layer 0 is excluded, as in the reference code)", "n_layers": k,
                "H": sum(l["H"] for l in upper) / k if k else math.nan, "orders": [], "context_width": []}
        for i, n in enumerate(self.orders):
            avg = (lambda f: sum(f(l["orders"][i]) for l in upper) / k if k else math.nan)
            o = {"n": n, "I_in": avg(lambda x: x["I_in"]), "I_out": avg(lambda x: x["I_out"]),
                 "I_in_corrected": avg(lambda x: x["in"]["I_corrected"]), "I_out_corrected": avg(lambda x: x["out"]["I_corrected"])}
            o["optimality"] = o["I_out"] / o["I_in"] if o["I_in"] > 0 else math.nan
            o["optimality_corrected"] = o["I_out_corrected"] / o["I_in_corrected"] if o["I_in_corrected"] > 0 else math.nan
            if upper and upper[0]["orders"][i]["in"].get("null"):
                o["I_in_null_sd"] = avg(lambda x: x["in"]["null"]["I_null_sd"])
                o["I_out_null_sd"] = avg(lambda x: x["out"]["null"]["I_null_sd"])
            self._mean_intervals(o, n, [l["layer"] for l in upper])
            mean["orders"].append(o)
        return mean

    def _mean_intervals(self, o, n, layers):
        """The layer means' bootstrap intervals from the layers' summed
        replicates (each replicate weights the same documents in every
        layer), as analyze takes them."""
        B = self.args.get("bootstrap", 0)
        if not B or not layers:
            return
        rep = np.empty(B)
        lo, hi = ctypes.c_double(), ctypes.c_double()
        as_double = ctypes.POINTER(ctypes.c_double)
        for io in ("in", "out"):
            total, fixed_sd = np.zeros(B), 0.0
            for layer in layers:
                a, name = self.acc[layer], f"{io}{n}"
                check(lib.softent_acc_replicates(a._h(), a._sets.index(name), 2, rep.ctypes.data_as(as_double)), name)
                total += rep
                fixed_sd += a.measures(name)["mi_corrected_fixed_sd"]
            mean = np.ascontiguousarray(total / len(layers))
            lib.softent_interval(mean.ctypes.data_as(as_double), B, o[f"I_{io}_corrected"], float(self.args.get("level", 0.95)),
                                 fixed_sd / len(layers), ctypes.byref(lo), ctypes.byref(hi))
            o[f"I_{io}_corrected_interval"] = [lo.value, hi.value]

    def results(self):
        """A dict in analysis.json's layout (softent correlate reads it):
        command, model, corpus counts, settings, headline, layers,
        layer_mean; undefined values are None."""
        if not self.acc:
            raise ValueError("no batch has a position yet: sequences need 2 x max(ngrams) real tokens")
        layers, first = [], None
        for layer in sorted(self.acc):
            lj, s = self._layer(layer)
            layers.append(lj)
            first = first or s
        m0 = self.acc[sorted(self.acc)[0]].measures(f"in{self.orders[0]}")
        headline = {"curve": "corrected (curve: J(n) from the running means of each value)", "null": "corrected (I - null mean)",
                    "taylor": "corrected (taylor: Miller-Madow from each value's own variance)",
                    "none": "plug-in (--correction none: biased upward)"}[m0["correction"]]
        out = {"softent_version": "0.1.0", "command": "analyze", "model": {"path": self.name, "arch": self.arch},
               "corpus": {"documents_read": self.documents, "tokens": self.tokens, "positions": self.positions},
               "settings": {"ngrams": self.orders, "m": first["m"], "eps": first["eps"], "units": "efficiency: entropy / log(m)",
                            "positions": "t in [n_max - 1, len - n_max) of each document", "source": "softent.torch.LayerAccumulators"},
               "headline": headline, "layers": layers, "layer_mean": self._mean(layers)}
        return _no_nan(out)


def _set_json(m):
    o = {"rows": m["rows"], "H": m["H"], "I": m["mi"], "I_corrected": m["mi_corrected"] if m["correction"] != "none" else math.nan,
         "I_curve": m["mi_curve"], "I_taylor": m["mi_taylor"], "H_curve": m["H_curve"]}
    if m["bootstrap"]:
        o["interval"] = {"replicates": m["bootstrap"], "H": [m["H_lo"], m["H_hi"]], "I": [m["mi_lo"], m["mi_hi"]],
                         "I_corrected": [m["mi_corrected_lo"], m["mi_corrected_hi"]]}
    if m["null_perms"]:
        o["null"] = {"I_null_mean": m["mi_null_mean"], "I_null_sd": m["mi_null_sd"], "I_corrected": m["mi_null_corrected"],
                     "p_value": m["p_value"], "permutations": m["null_perms"]}
    return o


def _no_nan(x):
    """JSON has no NaN: undefined values become None, as analyze writes null."""
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_no_nan(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
