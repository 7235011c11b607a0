"""softent analyze end to end: on fixture models (tests/make_models.py) and
a corpus of real text, every selected layer's H and I(in/out n-gram) equal
what the NumPy estimator (tests/oracle.py) gives on the PyTorch reference's
hidden states (tests/torch_reference.py) at the same positions, to 1e-5;
with a null, the corrected optimality, the corrected layer means and the
context-width differences equal the oracle's I less the null means; tables
lead with the corrected values and print no nan, JSON holds no NaN; the
outputs (JSON, tidy CSV, figures) are there; bad input is refused."""
import csv
import json
import os
import sys

import numpy as np

import oracle
from analysis_fixture import corpus_lines, model
from common import Fail, expect_error, main, run, tmp

sys.path.insert(0, os.path.dirname(__file__))
import torch_reference  # noqa: E402

TOL = 1e-5


def analyze(model_dir, out, *args):
    run("analyze", model_dir, tmp("corpus.txt"), "--out", out, *args)
    with open(os.path.join(out, "analysis.json")) as f:
        return json.load(f)


def no_nan(table, json_path, *csv_paths):
    """No "nan" in a printed table, no NaN literal in the JSON (null
    instead), no nan field in the CSVs."""
    if "nan" in table.lower():
        raise Fail("a table printed nan: " + next(l for l in table.splitlines() if "nan" in l.lower()))
    with open(json_path) as f:
        text = f.read()
    if "NaN" in text or "Infinity" in text:
        raise Fail(f"{json_path} holds a NaN/Infinity literal")
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(Fail(f"JSON constant {c}")))
    for p in csv_paths:
        with open(p) as f:
            if any(r["value"].lower() in ("nan", "inf", "-inf") for r in csv.DictReader(f)):
                raise Fail(f"{p}: a nan value")


def table_row(table, first):
    """The cells of the printed row whose first cell is `first`, split at the
    bar into (corrected, plug-in) groups; without a null, ([], plug-in)."""
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            left, _, right = line.partition("|")
            return (left.split()[2:], right.split()) if right else ([], left.split()[2:])
    raise Fail(f"no table row {first!r}")


def reference(model_dir, max_length, orders, layers, m, seed, eps, min_count=1, extra=None):
    """PyTorch hidden states -> the NumPy estimator, at softent's positions.
    extra: label sets of the user's, name -> a list of labels per token for
    each line of the corpus, read at the same positions.
    With min_count K > 1, order n keeps (for in{n} and out{n} alike) the
    positions whose input and output n-grams each occur >= K times among all
    positions, and the oracle runs on those rows with min_count 1."""
    ids = run("tokenize", model_dir, tmp("corpus.txt")).stdout.splitlines()
    config, weights = torch_reference.load(model_dir)
    n_max = max(orders)
    rows = {l: [] for l in layers}
    labels = {f"{io}{n}": [] for n in orders for io in ("in", "out")}
    labels.update({name: [] for name in extra or {}})
    keymaps = {name: {} for name in extra or {}}  # label string -> integer key
    for i, line in enumerate(ids):
        tokens = [int(t) for t in line.split()][:max_length]
        if len(tokens) < 2 * n_max:
            continue
        hidden, _ = torch_reference.forward(config, weights, tokens)
        pos = np.arange(n_max - 1, len(tokens) - n_max)
        for l in layers:
            rows[l].append(hidden[l].numpy()[pos])
        t = np.array(tokens)
        for n in orders:
            labels[f"in{n}"].append(np.stack([t[pos - n + 1 + k] for k in range(n)], axis=1))
            labels[f"out{n}"].append(np.stack([t[pos + 1 + k] for k in range(n)], axis=1))
        for name, per_line in (extra or {}).items():
            keys = keymaps[name]
            labels[name].append(np.array([keys.setdefault(x, len(keys)) for x in per_line[i]])[pos])
    w = oracle.reference_points(seed, m, config.get("hidden_size", config.get("n_embd")))
    labels = {k: np.concatenate(v) for k, v in labels.items()}
    if min_count <= 1:
        return {l: oracle.measures(np.concatenate(rows[l]).astype(np.float32), w, eps, labels) for l in layers}
    masks = {}
    for n in orders:
        (i_ids, i_counts), (o_ids, o_counts) = oracle.key_ids(labels[f"in{n}"]), oracle.key_ids(labels[f"out{n}"])
        masks[n] = (i_counts[i_ids] >= min_count) & (o_counts[o_ids] >= min_count)
    out = {}
    for l in layers:
        p, keep = oracle.soft_assign(np.concatenate(rows[l]).astype(np.float32), w, eps)
        assert keep.all(), "the fixture's hidden states have no skipped rows"
        out[l] = {"H": oracle.entropy(p.sum(axis=0)), "sets": {}, "kept": {n: int(masks[n].sum()) for n in orders}}
        for n in orders:
            for io in ("in", "out"):
                out[l]["sets"][f"{io}{n}"] = oracle.labelset_measures(p[masks[n]], labels[f"{io}{n}"][masks[n]])
    return out


def compare(result, model_dir, max_length, orders, m=32, seed=0):
    layers = [l["layer"] for l in result["layers"]]
    want = reference(model_dir, max_length, orders, layers, m, seed, result["settings"]["eps"])
    for l in result["layers"]:
        ref = want[l["layer"]]
        if abs(l["H"] - ref["H"]) > TOL:
            raise Fail(f"layer {l['layer']}: H {l['H']} vs reference {ref['H']}")
        for o in l["orders"]:
            for io in ("in", "out"):
                got, exp = o[f"I_{io}"], ref["sets"][f"{io}{o['n']}"]["I"]
                if abs(got - exp) > TOL:
                    raise Fail(f"layer {l['layer']}, I_{io}{o['n']}: {got} vs reference {exp}")


def check_gpt2_all_layers():
    d = model("gpt2")
    r = analyze(d, tmp("out_gpt2"), "--ngrams", "1,2", "--max-length", "48", "--bins", 32)
    assert [l["layer"] for l in r["layers"]] == list(range(r["model"]["n_layers"] + 1))
    compare(r, d, 48, [1, 2])


def check_llama_selected_layers_trigrams():
    # (the fixture is stored in bf16: float32 products asked for, so that
    # the float64 reference applies at TOL)
    d = model("llama")
    r = analyze(d, tmp("out_llama"), "--ngrams", "1,3", "--max-length", "40", "--bins", 32, "--layers", "0,2", "--compute", "f32")
    assert [l["layer"] for l in r["layers"]] == [0, 2]
    if r["model"]["compute"] != "f32":
        raise Fail(f"--compute f32 recorded as {r['model']['compute']!r}")
    compare(r, d, 40, [1, 3])


def check_bf16_products_by_default_for_a_bf16_checkpoint():
    """A checkpoint stored in bf16 runs with bf16 products where the CPU has
    AVX512-BF16 / AMX (recorded in the JSON), and its measures stay within
    2e-3 (efficiency units) of the float32 products'; a float32 checkpoint
    stays float32; a bad --compute is a usage error."""
    with open("/proc/cpuinfo") as f:
        native = " avx512_bf16" in f.read()
    d = model("llama")
    args = ("--ngrams", "1,2", "--max-length", "40", "--bins", 32)
    got = analyze(d, tmp("out_llama_auto"), *args)
    want = analyze(d, tmp("out_llama_f32"), *args, "--compute", "f32")
    if got["model"]["compute"] != ("bf16" if native else "f32"):
        raise Fail(f"a bf16 checkpoint ran with {got['model']['compute']} products (CPU with bf16 units: {native})")
    worst = 0.0
    for a, b in zip(got["layers"], want["layers"]):
        worst = max(worst, abs(a["H"] - b["H"]), *(abs(x[f"I_{io}"] - y[f"I_{io}"]) for x, y in zip(a["orders"], b["orders"])
                                                    for io in ("in", "out")))
    print(f"  bf16 against float32 products: largest difference in H and I {worst:.1e}")
    if not worst <= 2e-3:
        raise Fail(f"bf16 products move H or I by {worst:.3g} from the float32 products' (> 2e-3)")
    if analyze(model("gpt2"), tmp("out_gpt2_auto"), *args)["model"]["compute"] != "f32":
        raise Fail("a float32 checkpoint ran with bf16 products")
    expect_error(["analyze", d, tmp("corpus.txt"), "--out", tmp("out_bad"), "--compute", "fp8"], "--compute fp8", "auto, f32 or bf16", code=2)


def check_gpt_neox_analyze():
    """A Pythia-shaped model (GPT-NeoX) end to end, against PyTorch + NumPy."""
    d = model("gpt_neox")
    r = analyze(d, tmp("out_neox"), "--ngrams", "1,2", "--max-length", "40", "--bins", 32)
    if r["model"]["arch"] != "gpt_neox":
        raise Fail(f"arch {r['model']['arch']}")
    compare(r, d, 40, [1, 2])


def check_outputs_and_layer_mean():
    out = tmp("out_gpt2")
    model("gpt2")
    with open(os.path.join(out, "analysis.json")) as f:
        r = json.load(f)
    for name in ("analysis.csv", "layers.tsv", "layers.png", "layers.svg", "plane_n1.png", "plane_n2.svg", "layers.gp"):
        p = os.path.join(out, name)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            raise Fail(f"{name} missing or empty")
    with open(os.path.join(out, "analysis.png" if False else "analysis.csv")) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == ["model", "checkpoint", "layer", "label_set", "measure", "value"], rows[0].keys()
    upper = [l for l in r["layers"] if l["layer"] >= 1]
    mean_h = sum(l["H"] for l in upper) / len(upper)
    assert abs(r["layer_mean"]["H"] - mean_h) < 1e-12, "layer mean must leave out layer 0"
    for key in ("documents_used", "tokens", "positions", "token_stream_fnv1a64"):
        assert key in r["corpus"], key


def check_corrected_values_against_oracle():
    """With --null: the corrected optimality is (I_out - null mean)/(I_in -
    null mean) with the I's recomputed by the NumPy oracle from PyTorch's
    hidden states; the layer means of the corrected values are over layers
    >= 1; context width is the oracle's I(n) - I(n-1), corrected; each label
    set's rows and H are the oracle's; the table leads with the corrected
    values and has no nan; the JSON no NaN."""
    d = model("gpt2")
    out = tmp("out_null")
    p = run("analyze", d, tmp("corpus.txt"), "--out", out, "--ngrams", "1,2,3", "--max-length", 48, "--bins", 32,
            "--null", 8, "--correction", "null")
    with open(os.path.join(out, "analysis.json")) as f:
        r = json.load(f)
    no_nan(p.stdout, os.path.join(out, "analysis.json"), os.path.join(out, "analysis.csv"))
    if "corrected (I - null mean)" not in p.stdout or r["headline"] != "corrected (I - null mean)":
        raise Fail("with a null the table and JSON must lead with the corrected values")
    layers = [l["layer"] for l in r["layers"]]
    want = reference(d, 48, [1, 2, 3], layers, 32, 0, r["settings"]["eps"])
    corr = {}
    for l in r["layers"]:
        ref = want[l["layer"]]
        for o in l["orders"]:
            n = o["n"]
            for io in ("in", "out"):
                s_ref, s_got = ref["sets"][f"{io}{n}"], o[io]
                if s_got["rows"] != s_ref["rows"] or abs(s_got["H"] - s_ref["H"]) > TOL:
                    raise Fail(f"layer {l['layer']} {io}{n}: rows/H {s_got['rows']}/{s_got['H']} vs {s_ref['rows']}/{s_ref['H']}")
                corr[l["layer"], io, n] = s_ref["I"] - s_got["null"]["I_null_mean"]
            den, num = corr[l["layer"], "in", n], corr[l["layer"], "out", n]
            exp = num / den if den > 0 else None
            got = o["optimality_corrected"]
            if (exp is None) != (got is None) or (exp is not None and abs(got - exp) > 4 * TOL * (1 + abs(exp)) / abs(den)):
                raise Fail(f"layer {l['layer']} n={n}: corrected optimality {got} vs oracle {exp}")
        for cw in l["context_width"]:
            n = cw["n"]
            for io in ("in", "out"):
                exp = corr[l["layer"], io, n] - corr[l["layer"], io, n - 1]
                if abs(cw[f"dI_{io}"] - exp) > 2 * TOL:
                    raise Fail(f"layer {l['layer']} n={n}: dI_{io} {cw[f'dI_{io}']} vs oracle {exp}")
        if [cw["n"] for cw in l["context_width"]] != [2, 3]:
            raise Fail(f"context width orders {l['context_width']}")
    if not any(o["optimality_corrected"] is not None for l in r["layers"] for o in l["orders"]):
        raise Fail("no corrected optimality defined anywhere: the check compared nothing")
    upper = [x for x in layers if x >= 1]
    for o, cw in zip(r["layer_mean"]["orders"], [None] + r["layer_mean"]["context_width"]):
        n = o["n"]
        m_in = sum(corr[x, "in", n] for x in upper) / len(upper)
        m_out = sum(corr[x, "out", n] for x in upper) / len(upper)
        if abs(o["I_in_corrected"] - m_in) > TOL or abs(o["I_out_corrected"] - m_out) > TOL:
            raise Fail(f"layer mean n={n}: corrected {o['I_in_corrected']}, {o['I_out_corrected']} vs {m_in}, {m_out}")
        if o["optimality_corrected"] is not None and abs(o["optimality_corrected"] - m_out / m_in) > 4 * TOL / abs(m_in):
            raise Fail(f"layer mean n={n}: corrected optimality {o['optimality_corrected']} vs {m_out / m_in}")
        if cw is not None:
            prev = r["layer_mean"]["orders"][n - 2]
            if abs(cw["dI_in"] - (o["I_in_corrected"] - prev["I_in_corrected"])) > 1e-12:
                raise Fail(f"layer mean context width n={n}")
    # the printed mean row: corrected group first, then the plug-in one
    c, pl = table_row(p.stdout, "mean")
    lm = r["layer_mean"]["orders"][0]
    if abs(float(c[0]) - lm["I_in_corrected"]) > 1e-6 or abs(float(pl[0]) - lm["I_in"]) > 1e-6:
        raise Fail(f"mean row {c[:3]} | {pl[:3]} vs {lm}")


def check_scaled_null_matches_exact_null():
    """analyze --null scaled against the exact null of 200 permutations on
    the same hidden states, every layer and label set of orders 1-3: the
    means within 1 exact-null sd (the exact mean is itself known to
    sd / sqrt(200)), the sds within 20%; with --correction null the headline
    is I less the scaled null's mean; the null's JSON names its method."""
    d = model("gpt2")
    args = [d, tmp("corpus.txt"), "--ngrams", "1,2,3", "--max-length", 48, "--bins", 32, "--correction", "null", "--quiet"]
    got = {}
    for null in ("200", "scaled"):
        out = tmp("out_null_" + null)
        run("analyze", *args, "--out", out, "--null", null)
        with open(os.path.join(out, "analysis.json")) as f:
            got[null] = json.load(f)
    compared = 0
    for le, ls in zip(got["200"]["layers"], got["scaled"]["layers"]):
        for oe, os_ in zip(le["orders"], ls["orders"]):
            for io in ("in", "out"):
                e, s = oe[io]["null"], os_[io]["null"]
                what = f"layer {le['layer']} {io}{oe['n']}"
                if s["method"] != "scaled" or e["method"] != "permutations" or s["permutations"] != 0:
                    raise Fail(f"{what}: null methods {e['method']}, {s['method']}")
                if abs(s["I_null_mean"] - e["I_null_mean"]) > e["I_null_sd"] or abs(s["I_null_sd"] / e["I_null_sd"] - 1) > 0.2:
                    raise Fail(f"{what}: scaled null {s['I_null_mean']:.6f} +- {s['I_null_sd']:.6f} vs exact "
                               f"{e['I_null_mean']:.6f} +- {e['I_null_sd']:.6f}")
                if abs(os_[io]["I_corrected"] - (os_[io]["I"] - s["I_null_mean"])) > 1e-12:
                    raise Fail(f"{what}: the headline {os_[io]['I_corrected']} is not I less the scaled null's mean")
                compared += 1
    if compared != 2 * 3 * len(got["200"]["layers"]):
        raise Fail(f"compared {compared} label sets")


def check_min_count_uses_the_same_rows():
    """With --min-count 2 and 3, in{n} and out{n} are measured over the same
    positions: those whose input and output n-grams each occur >= K times
    (the mask computed in NumPy from the n-gram counts).  Their rows agree,
    H, H(Z|X) and I equal the oracle's on those rows, and optimality is the
    oracle's I(out)/I(in)."""
    d = model("gpt2")
    for K in (2, 3):
        r = analyze(d, tmp(f"out_mc{K}"), "--ngrams", "1,2,3", "--max-length", 48, "--bins", 32, "--min-count", K)
        if r["settings"]["min_count"] != K or "min_count_rule" not in r["settings"]:
            raise Fail(f"settings do not record min-count {K} and its rule: {r['settings']}")
        layers = [l["layer"] for l in r["layers"]]
        want = reference(d, 48, [1, 2, 3], layers, 32, 0, r["settings"]["eps"], min_count=K)
        dropped_some = False
        for l in r["layers"]:
            ref = want[l["layer"]]
            if abs(l["H"] - ref["H"]) > TOL:
                raise Fail(f"K={K} layer {l['layer']}: H {l['H']} vs {ref['H']}")
            for o in l["orders"]:
                n = o["n"]
                if o["in"]["rows"] != o["out"]["rows"] or o["in"]["rows"] != ref["kept"][n]:
                    raise Fail(f"K={K} layer {l['layer']} n={n}: rows in {o['in']['rows']}, out {o['out']['rows']}, "
                               f"jointly kept positions {ref['kept'][n]}")
                dropped_some |= ref["kept"][n] < l["rows"]
                for io in ("in", "out"):
                    s_ref = ref["sets"][f"{io}{n}"]
                    for key, got in (("H", o[io]["H"]), ("H_cond", o[f"H_cond_{io}"]), ("I", o[f"I_{io}"])):
                        if abs(got - s_ref[key]) > TOL:
                            raise Fail(f"K={K} layer {l['layer']} {io}{n}: {key} {got} vs oracle {s_ref[key]}")
                i_in, i_out = ref["sets"][f"in{n}"]["I"], ref["sets"][f"out{n}"]["I"]
                if i_in > 0.01:
                    exp = i_out / i_in
                    if abs(o["optimality"] - exp) > 4 * TOL * (1 + abs(exp)) / i_in:
                        raise Fail(f"K={K} layer {l['layer']} n={n}: optimality {o['optimality']} vs oracle {exp}")
        if not dropped_some:
            raise Fail(f"--min-count {K} dropped no position: the check compared nothing new")


def check_plugin_table_is_labelled():
    """With --correction none the table is the plug-in group alone, labelled
    as biased; the JSON's corrected fields are null, not NaN."""
    d = model("gpt2")
    out = tmp("out_plain")
    p = run("analyze", d, tmp("corpus.txt"), "--out", out, "--ngrams", "1,2", "--max-length", 32, "--bins", 16,
            "--correction", "none")
    if "plug-in (--correction none: biased upward)" not in p.stdout or "corrected (" in p.stdout:
        raise Fail("with --correction none the table must be labelled plug-in (--correction none: biased upward)")
    no_nan(p.stdout, os.path.join(out, "analysis.json"), os.path.join(out, "analysis.csv"))
    with open(os.path.join(out, "analysis.json")) as f:
        r = json.load(f)
    if r["layers"][1]["orders"][0]["optimality_corrected"] is not None or r["layer_mean"]["orders"][0]["I_in_corrected"] is not None:
        raise Fail("with --correction none the corrected fields must be null")
    c, pl = table_row(p.stdout, "1")
    if c or abs(float(pl[0]) - r["layers"][1]["orders"][0]["I_in"]) > 1e-6:
        raise Fail(f"plug-in row {pl}")


def check_bootstrap_outputs():
    """--bootstrap: every interval holds its value (per layer and set, layer
    means, optimality); the table lists the layer means' intervals; CSV
    rows carry them; the same run at 1 and 2 threads gives the same
    intervals (to the forward pass's rounding); no NaN anywhere."""
    d = model("gpt2")
    got = []
    for threads in (1, 2):
        out = tmp(f"out_boot{threads}")
        p = run("analyze", d, tmp("corpus.txt"), "--out", out, "--ngrams", "1,2", "--max-length", 48, "--bins", 32,
                "--bootstrap", 40, "--null", 5, threads=threads)
        no_nan(p.stdout, os.path.join(out, "analysis.json"), os.path.join(out, "analysis.csv"))
        with open(os.path.join(out, "analysis.json")) as f:
            got.append(json.load(f))
    r = got[0]
    if "95% intervals of the corrected layer means" not in p.stdout or r["bootstrap"]["replicates"] != 40:
        raise Fail("the table and JSON must say the bootstrap ran")
    for l in r["layers"]:
        lo, hi = l["H_interval"]
        if not lo <= l["H"] <= hi:
            raise Fail(f"layer {l['layer']} H {l['H']} outside [{lo}, {hi}]")
        for o in l["orders"]:
            for io in ("in", "out"):
                s = o[io]
                for key, est in (("I_corrected", s["I_corrected"]), ("I", s["I"]), ("H", s["H"])):
                    lo, hi = s["interval"][key]
                    if not lo <= est <= hi:
                        raise Fail(f"layer {l['layer']} {io}{o['n']} {key} {est} outside [{lo}, {hi}]")
    for o in r["layer_mean"]["orders"]:
        for key in ("I_in_corrected", "I_out_corrected", "optimality_corrected"):
            lo, hi = o[key + "_interval"]
            if o[key] is not None and not lo <= o[key] <= hi:
                raise Fail(f"layer mean {key} {o[key]} outside [{lo}, {hi}]")
    # the forward pass rounds differently with the thread count (~1e-9);
    # the intervals must follow, not jump (a replicate stream tied to the
    # thread count would move them by their own width)
    for a, b in zip(got[0]["layer_mean"]["orders"], got[1]["layer_mean"]["orders"]):
        for key in ("I_in_corrected_interval", "optimality_corrected_interval"):
            if max(abs(x - y) for x, y in zip(a[key], b[key])) > 1e-6:
                raise Fail(f"{key} depends on the thread count: {a[key]} vs {b[key]}")
    with open(os.path.join(tmp("out_boot1"), "analysis.csv")) as f:
        measures = {row["measure"] for row in csv.DictReader(f)}
    for m in ("I_corrected_lo", "I_corrected_hi", "optimality_corrected_lo"):
        if m not in measures:
            raise Fail(f"no {m} rows in analysis.csv")


def check_user_labels():
    """--labels NAME=PATH: each layer's I(label; Z) equals the oracle's on the
    PyTorch states with the same labels at the same positions (a label a
    token, special tokens included; a position's row takes its token's);
    the layer mean and its interval are there; miscounted lines, missing
    lines and bad names are refused, naming the file and the document."""
    d = model("gpt2")
    docs = [l.split() for l in run("tokenize", d, tmp("corpus.txt")).stdout.splitlines()]
    sets = {"tok": [[f"c{int(t) % 7}" for t in doc] for doc in docs],   # a function of the token
            "pos": [[f"p{i % 3}" for i in range(len(doc))] for doc in docs]}  # of the position alone
    paths = {}
    for name, per_line in sets.items():
        paths[name] = tmp(f"labels_{name}.txt")
        with open(paths[name], "w") as f:
            f.write("".join(" ".join(x) + "\n" for x in per_line))
    out = tmp("out_labels")
    table = run("analyze", d, tmp("corpus.txt"), "--out", out, "--ngrams", "1", "--max-length", 48, "--bins", 32,
                "--bootstrap", 20, *[a for n, p in paths.items() for a in ("--labels", f"{n}={p}")]).stdout
    with open(os.path.join(out, "analysis.json")) as f:
        r = json.load(f)
    layers = [l["layer"] for l in r["layers"]]
    want = reference(d, 48, [1], layers, 32, 0, r["settings"]["eps"], extra=sets)
    for l in r["layers"]:
        for name in sets:
            got, exp = l["labels"][name]["I"], want[l["layer"]]["sets"][name]["I"]
            if abs(got - exp) > TOL:
                raise Fail(f"layer {l['layer']}, I({name}; Z): {got} vs reference {exp}")
            if l["labels"][name]["rows"] != r["corpus"]["positions"]:
                raise Fail(f"{name}: {l['labels'][name]['rows']} rows, the corpus has {r['corpus']['positions']} positions")
    for name in sets:
        m = r["layer_mean"]["labels"][name]
        upper = [l["labels"][name]["I_corrected"] for l in r["layers"] if l["layer"] >= 1]
        if abs(m["I_corrected"] - sum(upper) / len(upper)) > 1e-12:
            raise Fail(f"{name}: layer mean {m['I_corrected']} vs the mean of layers >= 1")
        lo, hi = m["I_corrected_interval"]
        if not lo <= m["I_corrected"] <= hi:
            raise Fail(f"{name}: mean {m['I_corrected']} outside its interval [{lo}, {hi}]")
        if name not in table:
            raise Fail(f"the table has no column {name}")
    no_nan(table, os.path.join(out, "analysis.json"), os.path.join(out, "analysis.csv"))
    with open(os.path.join(out, "analysis.csv")) as f:
        if not any(row["label_set"] == "pos" and row["layer"] == "mean" for row in csv.DictReader(f)):
            raise Fail("analysis.csv has no layer-mean row of the label set pos")

    bad = tmp("labels_bad.txt")
    lines = open(paths["tok"]).read().splitlines()
    lines[2] = lines[2].rsplit(" ", 1)[0]
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\n")
    expect_error(["analyze", d, tmp("corpus.txt"), "--out", tmp("out_bad"), "--labels", f"tok={bad}"], "labels_bad.txt", "document 3")
    with open(bad, "w") as f:
        f.write("\n".join(open(paths["tok"]).read().splitlines()[:10]) + "\n")
    expect_error(["analyze", d, tmp("corpus.txt"), "--out", tmp("out_bad"), "--labels", f"tok={bad}"], "labels_bad.txt", "10 lines")
    for spec in ("in1=" + bad, "preference=" + bad, "a b=" + bad, "tok", "=" + bad):
        expect_error(["analyze", d, tmp("corpus.txt"), "--labels", spec], "--labels", code=2)
    expect_error(["analyze", d, tmp("corpus.txt"), "--labels", "x=" + bad, "--labels", "x=" + bad], "twice", code=2)


def check_units():
    """--units nats and bits: every H and I is the efficiency times log m or
    log2 m; optimality, a ratio, is unchanged."""
    d = model("gpt2")
    args = ("--ngrams", "1,2", "--max-length", "48", "--bins", 32, "--layers", "0,2")
    base = analyze(d, tmp("out_units_e"), *args)
    for units, factor in (("nats", np.log(32)), ("bits", np.log2(32))):
        r = analyze(d, tmp(f"out_units_{units}"), *args, "--units", units)
        if r["settings"]["units"] != units:
            raise Fail(f"settings.units {r['settings']['units']}")
        for lb, lu in zip(base["layers"], r["layers"]):
            if abs(lu["H"] - factor * lb["H"]) > 1e-9:
                raise Fail(f"{units}: H {lu['H']} vs {factor} x {lb['H']}")
            for ob, ou in zip(lb["orders"], lu["orders"]):
                for key in ("I_in", "I_out"):
                    if abs(ou[key] - factor * ob[key]) > 1e-9:
                        raise Fail(f"{units}: {key} {ou[key]} vs {factor} x {ob[key]}")
                if abs(ou["in"]["I_corrected"] - factor * ob["in"]["I_corrected"]) > 1e-9:
                    raise Fail(f"{units}: the corrected I is not scaled")
                if abs(ou["optimality"] - ob["optimality"]) > 1e-12:
                    raise Fail(f"{units}: optimality changed, {ob['optimality']} -> {ou['optimality']}")
        if abs(r["layer_mean"]["orders"][0]["I_in_corrected"] - factor * base["layer_mean"]["orders"][0]["I_in_corrected"]) > 1e-9:
            raise Fail(f"{units}: the layer mean is not scaled")
    expect_error(["analyze", d, tmp("corpus.txt"), "--units", "furlongs"], "--units", code=2)


def check_bad_input():
    d = model("gpt2")
    empty = tmp("empty.txt")
    open(empty, "w").close()
    expect_error(["analyze", d, empty, "--out", tmp("x")], "empty.txt")
    short = tmp("short.txt")
    with open(short, "w") as f:
        f.write("a b\nhi\n")
    expect_error(["analyze", d, short, "--out", tmp("x")], "short.txt", "too short")
    expect_error(["analyze", tmp("no-such-model"), tmp("corpus.txt")], "no-such-model")
    expect_error(["analyze", d, tmp("corpus.txt"), "--ngrams", "5"], "--ngrams")
    expect_error(["analyze", d, tmp("corpus.txt"), "--layers", "99"], "--layers")
    bad_jsonl = tmp("bad.jsonl")
    with open(bad_jsonl, "w") as f:
        f.write('{"title": "no text here"}\n')
    expect_error(["analyze", d, bad_jsonl, "--out", tmp("x")], "bad.jsonl", "text field")


def check_jsonl_and_directory_corpora():
    d = model("gpt2")
    lines = corpus_lines()[:30]
    with open(tmp("c.jsonl"), "w") as f:
        for l in lines:
            f.write(json.dumps({"id": 1, "content": l}) + "\n")
    os.makedirs(tmp("cdir"), exist_ok=True)
    for i, l in enumerate(lines):
        with open(tmp(f"cdir/{i:03d}.txt"), "w") as f:
            f.write(l)
    with open(tmp("c.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    results = []
    for c in (tmp("c.txt"), tmp("c.jsonl"), tmp("cdir")):
        out = tmp("o_" + os.path.basename(c).replace(".", "_"))
        run("analyze", d, c, "--out", out, "--bins", 16, "--max-length", 32)
        with open(os.path.join(out, "analysis.json")) as f:
            results.append(json.load(f))
    hashes = {r["corpus"]["token_stream_fnv1a64"] for r in results}
    if len(hashes) != 1:
        raise Fail(f"the same documents as .txt, .jsonl and a directory gave different token streams: {hashes}")


main(globals())
