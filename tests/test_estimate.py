"""softent estimate against the NumPy oracle (tests/oracle.py): H(Z) and
I(X;Z) on scikit-learn's digits and on synthetic data, every input format,
the weighting and min-count options, the reference Python's numbers in
--calibration bound mode, and the readable table (led by the corrected I
when a null was run) and corrected optimality in table, JSON and CSV."""
import csv
import gzip
import json
import math
import os
import struct

import numpy as np

import oracle
import table
from common import Fail, close, estimate_json, main, run, save_npy, tmp

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
TOL = 1e-6


def digits():
    with gzip.open(DIGITS, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :64].astype(np.float32), data[:, 64].astype(np.int64)


def synthetic(n=3000, d=32, k=12, seed=7):
    """Clustered rows: a label's rows share a direction, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    centers = rng.standard_normal((k, d))
    z = centers[labels] + 0.8 * rng.standard_normal((n, d))
    second = rng.integers(0, 3, n)
    return z.astype(np.float32), labels, np.stack([labels, second], axis=1)


def compare_sets(result, want, names):
    close("H", result["H"], want["H"], TOL)
    got = {s["name"]: s for s in result["label_sets"]}
    for name in names:
        for key in ("H", "H_cond"):
            close(f"{name}.{key}", got[name][key], want["sets"][name][key], TOL)
        close(f"{name}.I", got[name]["I"], want["sets"][name]["I"], TOL)
        if got[name]["rows"] != want["sets"][name]["rows"]:
            raise Fail(f"{name}: {got[name]['rows']} rows used, oracle {want['sets'][name]['rows']}")


def check_digits_exact():
    z, y = digits()
    r = estimate_json(save_npy("digits.npy", z), "--labels", "digit=" + save_npy("y.npy", y))
    w = oracle.reference_points(0, 100, 64)
    compare_sets(r, oracle.measures(z, w, r["settings"]["eps"], {"digit": y}), ["digit"])
    assert r["rows"] == 1797 and r["skipped"] == 0


def check_synthetic_sets_and_tuples():
    z, y, pairs = synthetic()
    zp = save_npy("syn.npy", z)
    r = estimate_json(zp, "--labels", "y=" + save_npy("syn_y.npy", y), "--labels", "pair=" + save_npy("syn_pair.npy", pairs),
                      "--bins", 50, "--seed", 3)
    w = oracle.reference_points(3, 50, 32)
    compare_sets(r, oracle.measures(z, w, r["settings"]["eps"], {"y": y, "pair": pairs}), ["y", "pair"])


def check_uniform_weighting_and_min_count():
    z, _, pairs = synthetic(n=2000, k=40)
    labels = pairs[:, 0] * 3 + pairs[:, 1]
    lp = save_npy("mc_y.npy", labels)
    zp = save_npy("mc.npy", z)
    w = oracle.reference_points(0, 100, 32)
    for weighting in ("prob", "uniform"):
        for mc in (1, 12):
            r = estimate_json(zp, "--labels", "x=" + lp, "--weighting", weighting, "--min-count", mc)
            want = oracle.measures(z, w, r["settings"]["eps"], {"x": labels}, weighting, mc)
            compare_sets(r, want, ["x"])


def check_bound_mode_equals_reference_python():
    z, y = digits()
    r = estimate_json(save_npy("digits.npy", z), "--labels", "digit=" + save_npy("y.npy", y), "--calibration", "bound")
    eps = oracle.eps_bound(100, 64)
    close("eps (bound)", r["settings"]["eps"], eps, 1e-10, rel=True)
    hz, mi = oracle.reference_python_mi(z.astype(np.float64), y, 100, 0, eps)
    close("H (reference python)", r["H"], hz, TOL)
    close("I (reference python)", r["label_sets"][0]["I"], mi, TOL)


def check_leading_and_fixed_eps():
    z, y = digits()
    zp = save_npy("digits.npy", z)
    r = estimate_json(zp, "--calibration", "leading")
    close("eps (leading)", r["settings"]["eps"], 1 / math.sqrt(2 * 64 * math.log(100)), 1e-14, rel=True)
    r = estimate_json(zp, "--calibration", "0.05")
    assert r["settings"]["eps"] == 0.05 and r["settings"]["calibration"] == "fixed"
    close("H (eps 0.05)", r["H"], oracle.measures(z, oracle.reference_points(0, 100, 64), 0.05)["H"], TOL)


def check_float16_float64_inputs():
    z, y, _ = synthetic(n=1500)
    w = oracle.reference_points(0, 100, 32)
    for dtype in (np.float16, np.float64):
        zz = z.astype(dtype)
        r = estimate_json(save_npy(f"z_{dtype.__name__}.npy", zz), "--labels", "y=" + save_npy("y16.npy", y.astype(np.int32)))
        # softent converts to float32 on reading; the oracle sees the same values
        compare_sets(r, oracle.measures(zz.astype(np.float32), w, r["settings"]["eps"], {"y": y}), ["y"])


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, array) in tensors.items():
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check_safetensors_2d_3d_bf16():
    z, y, _ = synthetic(n=1200)
    w = oracle.reference_points(0, 100, 32)
    layers = np.stack([z, -z, 2 * z + 1])
    bf16 = (z.view(np.uint32) >> 16).astype(np.uint16)  # truncation is a valid bf16 value
    path = tmp("z.safetensors")
    write_safetensors(path, {"hidden": ("F32", z), "layers": ("F32", layers), "bf": ("BF16", bf16),
                             "ids": ("I64", y)})
    yp = save_npy("st_y.npy", y)
    for tensor, values in (("hidden", z), ("layers:2", layers[2]), ("bf", (bf16.astype(np.uint32) << 16).view(np.float32))):
        r = estimate_json(path, "--tensor", tensor, "--labels", "y=" + yp)
        compare_sets(r, oracle.measures(values, w, r["settings"]["eps"], {"y": y}), ["y"])


def check_csv_inputs():
    z, y = digits()
    zp = tmp("digits.csv")
    np.savetxt(zp, z, delimiter=",", fmt="%g")
    lp = tmp("labels.tsv")
    with open(lp, "w") as f:
        f.write("id\tdigit\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(y)))
    r = estimate_json(zp, "--labels", f"digit={lp}:digit")
    compare_sets(r, oracle.measures(z, oracle.reference_points(0, 100, 64), r["settings"]["eps"], {"digit": y}), ["digit"])


def check_per_value_entropies():
    z, y, _ = synthetic(n=800, k=6)
    y = y.copy()
    y[0] = 99  # a value seen once: no stored vector, its entropy still reported
    r = estimate_json(save_npy("pv.npy", z), "--labels", "y=" + save_npy("pv_y.npy", y), "--per-value")
    w = oracle.reference_points(0, 100, 32)
    p, _ = oracle.soft_assign(z, w, r["settings"]["eps"])
    values = r["label_sets"][0]["values"]
    assert len(values) == 7, f"{len(values)} values reported, want 7"
    for v in values:
        rows = y == v["key"][0]
        assert v["count"] == rows.sum()
        close(f"H(Z|X={v['key'][0]})", v["H_cond"], oracle.entropy(p[rows].sum(axis=0)), TOL)


def check_skipped_rows():
    z, y, _ = synthetic(n=1000)
    z[5] = 0
    z[17, 3] = np.nan
    z[400, 0] = np.inf
    r = estimate_json(save_npy("skip.npy", z), "--labels", "y=" + save_npy("skip_y.npy", y))
    assert r["skipped"] == 3, f"skipped {r['skipped']}, want 3"
    compare_sets(r, oracle.measures(z, oracle.reference_points(0, 100, 32), r["settings"]["eps"], {"y": y}), ["y"])
    # rows near float32's limit: their float32 scores overflow; skipped, never NaN
    z[600] = 3e38
    r = estimate_json(save_npy("huge.npy", z), "--labels", "y=" + save_npy("skip_y.npy", y))
    assert r["skipped"] == 4 and r["H"] == r["H"], f"skipped {r['skipped']}, H {r['H']}"


def check_json_records_settings():
    z, y = digits()
    r = estimate_json(save_npy("digits.npy", z), "--labels", "a=" + save_npy("y.npy", y), "--labels", "b=" + save_npy("y.npy", y),
                      "--optimality", "a,b", "--null", 5, "--min-count", 2)
    s = r["settings"]
    for key in ("m", "d", "seed", "calibration", "eps", "weighting", "min_count", "null_perms", "null_seed", "units"):
        assert key in s, f"settings lack {key}"
    close("optimality of identical sets", r["optimality"][0]["value"], 1.0, 1e-12)


def check_bf16_product():
    """--product bf16 equals the float64 oracle whose product rounds rows
    and points to bf16 (PyTorch's rounding) to 1e-8, where the float32
    product lies farther from it; batching and threads move nothing."""
    z, y, pairs = synthetic(n=5000, d=256, k=40)
    zp = save_npy("bf_z.npy", z)
    args = [zp, "--labels", "y=" + save_npy("bf_y.npy", y), "--labels", "pair=" + save_npy("bf_pair.npy", pairs)]
    r = estimate_json(*args, "--product", "bf16")
    if r["settings"].get("product") != "bf16":
        raise Fail(f"settings.product = {r['settings'].get('product')!r}, want 'bf16'")
    w = oracle.reference_points(0, 100, 256)
    want = oracle.measures(z, w, r["settings"]["eps"], {"y": y, "pair": pairs}, product="bf16")
    flat = lambda res: [res["H"]] + [s[k] for s in res["label_sets"] for k in ("H_cond", "I")]
    expect = [want["H"]] + [want["sets"][n][k] for n in ("y", "pair") for k in ("H_cond", "I")]
    gap = max(abs(a - b) for a, b in zip(flat(r), expect))
    f32_gap = max(abs(a - b) for a, b in zip(flat(estimate_json(*args)), expect))
    if not gap <= 1e-8 or not f32_gap > 10 * max(gap, 1e-9):
        raise Fail(f"bf16 product: {gap:.3g} from the bf16 oracle (want <= 1e-8); the float32 product {f32_gap:.3g} (want > 10x that)")
    for batch, threads in ((100, 1), (1500, 2)):
        if flat(estimate_json(*args, "--product", "bf16", "--batch", batch, threads=threads)) != flat(r):
            raise Fail(f"bf16 product: --batch {batch} with {threads} threads changed the numbers")
    # every path, forced: the generic rounding loop (SOFTENT_ISA), oneDNN's
    # AVX512-BF16 kernels without AMX, its own emulation on AVX-512, and
    # none from oneDNN at all (AVX2: softent's, widened bf16 and sgemm)
    for var, value in (("SOFTENT_ISA", "generic"), ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16"), ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE"),
                       ("ONEDNN_MAX_CPU_ISA", "AVX2")):
        saved = os.environ.get(var)
        os.environ[var] = value
        try:
            forced = max(abs(a - b) for a, b in zip(flat(estimate_json(*args, "--product", "bf16")), expect))
        finally:
            if saved is None:
                os.environ.pop(var)
            else:
                os.environ[var] = saved
        if not forced <= 1e-8:
            raise Fail(f"bf16 product with {var}={value}: {forced:.3g} from the bf16 oracle (want <= 1e-8)")
    p = run("estimate", zp, "--product", "f16", ok=False)
    if p.returncode != 2 or "--product f16" not in p.stderr:
        raise Fail(f"--product f16: exit {p.returncode}, stderr {p.stderr!r}")


def check_refpoints_roundtrip():
    z, y = digits()
    zp = save_npy("digits.npy", z)
    wp = tmp("w.npy")
    a = estimate_json(zp, "--save-refpoints", wp, "--seed", 11)
    b = estimate_json(zp, "--refpoints", wp)
    assert a["H"] == b["H"], f"H {a['H']} with drawn points, {b['H']} with the same points loaded"


def check_units():
    z, y = digits()
    args = (save_npy("digits.npy", z), "--labels", "digit=" + save_npy("y.npy", y), "--bins", 64)
    eff = estimate_json(*args)
    for unit, scale in (("nats", math.log(64)), ("bits", 6.0)):
        r = estimate_json(*args, "--units", unit)
        assert r["settings"]["units"] == unit
        close(f"H in {unit}", r["H"], eff["H"] * scale, 1e-12)
        close(f"I in {unit}", r["label_sets"][0]["I"], eff["label_sets"][0]["I"] * scale, 1e-12)
        close(f"regularity in {unit}", r["label_sets"][0]["regularity"], eff["label_sets"][0]["regularity"], 0)


PRINTED = 5e-7 + TOL  # the table prints 6 decimals


def table_json_csv(*args):
    """One run's table (stdout), JSON and CSV ({(label_set, measure): value})."""
    jp, cp = tmp("t.json"), tmp("t.csv")
    stdout = run("estimate", *args, "--json", jp, "--csv", cp).stdout
    with open(jp) as f:
        result = json.load(f)
    with open(cp) as f:
        rows = {(r["label_set"], r["measure"]): r["value"] for r in csv.DictReader(f) if not r["key"]}
    return stdout, result, rows


def check_spill_dir_gives_the_same_numbers():
    """--spill-dir moves the rows the replayed null and the bootstrap read
    into an unlinked file (more than one chunk of them, and a store that
    grows): the JSON is byte for byte the in-memory run's, and the directory
    is empty afterwards."""
    import os
    rng = np.random.default_rng(21)
    n = 150_000
    y = rng.zipf(1.3, n) % 2000
    z = (rng.standard_normal((n, 16)) + np.eye(16)[y % 16] * 2).astype(np.float32)
    args = [save_npy("sp_z.npy", z), "--labels", "y=" + save_npy("sp_y.npy", y), "--groups", save_npy("sp_g.npy", np.arange(n) // 30),
            "--bins", 24, "--null", 4, "--bootstrap", 20, "--batch", 5000, "--quiet"]
    spill = tmp("spill")
    os.makedirs(spill, exist_ok=True)
    run("estimate", *args, "--json", tmp("sp_mem.json"))
    run("estimate", *args, "--json", tmp("sp_file.json"), "--spill-dir", spill)
    with open(tmp("sp_mem.json"), "rb") as a, open(tmp("sp_file.json"), "rb") as b:
        if a.read() != b.read():
            raise Fail("--spill-dir changed the results")
    if os.listdir(spill):
        raise Fail(f"--spill-dir left {os.listdir(spill)}")


def check_table_output():
    z, y = digits()
    stdout, r, _ = table_json_csv(save_npy("digits.npy", z), "--labels", "digit=" + save_npy("y.npy", y), "--correction", "none")
    assert "H(Z) =" in stdout and "I corrected" not in stdout and "plug-in values only" in stdout, stdout
    got = table.labelsets(stdout)["digit"]
    want = oracle.measures(z, oracle.reference_points(0, 100, 64), r["settings"]["eps"], {"digit": y})["sets"]["digit"]
    for key in ("H", "H_cond", "I"):
        close(f"table {key}", got[key], want[key], PRINTED)
    close("table regularity", got["regularity"], r["label_sets"][0]["regularity"], 5e-7)
    assert got["values"] == 10 and got["rows"] == 1797, got


def check_table_leads_with_corrected():
    z, y = digits()
    stdout, r, _ = table_json_csv(save_npy("digits.npy", z), "--labels", "digit=" + save_npy("y.npy", y), "--null", 20, "--correction", "null")
    header = next(line for line in stdout.splitlines() if line.startswith("label set"))
    if not header.index("I corrected") < header.index("I(X;Z)") or "plug-in" not in stdout:
        raise Fail(f"the table does not lead with the corrected I:\n{stdout}")
    got, js = table.labelsets(stdout)["digit"], r["label_sets"][0]
    want = oracle.measures(z, oracle.reference_points(0, 100, 64), r["settings"]["eps"], {"digit": y})["sets"]["digit"]
    close("table I corrected = JSON I_corrected", got["I_corrected"], js["null"]["I_corrected"], 5e-7)
    close("table plug-in I = JSON I", got["I"], js["I"], 5e-7)
    close("table plug-in I = oracle I", got["I"], want["I"], PRINTED)
    close("table H(Z|X) = oracle", got["H_cond"], want["H_cond"], PRINTED)
    close("table null mean = JSON", got["I_null_mean"], js["null"]["I_null_mean"], 5e-7)
    close("table corrected = plug-in - null mean", got["I_corrected"], got["I"] - got["I_null_mean"], 1.5e-6)
    for words in ("minus the mean I of 20 label permutations", "biased upward"):
        assert words in stdout, f"no {words!r} under the table:\n{stdout}"
    assert not table.has_nan(stdout), stdout


def check_corrected_optimality():
    """JSON's and CSV's corrected optimality against I_c = oracle I - the
    null mean softent reports; a set with I_c(in) = 0 (one label value)
    gives null / empty / "undefined", never NaN."""
    z, y, pairs = synthetic()
    const = np.zeros(len(y), dtype=np.int64)
    sets = {"y": y, "pair": pairs, "c": const}
    args = [save_npy("o_z.npy", z)] + [a for n, v in sets.items() for a in ("--labels", f"{n}=" + save_npy(f"o_{n}.npy", v))]
    opts = ["--optimality", "pair,y", "--optimality", "y,pair", "--optimality", "y,c", "--null", 20, "--correction", "null"]
    stdout, r, rows = table_json_csv(*args, *opts)
    want = oracle.measures(z, oracle.reference_points(0, 100, 32), r["settings"]["eps"], sets)["sets"]
    js = {s["name"]: s for s in r["label_sets"]}
    ic = {n: want[n]["I"] - js[n]["null"]["I_null_mean"] for n in sets}
    printed = table.optimality(stdout)
    for o in r["optimality"]:
        out, inn, key = o["out"], o["in"], f"{o['out']},{o['in']}"
        if inn == "c":
            assert o["value_corrected"] is None and rows[(key, "optimality_corrected")] == "", (o, rows)
            assert printed[(out, inn)]["text"].startswith("undefined (corrected I(c) <= 0)"), printed
            continue
        assert ic[inn] > 0.01, f"I_c({inn}) = {ic[inn]}: the check needs it well above 0"
        expect = ic[out] / ic[inn]
        close(f"JSON corrected optimality {key}", o["value_corrected"], expect, 1e-5, rel=True)
        close(f"CSV corrected optimality {key}", float(rows[(key, "optimality_corrected")]), expect, 1e-5, rel=True)
        close(f"table corrected optimality {key}", printed[(out, inn)]["corrected"], expect, 1e-5 + 5e-7 / expect, rel=True)
        close(f"JSON plug-in optimality {key}", o["value"], want[out]["I"] / want[inn]["I"], 1e-5, rel=True)
        close(f"table plug-in optimality {key}", printed[(out, inn)]["plug_in"], o["value"], 5e-7)
    assert not table.has_nan(stdout), stdout


def check_no_label_rows_are_left_out():
    """Rows keyed SOFTENT_NO_LABEL (INT64_MIN first) leave their set's H,
    H(Z|X), I and rows, whatever their count (here far above --min-count),
    and only that set's: equal to the oracle on the remaining rows, for a
    1-column and a tuple set, with a null (finite mean, p in (0, 1]) and
    through a saved state."""
    z, y, pairs = synthetic()
    no = np.iinfo(np.int64).min
    rng = np.random.default_rng(11)
    gone = rng.random(len(y)) < 0.3
    y_no = np.where(gone, no, y)
    pairs_no = pairs.copy()
    pairs_no[gone, 0] = no
    pairs_no[gone, 1] = 0
    zp = save_npy("nl_z.npy", z)
    args = [zp, "--labels", "y=" + save_npy("nl_y.npy", y_no), "--labels", "pair=" + save_npy("nl_pair.npy", pairs_no),
            "--labels", "full=" + save_npy("nl_full.npy", y)]
    w = oracle.reference_points(0, 100, 32)
    for mc in (1, 5):
        state = tmp(f"nl_{mc}.state")
        r = estimate_json(*args, "--min-count", mc, "--null", 20, "--save-state", state)
        eps = r["settings"]["eps"]
        p, keep = oracle.soft_assign(z, w, eps)
        assert keep.all()
        want = {"H": oracle.entropy(p.sum(axis=0)), "sets": {
            "y": oracle.labelset_measures(p[~gone], y[~gone], "prob", mc),
            "pair": oracle.labelset_measures(p[~gone], pairs[~gone], "prob", mc),
            "full": oracle.labelset_measures(p, y, "prob", mc)}}
        compare_sets(r, want, ["y", "pair", "full"])
        assert want["sets"]["y"]["rows"] == int((~gone).sum()) and r["rows"] == len(y), (want, r["rows"])
        for s in r["label_sets"]:
            null = s["null"]
            if not (math.isfinite(null["I_null_mean"]) and math.isfinite(null["I_null_sd"]) and 0 < null["p_value"] <= 1):
                raise Fail(f"min-count {mc}, {s['name']}: null {null}")
        out = tmp("nl_report.json")
        run("report", state, "--json", out)
        with open(out) as f:
            rep = json.load(f)
        compare_sets(rep, want, ["y", "pair", "full"])


def check_optimality_says_when_rows_differ():
    """estimate keeps its label sets independent: with --min-count the two
    sets of a pair may keep different rows, and the table and JSON say so
    (both row counts); with the same rows they say nothing of it."""
    z, y, pairs = synthetic(n=2000, k=40)
    fine = pairs[:, 0] * 3 + pairs[:, 1]
    args = [save_npy("rd_z.npy", z), "--labels", "fine=" + save_npy("rd_fine.npy", fine),
            "--labels", "y=" + save_npy("rd_y.npy", y), "--optimality", "fine,y", "--min-count", 12]
    stdout, r, _ = table_json_csv(*args)
    o = r["optimality"][0]
    rows = {s["name"]: s["rows"] for s in r["label_sets"]}
    assert rows["fine"] < rows["y"], rows
    assert (o["rows_out"], o["rows_in"], o["same_rows"]) == (rows["fine"], rows["y"], False), o
    if f"I(fine) over {rows['fine']} rows, I(y) over {rows['y']}" not in stdout:
        raise Fail("the table does not say that the pair's I values are over different rows:\n" + stdout)
    stdout, r, _ = table_json_csv(*args[:-2])
    assert r["optimality"][0]["same_rows"] is True and "different rows" not in stdout, r["optimality"]


main(globals())
