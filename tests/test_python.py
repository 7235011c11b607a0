"""The Python package (python/softent) against outside references: its
ctypes structs against the C compiler's offsetof(); H and I against the
NumPy oracle (tests/oracle.py) for NumPy arrays of every float dtype and
strides and for torch tensors; the null, corrected I and intervals against
`softent estimate` on the same files; streaming and counted labels against
each other (1e-12); the torch scoring path (what runs on a GPU) against the
C path to float32 rounding; save, load and merge against one pass; bad
input as Python exceptions; an offline install into a fresh venv.

Under the ASan build the checks run in a child Python with the sanitizer
runtimes preloaded (the interpreter itself is not instrumented)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD_ARG = sys.argv[1] if len(sys.argv) > 1 else "build"


def _preload_sanitizers():
    """Re-run this script with libasan and libubsan preloaded (once)."""
    if "asan" not in BUILD_ARG or os.environ.get("SOFTENT_PY_SANITIZED"):
        return
    libs = [subprocess.run(["gcc", f"-print-file-name={n}"], capture_output=True, text=True).stdout.strip() for n in ("libasan.so", "libubsan.so")]
    env = dict(os.environ, SOFTENT_PY_SANITIZED="1", LD_PRELOAD=" ".join(libs),
               ASAN_OPTIONS="detect_leaks=0:detect_odr_violation=0:abort_on_error=0")
    sys.exit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)


_preload_sanitizers()
os.environ["SOFTENT_LIBRARY"] = os.path.join(os.path.abspath(BUILD_ARG), "libsoftent.so.0")
sys.path.insert(0, os.path.join(ROOT, "python"))

import oracle  # noqa: E402
from common import BUILD, Fail, main, run, tmp  # noqa: E402

import softent  # noqa: E402
from softent import _lib  # noqa: E402

TOL = 1e-6


def data(n=4000, d=16, values=40, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32) + 0.3 * rng.standard_normal(d).astype(np.float32)
    y = rng.integers(0, values, n)
    return z, y, np.stack([y, rng.integers(0, 3, n)], axis=1)


def close(what, got, want, tol):
    if not np.allclose(got, want, rtol=0, atol=tol, equal_nan=True):
        raise Fail(f"{what}: {got} vs {want} (tolerance {tol})")


def check_struct_layouts_match_the_header():
    fields = {"softent_params": _lib.Params, "softent_summary": _lib.Summary, "softent_labelset_measures": _lib.Measures,
              "softent_model_config": _lib.ModelConfig}
    src = ['#include <stdio.h>', '#include <stddef.h>', '#include "softent.h"', '#include "softent_model.h"', "int main(void) {"]
    for cname, py in fields.items():
        src.append(f'printf("{cname} size %zu\\n", sizeof({cname}));')
        for f, _ in py._fields_:
            src.append(f'printf("{cname} {f} %zu\\n", offsetof({cname}, {f}));')
    src.append("return 0; }")
    c, exe = tmp("layout.c"), tmp("layout")
    with open(c, "w") as f:
        f.write("\n".join(src))
    subprocess.run(["cc", "-I", os.path.join(ROOT, "include"), "-o", exe, c], check=True)
    for line in subprocess.run([exe], capture_output=True, text=True, check=True).stdout.splitlines():
        cname, field, value = line.split()
        py = fields[cname]
        got = __import__("ctypes").sizeof(py) if field == "size" else getattr(py, field).offset
        if got != int(value):
            raise Fail(f"{cname}.{field}: ctypes says {got}, the C compiler {value}")


def oracle_values(z, labels, m=32, seed=0):
    eps = softent.calibrate(z.shape[1], m)
    w = oracle.reference_points(seed, m, z.shape[1])
    return oracle.measures(z.astype(np.float32), w, eps, labels)


def check_numpy_dtypes_and_strides_against_oracle():
    z, y, y2 = data()
    want = oracle_values(z, {"y": y, "pair": y2})
    wide = np.zeros((z.shape[0], 2 * z.shape[1]), np.float32)
    wide[:, ::2] = z
    for name, zz in (("float32", z), ("float64", z.astype(np.float64)), ("strided", wide[:, ::2]), ("fortran", np.asfortranarray(z))):
        acc = softent.Accumulator(16, bins=32)
        for i in range(0, len(zz), 999):
            acc.update(zz[i:i + 999], labels={"y": y[i:i + 999], "pair": y2[i:i + 999]})
        r = acc.results()
        close(f"{name}: H", r["H(Z)"], want["H"], TOL)
        for s in ("y", "pair"):
            close(f"{name}: I({s})", r[f"I(X;Z)/{s}"], want["sets"][s]["I"], TOL)
            close(f"{name}: regularity({s})", r[f"regularity/{s}"], want["sets"][s]["I"] / want["H"], TOL)
    # float16 rows: the oracle on the same float16 values
    z16 = z.astype(np.float16)
    want16 = oracle_values(z16.astype(np.float32), {"y": y})
    acc = softent.Accumulator(16, bins=32)
    acc.update(z16, labels={"y": y})
    close("float16: I", acc.results()["I(X;Z)/y"], want16["sets"]["y"]["I"], TOL)


def check_string_labels_map_as_unique_does():
    z, y, _ = data(values=12)
    names = np.array([f"tag{v}" for v in y])
    want = oracle_values(z, {"s": np.unique(names, return_inverse=True)[1]})
    acc = softent.Accumulator(16, bins=32)
    for i in range(0, len(z), 1000):
        acc.update(z[i:i + 1000], labels={"s": list(names[i:i + 1000])})
    close("string labels: I", acc.results()["I(X;Z)/s"], want["sets"]["s"]["I"], TOL)
    per_value = acc.values("s")
    if set(per_value) != set(names.tolist()) or sum(c for c, _ in per_value.values()) != len(z):
        raise Fail(f"values() keys {sorted(per_value)[:5]}...: want the labels given")


def check_torch_tensors_against_oracle():
    import torch
    z, y, _ = data()
    want = oracle_values(z, {"y": y})
    for dtype, tol in ((torch.float32, TOL), (torch.float16, None), (torch.bfloat16, None)):
        t = torch.from_numpy(z).to(dtype)
        ref = want if tol else oracle_values(t.float().numpy(), {"y": y})
        for on_device in (False, True):
            acc = softent.Accumulator(16, bins=32)
            for i in range(0, len(z), 1000):
                acc.update(t[i:i + 1000], labels={"y": torch.from_numpy(y[i:i + 1000])}, on_device=on_device)
            r = acc.results()
            # the torch path scores in float32 (as on a GPU): equal to float32 rounding
            close(f"torch {dtype} (on_device={on_device}): H", r["H(Z)"], ref["H"], TOL if not on_device else 1e-5)
            close(f"torch {dtype} (on_device={on_device}): I", r["I(X;Z)/y"], ref["sets"]["y"]["I"], TOL if not on_device else 1e-5)


def check_bf16_product():
    """product="bf16": the C path and the torch path (on_device) both equal
    the oracle whose product rounds to bf16, and stand apart from float32."""
    import torch
    z, y, _ = data(d=128)
    eps, w = softent.calibrate(128, 32), oracle.reference_points(0, 32, 128)
    want = oracle.measures(z, w, eps, {"y": y}, product="bf16")
    f32 = oracle.measures(z, w, eps, {"y": y})
    apart = max(abs(f32["H"] - want["H"]), abs(f32["sets"]["y"]["I"] - want["sets"]["y"]["I"]))
    for on_device in (False, True):
        acc = softent.Accumulator(128, bins=32, product="bf16")
        if acc.product != "bf16":
            raise Fail(f"Accumulator(product='bf16').product = {acc.product!r}")
        for i in range(0, len(z), 1000):
            acc.update(torch.from_numpy(z[i:i + 1000]), labels={"y": y[i:i + 1000]}, on_device=on_device)
        r, tol = acc.results(), 1e-8
        close(f"bf16 (on_device={on_device}): H", r["H(Z)"], want["H"], tol)
        close(f"bf16 (on_device={on_device}): I", r["I(X;Z)/y"], want["sets"]["y"]["I"], tol)
        if not apart > 10 * tol:
            raise Fail(f"bf16 and float32 oracles only {apart:.3g} apart: the check cannot tell them apart at {tol}")
    try:
        softent.Accumulator(128, product="f16")
        raise Fail("Accumulator(product='f16') was accepted")
    except ValueError as e:
        if "bf16" not in str(e):
            raise Fail(f"Accumulator(product='f16'): {e}")


def fill(acc, mode, z, y):
    """acc given rows z labelled y: counted first, or streamed in batches."""
    if mode == "counted":
        acc.count({"y": y})
        acc.update(z)
    else:
        for i in range(0, len(z), 512):
            acc.update(z[i:i + 512], labels={"y": y[i:i + 512]})
    return acc


def check_against_the_cli():
    z, y, _ = data(n=3000, values=300)
    zp, yp = tmp("cli_z.npy"), tmp("cli_y.npy")
    np.save(zp, z)
    np.save(yp, y)
    out = tmp("cli.json")
    run("estimate", zp, "--labels", f"y={yp}", "--bins", 32, "--null", 6, "--bootstrap", 25, "--json", out, "--quiet")
    with open(out) as f:
        cli = json.load(f)
    ls = cli["label_sets"][0]
    for mode in ("stream", "counted"):
        r = fill(softent.Accumulator(16, bins=32, null=6, bootstrap=25), mode, z, y).results()
        tol = 1e-12
        close(f"{mode}: H", r["H(Z)"], cli["H"], 1e-12)
        close(f"{mode}: I", r["I(X;Z)/y"], ls["I"], 1e-12)
        close(f"{mode}: I_corrected", r["I_corrected/y"], ls["I_corrected"], 1e-12)
        close(f"{mode}: null mean", r["I_null_mean/y"], ls["null"]["I_null_mean"], tol)
        close(f"{mode}: null sd", r["I_null_sd/y"], ls["null"]["I_null_sd"], tol)
        close(f"{mode}: p", r["p_value/y"], ls["null"]["p_value"], 0)
        close(f"{mode}: interval", r["I_corrected_interval/y"], ls["interval"]["I_corrected"], tol)


def check_scaled_null_against_the_cli():
    """null="scaled:ROWS": the CLI's --null scaled:ROWS in both label modes,
    and through save() and load()."""
    z, y, _ = data(n=3000, values=300)
    zp, yp = tmp("cls_z.npy"), tmp("cls_y.npy")
    np.save(zp, z)
    np.save(yp, y)
    out = tmp("cls.json")
    run("estimate", zp, "--labels", f"y={yp}", "--bins", 32, "--null", "scaled:500", "--json", out, "--quiet")
    with open(out) as f:
        null = json.load(f)["label_sets"][0]["null"]
    for mode in ("stream", "counted"):
        acc = fill(softent.Accumulator(16, bins=32, null="scaled:500"), mode, z, y)
        r = acc.results()
        close(f"{mode}: scaled null mean", r["I_null_mean/y"], null["I_null_mean"], 1e-12)
        close(f"{mode}: scaled null sd", r["I_null_sd/y"], null["I_null_sd"], 1e-12)
        if mode == "counted":
            acc.save(tmp("cls.state"))
            r = softent.Accumulator.load(tmp("cls.state")).results()
            close("loaded: scaled null mean", r["I_null_mean/y"], null["I_null_mean"], 1e-12)


def check_streaming_equals_counted():
    """Every measure, with a null, a bootstrap over groups and each
    correction, on labels with many values seen once, to 1e-12."""
    rng = np.random.default_rng(3)
    n = 5000
    z = rng.standard_normal((n, 12)).astype(np.float32)
    z[7] = 0
    z[99] = np.nan
    y = rng.integers(0, 2500, n)
    g = np.repeat(np.arange(n // 25), 25)
    for correction in ("curve", "taylor", "null", "none"):
        kw = dict(bins=24, null=4, bootstrap=20, correction=correction)
        a = softent.Accumulator(12, **kw)
        for i in range(0, n, 1234):
            a.update(z[i:i + 1234], labels={"y": y[i:i + 1234], "t": y[i:i + 1234] % 5}, groups=g[i:i + 1234])
        b = softent.Accumulator(12, **kw)
        b.count({"y": y, "t": y % 5}, groups=g)
        b.update(z)
        for s in ("y", "t"):
            ma, mb = a.measures(s), b.measures(s)
            for key in ma:
                if isinstance(ma[key], float):
                    close(f"{correction}, {s}: {key}", ma[key], mb[key], 1e-12)
        if a.results()["skipped"] != 2:
            raise Fail(f"skipped {a.results()['skipped']}, want the 2 rows of zero and NaN norm")


def check_soft_assignments_entry_point():
    z, y, _ = data()
    ref = softent.Accumulator(16, bins=32)
    ref.update(z, labels={"y": y})
    w, eps = ref.refpoints, ref.eps
    zn = z.astype(np.float64) / np.linalg.norm(z, axis=1, keepdims=True)
    a = zn @ w.T.astype(np.float64) / eps
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    acc = softent.Accumulator(16, bins=32)
    acc.update_probs(p.astype(np.float32), labels={"y": y})
    r, rr = acc.results(), ref.results()
    close("probs: H", r["H(Z)"], rr["H(Z)"], 1e-6)
    close("probs: I", r["I(X;Z)/y"], rr["I(X;Z)/y"], 1e-6)


def check_save_load_merge():
    z, y, _ = data()
    one = softent.Accumulator(16, bins=32)
    one.count({"y": y})
    one.update(z)
    parts = []
    for lo, hi in ((0, 1500), (1500, len(z))):  # any boundary: rows are scored in globally aligned tiles
        part = softent.Accumulator(16, bins=32)
        part.count({"y": y})
        part.set_first_row(lo)
        part.update(z[lo:hi], start=lo)
        parts.append(part)
    parts[1].merge(parts[0])  # either way round
    for key in ("I(X;Z)/y", "I_corrected/y"):  # the bias curve too
        close(f"merge: {key}", parts[1].results()[key], one.results()[key], 1e-12)
    path = tmp("py.state")
    one.save(path)
    back = softent.Accumulator.load(path)
    close("load: I", back.results()["I(X;Z)/y"], one.results()["I(X;Z)/y"], 0)
    close("load: refpoints", back.refpoints, one.refpoints, 0)
    if back.eps != one.eps:
        raise Fail("eps changed through a state file")


def soft_h_accumulator(batches, d, n_bins, seed, backend):
    """soft_h's SoftEntropyAccumulator algorithm (its numpy and torch
    backends), restated: float32 unit reference points drawn by the
    backend, softmax(z_hat . w / eps) in float32 with eps = find_eps, bin
    counts summed in float32 per batch and per label value, H from the
    counts, I = H(Z) - sum_x P(x) H(Z|X=x)."""
    eps = oracle.eps_bound(n_bins, d)
    if backend == "numpy":
        w = np.random.default_rng(seed).standard_normal((n_bins, d)).astype(np.float32)
        w = w / np.linalg.norm(w, axis=-1, keepdims=True)
    else:
        import torch
        g = torch.Generator(device="cpu").manual_seed(seed)
        w = torch.nn.functional.normalize(torch.randn(n_bins, d, generator=g), dim=-1).numpy()
    total, n, per, per_n = np.zeros(n_bins, np.float32), 0, {}, {}
    for z, y in batches:
        zn = (z / np.linalg.norm(z, axis=-1, keepdims=True)).astype(np.float32)
        x = (zn @ w.T) / np.float32(eps)
        x = x - x.max(axis=-1, keepdims=True)
        e = np.exp(x)
        p = e / e.sum(axis=-1, keepdims=True)
        total += p.sum(axis=0)
        n += len(z)
        for v in np.unique(y):
            idx = np.where(y == v)[0]
            per[v] = per.get(v, np.zeros(n_bins, np.float32)) + p[idx].sum(axis=0)
            per_n[v] = per_n.get(v, 0) + len(idx)

    def h(c):
        q = c.astype(np.float64) / c.sum()
        return float(-(q * np.log(np.clip(q, 1e-9, None))).sum() / np.log(n_bins))

    hz = h(total)
    return hz, hz - sum(per_n[v] / n * h(per[v]) for v in per), {v: h(c) for v, c in per.items()}


def check_compat_matches_soft_h():
    from softent.compat import SoftEntropyAccumulator
    z, y, _ = data(n=3000, values=30)
    batches = [(z[i:i + 700], y[i:i + 700]) for i in range(0, len(z), 700)]
    for backend in ("numpy", "torch"):
        H, I, cond = soft_h_accumulator(batches, 16, 64, 7, backend)
        acc = SoftEntropyAccumulator(16, n_bins=64, seed=7, backend=backend)
        for zb, yb in batches:
            acc.update(zb, yb)  # one array: the set "labels", as soft_h names it
        r = acc.results()
        close(f"compat {backend}: H(Z)", r["H(Z)"], H, 1e-5)
        close(f"compat {backend}: I", r["I(X;Z)/labels"], I, 1e-5)
        close(f"compat {backend}: regularity", r["regularity/labels"], I / H, 1e-5)
        close(f"compat {backend}: mutual_information", acc.mutual_information()["labels"], I, 1e-5)
        got = acc.conditional_entropy()["labels"]
        for v, hv in cond.items():
            close(f"compat {backend}: H(Z|X={v})", got[int(v)], hv, 1e-5)
        acc.reset()
        if acc.mutual_information():
            raise Fail("reset() kept label sets")


class StandIn(torch.nn.Module):
    """A model with the transformers interface over tests/torch_reference.py:
    forward(input_ids, attention_mask, output_hidden_states=True) returns an
    object whose .hidden_states holds [B, T, d] per layer, each sequence run
    on its real tokens alone (padding rows zero)."""

    def __init__(self, model_dir):
        super().__init__()
        import torch_reference
        self.ref = torch_reference
        self.config, self.weights = torch_reference.load(model_dir)

    def forward(self, input_ids, attention_mask=None, output_hidden_states=False):
        import types
        import torch
        assert output_hidden_states
        B, T = input_ids.shape
        states = None
        for b in range(B):
            real = torch.nonzero(attention_mask[b]).flatten()
            hidden, _ = self.ref.forward(self.config, self.weights, input_ids[b, real].numpy())
            if states is None:
                states = [torch.zeros(B, T, h.shape[1], dtype=torch.float64) for h in hidden]
            for l, h in enumerate(hidden):
                states[l][b, real] = h
        return types.SimpleNamespace(hidden_states=tuple(states))


def padded(seqs, left):
    import torch
    T = max(len(s) for s in seqs)
    ids, mask = torch.zeros(len(seqs), T, dtype=torch.int64), torch.zeros(len(seqs), T, dtype=torch.int64)
    for b, s in enumerate(seqs):
        sl = slice(T - len(s), T) if left else slice(0, len(s))
        ids[b, sl], mask[b, sl] = torch.as_tensor(s), 1
    return ids, mask


def fixture_model():
    """The gpt2 fixture (tests/make_models.py) with a byte-level tokenizer, a corpus."""
    from common import bytes_to_unicode, write_bos_bpe_tokenizer
    models = tmp("models")
    if not os.path.isdir(models):
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_models.py"), models], check=True, capture_output=True)
        b2u = bytes_to_unicode()
        write_bos_bpe_tokenizer(os.path.join(models, "gpt2"), {b2u[b]: b for b in range(256)}, [], 299)
        with open("/usr/share/common-licenses/GPL-3") as f:
            lines = [" ".join(l.split()) for l in f if len(l.split()) >= 3][:40]
        with open(tmp("corpus.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return os.path.join(models, "gpt2"), tmp("corpus.txt")


def check_layer_accumulators_equal_analyze():
    from softent.torch import LayerAccumulators
    d, corpus = fixture_model()
    out = tmp("la_analyze")
    run("analyze", d, corpus, "--out", out, "--ngrams", "1,2", "--max-length", 40, "--bins", 32, "--bootstrap", 10)
    with open(os.path.join(out, "analysis.json")) as f:
        want = json.load(f)
    seqs = [[int(t) for t in l.split()][:40] for l in run("tokenize", d, corpus).stdout.splitlines()]
    model = StandIn(d)
    results = []
    for batch, left in ((7, False), (3, True)):
        la = LayerAccumulators(model, ngrams=(1, 2), bins=32, bootstrap=10)
        for i in range(0, len(seqs), batch):
            la.update(*padded(seqs[i:i + batch], left))
        results.append(la.results())
    got = results[0]
    if got["corpus"]["positions"] != want["corpus"]["positions"]:
        raise Fail(f"positions {got['corpus']['positions']} vs analyze's {want['corpus']['positions']}")
    for lg, lw in zip(got["layers"], want["layers"]):
        close(f"layer {lg['layer']}: H", lg["H"], lw["H"], 1e-5)
        for og, ow in zip(lg["orders"], lw["orders"]):
            for key in ("I_in", "I_out"):
                close(f"layer {lg['layer']} n={og['n']}: {key}", og[key], ow[key], 1e-5)
            close(f"layer {lg['layer']} n={og['n']}: corrected I_in", og["in"]["I_corrected"], ow["in"]["I_corrected"], 1e-5)
    for og, ow in zip(got["layer_mean"]["orders"], want["layer_mean"]["orders"]):
        close(f"mean n={og['n']}: I_in_corrected", og["I_in_corrected"], ow["I_in_corrected"], 1e-5)
        close(f"mean n={og['n']}: interval", og["I_in_corrected_interval"], ow["I_in_corrected_interval"], 1e-4)
    # batching and padding side: the same rows in the same order, the same numbers
    for lg, lo in zip(results[0]["layers"], results[1]["layers"]):
        for og, oo in zip(lg["orders"], lo["orders"]):
            close(f"batch 7 right vs 3 left, layer {lg['layer']}", [og["I_in"], og["I_out"]], [oo["I_in"], oo["I_out"]], 1e-12)


def check_gguf_model_and_tokenizer():
    """softent.Model and softent.Tokenizer on a Q8_0 GGUF file (the
    fixture's tokenizer in its metadata): the ids are `softent tokenize`'s,
    the hidden states the C forward driver's bit for bit (layers asked for
    alone too), and LayerAccumulators fed them give `softent analyze`'s
    numbers on the same file."""
    from softent.torch import LayerAccumulators
    import make_models
    import test_gguf
    gg = tmp("py.gguf")
    test_gguf.write_gguf_model(gg, *make_models.llama_family("llama", 12, kv_heads=2), "q8_0", tokenizer=True)
    with open("/usr/share/common-licenses/GPL-3") as f:
        lines = [" ".join(l.split()) for l in f if len(l.split()) >= 3][:20]
    corpus = tmp("py_gguf_corpus.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(lines) + "\n")
    tok, model = softent.Tokenizer(gg), softent.Model(gg)
    if model.config["arch"] != "llama" or model.config["n_layers"] != 2 or model.compute != "float32":
        raise Fail(f"config {model.config}, compute {model.compute}")
    cli = [[int(t) for t in l.split()] for l in run("tokenize", gg, corpus).stdout.splitlines()]
    seqs = [tok.encode(l) for l in lines]
    if [list(s) for s in seqs] != cli:
        raise Fail("softent.Tokenizer's ids differ from softent tokenize's")
    states = model.hidden_states(seqs[0])
    want = test_gguf.hidden_states(gg, seqs[0]).reshape(3, len(seqs[0]), -1)  # [(L + 1) n, d] as the driver saves it
    if len(states) != 3 or not all(np.array_equal(s, w) for s, w in zip(states, want)):
        raise Fail("softent.Model's hidden states differ from the forward driver's")
    only = model.hidden_states(seqs[0], layers=[1])
    if only[0] is not None or only[2] is not None or not np.array_equal(only[1], want[1]):
        raise Fail("hidden_states(layers=[1]) did not give layer 1 alone")
    out = tmp("py_gguf_analyze")
    run("analyze", gg, corpus, "--out", out, "--ngrams", "1,2", "--bins", 16, "--max-length", 48, "--quiet")
    with open(os.path.join(out, "analysis.json")) as f:
        expect = json.load(f)
    la = LayerAccumulators(None, ngrams=(1, 2), bins=16)
    for s in seqs:
        s = s[:48]
        hs = [torch.from_numpy(h)[None] for h in model.hidden_states(s)]
        la.add_hidden_states(hs, torch.from_numpy(s.astype(np.int64))[None])
    got = la.results()
    if got["model"]["arch"] is not None or got["model"]["path"] != "hidden states":
        raise Fail(f"a LayerAccumulators without a model names one: {got['model']}")
    for lg, lw in zip(got["layers"], expect["layers"]):
        for og, ow in zip(lg["orders"], lw["orders"]):
            close(f"layer {lg['layer']} n={og['n']}: I_in, I_out", [og["I_in"], og["I_out"]], [ow["I_in"], ow["I_out"]], 1e-9)
    try:
        softent.Model(corpus)
        raise Fail("softent.Model opened a text file")
    except (ValueError, OSError) as e:
        if "py_gguf_corpus.txt" not in str(e):
            raise Fail(f"the error does not name the file: {e}")


def check_layer_accumulators_hooks_and_correlate():
    """Any nn.Module through forward hooks on named blocks (a position-wise
    toy, so padding cannot matter): equal to an Accumulator fed the same
    states by hand; four such results go through softent correlate."""
    import torch
    from softent.torch import LayerAccumulators

    class Toy(torch.nn.Module):
        def __init__(self, seed):
            super().__init__()
            torch.manual_seed(seed)
            self.embed = torch.nn.Embedding(50, 12)
            self.blocks = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(12, 12), torch.nn.Tanh()) for _ in range(2)])

        def forward(self, input_ids, attention_mask=None):
            h = self.embed(input_ids)
            for blk in self.blocks:
                h = h + blk(h)
            return h

    rng = np.random.default_rng(5)
    seqs = [list(rng.integers(0, 50, rng.integers(3, 30))) for _ in range(60)]
    paths = []
    for seed in range(4):
        toy = Toy(seed)
        la = LayerAccumulators(toy, modules=["embed", "blocks.0", "blocks.1"], ngrams=(1,), bins=16, name=f"toy{seed}")
        for i in range(0, len(seqs), 8):
            la.update(*padded(seqs[i:i + 8], left=seed % 2 == 1))
        r = la.results()
        la.close()
        ref = softent.Accumulator(12, bins=16)
        states, labels = [], []
        with torch.no_grad():
            for s in seqs:
                h = toy.blocks[0](toy.embed(torch.tensor(s)))  # the hooked module's own output
                pos = np.arange(0, len(s) - 1)
                states.append(h[pos].numpy())
                labels.append(np.array(s)[pos])
        ref.update(np.concatenate(states), labels={"in1": np.concatenate(labels)[:, None]})
        close(f"toy {seed}: hooked layer 1 I_in", r["layers"][1]["orders"][0]["I_in"], ref.results()["I(X;Z)/in1"], 1e-6)
        path = tmp(f"toy{seed}/analysis.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(r, f)
        paths.append(path)
    scores = tmp("toy_scores.csv")
    with open(scores, "w") as f:
        f.write("model,acc\n" + "".join(f"toy{i},{0.1 * i + 0.05}\n" for i in range(4)))
    run("correlate", *paths, "--scores", scores, "--out", tmp("toy_corr"))
    if not os.path.exists(tmp("toy_corr/correlate.json")):
        raise Fail("softent correlate wrote no correlate.json from LayerAccumulators results")


def expect(exc, fn, *words):
    try:
        fn()
    except exc as e:
        for w in words:
            if w not in str(e):
                raise Fail(f"{exc.__name__} {str(e)!r} does not mention {w!r}")
        return
    except Exception as e:  # noqa: BLE001
        raise Fail(f"want {exc.__name__}, got {type(e).__name__}: {e}")
    raise Fail(f"want {exc.__name__} mentioning {words}, nothing raised")


def check_bad_input():
    z, y, _ = data(n=100)
    acc = softent.Accumulator(16, bins=8)
    expect(ValueError, lambda: acc.update(z[0]), "2-D")
    expect(ValueError, lambda: acc.update(z[:, :8]), "d = 16")
    expect(ValueError, lambda: acc.update(z, labels={"y": y[:50]}), "100 labels")
    expect(ValueError, lambda: acc.update(np.arange(32).reshape(2, 16)), "floating point")
    acc.update(z, labels={"y": y})
    expect(ValueError, lambda: acc.update(z, labels={"x": y}), "same sets")
    expect(ValueError, lambda: acc.update(z), "with every batch")
    expect(ValueError, lambda: acc.count({"y": y}), "before the first update")
    acc.close()
    expect(ValueError, lambda: acc.update(z, labels={"y": y}), "closed")
    expect(ValueError, lambda: acc.results(), "closed")
    expect(ValueError, lambda: softent.Accumulator(16, min_count=3).update(z, labels={"y": y}), "min-count 3", "count")
    expect(ValueError, lambda: softent.Accumulator(1), "d = 1")
    expect(ValueError, lambda: softent.Accumulator(16, correction="null"), "null")
    expect(ValueError, lambda: softent.Accumulator(16, calibration="warm"), "calibration")
    expect(OSError, lambda: softent.Accumulator.load(tmp("missing.state")), "missing.state")
    bad = tmp("bad.state")
    with open(bad, "wb") as f:
        f.write(b"not a state at all")
    expect(Exception, lambda: softent.Accumulator.load(bad), "bad.state")
    nan = softent.Accumulator(16, bins=8)
    zz = z.copy()
    zz[:10] = np.nan
    nan.update(zz, labels={"y": y})
    if nan.results()["skipped"] != 10 or nan.results()["rows"] != 100:
        raise Fail(f"NaN rows: {nan.results()['skipped']} skipped of {nan.results()['rows']}, want 10 of 100")
    a, b = softent.Accumulator(16, bins=8), softent.Accumulator(16, bins=8)
    a.update(z, labels={"y": y})
    b.update(z, labels={"y": y})
    expect(ValueError, lambda: a.merge(b), "streamed labels")


def check_offline_install_into_a_venv():
    if "asan" in BUILD:
        return  # the installed copy would be the sanitizer build; the checks above ran on it
    venv, src = tmp("venv"), tmp("python-src")
    shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "libsoftent.so.0"))
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    env = {k: v for k, v in os.environ.items() if k not in ("SOFTENT_LIBRARY", "PYTHONPATH")}
    env["SOFTENT_BUILD"] = os.path.abspath(BUILD)
    p = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", "-q", src],
                       capture_output=True, text=True, env=env)
    if p.returncode:
        raise Fail(f"pip install failed: {p.stderr[-2000:]}")
    code = ("import numpy as np, softent; a = softent.Accumulator(8, bins=8); "
            "a.update(np.eye(8, dtype=np.float32), labels={'y': np.arange(8) % 2}); "
            "print(softent.__file__, a.results()['rows'])")
    p = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env, cwd=tmp(""))
    if p.returncode or not p.stdout.strip().endswith(" 8") or venv not in p.stdout:
        raise Fail(f"the installed package: {p.stdout!r} {p.stderr[-1500:]!r}")


if __name__ == "__main__":
    main(globals())
