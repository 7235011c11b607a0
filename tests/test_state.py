"""State files and merging: shards merged (any number, any order, even
tiny or with unusable rows) equal one pass, the bias curve included; a
shard given twice and missing shards are refused by name; batch size
and thread count do not move the numbers; a saved state reports the same
numbers, its table led by the corrected I; merging refuses states that
cannot be combined; a state of the previous format still reads."""
import json

import numpy as np

import table

from common import Fail, estimate_json, main, run, save_npy, tmp


def data(n=6000, d=48, seed=1):
    rng = np.random.default_rng(seed)
    tokens = rng.zipf(1.4, n) % 500
    z = rng.standard_normal((n, d)).astype(np.float32) + np.eye(d, dtype=np.float32)[tokens % d] * 2
    bigram = np.stack([tokens, np.roll(tokens, -1)], axis=1)
    return save_npy("st_z.npy", z), save_npy("st_uni.npy", tokens), save_npy("st_bi.npy", bigram)


def flat(result):
    out = {"H": result["H"]}
    for s in result["label_sets"]:
        for key in ("H", "H_cond", "I", "I_corrected"):
            out[f"{s['name']}.{key}"] = s[key]
        out[f"{s['name']}.curve_levels"] = s["curve"]["levels"]
        if "null" in s:
            for key in ("I_null_mean", "I_null_sd"):
                out[f"{s['name']}.{key}"] = s["null"][key]
    return out


def assert_close(a, b, tol, what):
    for k in a:
        if not abs(a[k] - b[k]) <= tol:
            raise Fail(f"{what}: {k} differs: {a[k]!r} vs {b[k]!r} (tolerance {tol})")


def report_json(state):
    out = tmp("report.json")
    run("report", state, "--json", out)
    with open(out) as f:
        return json.load(f)


def shards(args, k, prefix):
    states = [tmp(f"{prefix}{i}.state") for i in range(k)]
    for i, state in enumerate(states):
        run("estimate", *args, "--shard", f"{i}/{k}", "--save-state", state, "--quiet")
    return states


def check_any_shards_equal_one_pass():
    """1 to 7 even shards, merged in a shuffled order, give one pass's
    numbers to 1e-12: the bias curve too, whose readings of a value whose
    rows span shards wait in the later shard's state for the earlier sums.
    Some rows are unusable (zero), which ends their values' readings in
    both."""
    rng = np.random.default_rng(5)
    n = 5003
    tokens = rng.zipf(1.3, n) % 300
    z = rng.standard_normal((n, 24)).astype(np.float32) + np.eye(24, dtype=np.float32)[tokens % 24] * 1.5
    z[rng.choice(n, 40, replace=False)] = 0
    args = [save_npy("sh_z.npy", z), "--labels", "uni=" + save_npy("sh_uni.npy", tokens), "--null", 4]
    whole = flat(estimate_json(*args, "--save-state", tmp("sh_whole.state")))
    for k in (1, 2, 3, 4, 7):
        states = shards(args, k, f"sh{k}_")
        rows = [report_json(s)["rows"] for s in states]
        if max(rows) - min(rows) > 1:
            raise Fail(f"{k} shards of {n} rows split {rows}, not evenly")
        order = list(rng.permutation(k))
        run("merge", *[states[i] for i in order], "-o", tmp("sh_merged.state"))
        assert_close(whole, flat(report_json(tmp("sh_merged.state"))), 1e-12, f"{k} shards merged in order {order} vs one pass")


def check_tiny_shards():
    """More shards than rows: the empty ones save empty states, and all of
    them merge to the one pass."""
    rng = np.random.default_rng(2)
    tokens = np.array([1, 2, 1, 1, 2])
    args = [save_npy("ti_z.npy", rng.standard_normal((5, 8)).astype(np.float32)), "--labels", "y=" + save_npy("ti_y.npy", tokens)]
    whole = flat(estimate_json(*args))
    states = shards(args, 8, "ti")
    rows = [report_json(s)["rows"] for s in states]
    if sorted(rows) != [0, 0, 0, 1, 1, 1, 1, 1]:
        raise Fail(f"8 shards of 5 rows hold {rows}")
    run("merge", *states, "-o", tmp("ti_merged.state"))
    assert_close(whole, flat(report_json(tmp("ti_merged.state"))), 1e-12, "8 shards of 5 rows vs one pass")


def check_merge_names_duplicates_and_missing():
    """A new user merged s0 s0 s1 and got 4096 of 5000 rows with no warning:
    now a shard given twice is refused naming both files, missing rows are
    named and refused, and --allow-missing merges what there is."""
    z, uni, _ = data(n=5000)
    args = [z, "--labels", "uni=" + uni]
    s = shards(args, 3, "dm")
    p = run("merge", s[0], s[0], s[1], "-o", tmp("dm.state"), ok=False)
    if p.returncode != 1 or "given twice" not in p.stderr or s[0] not in p.stderr:
        raise Fail(f"merge s0 s0 s1: exit {p.returncode}, {p.stderr!r}")
    p = run("merge", s[0], s[2], "-o", tmp("dm.state"), ok=False)
    if p.returncode != 1 or "rows 1666..3332 are in none of the states" not in p.stderr or "1667 rows are missing" not in p.stderr:
        raise Fail(f"merge s0 s2: exit {p.returncode}, {p.stderr!r}")
    p = run("merge", s[0], s[1], "-o", tmp("dm.state"), ok=False)
    if p.returncode != 1 or "rows 3333..4999" not in p.stderr:
        raise Fail(f"merge s0 s1: exit {p.returncode}, {p.stderr!r}")
    run("merge", s[0], s[2], "--allow-missing", "-o", tmp("dm.state"))
    if report_json(tmp("dm.state"))["rows"] != 1666 + 1667:
        raise Fail("merge --allow-missing s0 s2 does not hold their rows")


def check_four_shards_equal_one_pass():
    z, uni, bi = data()
    args = [z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--null", 8]
    # the one pass saves a state too, so that its null is kept as sums, as
    # the shards' is (without a state it is replayed from float32 rows,
    # which agrees to about 1e-9: check_replayed_null_matches_kept)
    whole = flat(estimate_json(*args, "--save-state", tmp("whole.state")))
    states = []
    for i in range(4):
        states.append(tmp(f"shard{i}.state"))
        run("estimate", *args, "--shard", f"{i}/4", "--save-state", states[-1], "--quiet")
    run("merge", *states, "-o", tmp("merged.state"))
    assert_close(whole, flat(report_json(tmp("merged.state"))), 1e-12, "merged shards vs one pass")


def check_scaled_null_shards_equal_one_pass():
    """The scaled null's sample (the rows of smallest keyed hash, here 600 of
    6000) merges across shards to the one pass's sample, which is drawn in
    key order whatever the arrival: 1, 2 and 5 shards merged in a shuffled
    order give the one pass's null mean and sd to 1e-9 (the pool's sums are
    added in another order), and the state reports what the run printed."""
    z, uni, bi = data()
    args = [z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--null", "scaled:600", "--correction", "null"]
    direct = estimate_json(*args)
    whole = flat(estimate_json(*args, "--save-state", tmp("sc_whole.state")))
    assert_close(flat(direct), whole, 0, "--save-state vs a run without one")
    assert_close(whole, flat(report_json(tmp("sc_whole.state"))), 0, "the saved state reported")
    if "I_null_mean" not in " ".join(whole) or direct["label_sets"][0]["null"]["reservoir_rows"] != 600:
        raise Fail(f"no scaled null of 600 rows in {direct['label_sets'][0].get('null')}")
    rng = np.random.default_rng(3)
    for k in (1, 2, 5):
        states = shards(args, k, f"sc{k}_")
        order = list(rng.permutation(k))
        run("merge", *[states[i] for i in order], "-o", tmp("sc_merged.state"))
        assert_close(whole, flat(report_json(tmp("sc_merged.state"))), 1e-9, f"{k} scaled-null shards merged in order {order} vs one pass")
    other = shards([a if a != "scaled:600" else "scaled:700" for a in args], 2, "sc_other")
    p = run("merge", states[0], other[1], "-o", tmp("sc_bad.state"), ok=False)
    if p.returncode != 1 or "different settings" not in p.stderr:
        raise Fail(f"merging scaled nulls of 600 and 700 rows: exit {p.returncode}, {p.stderr!r}")


def check_taylor_shards_merge():
    """--correction taylor keeps per-value sums of squares: shards saved and
    merged give the one pass's corrected I (and a state of another
    correction refuses to merge with it)."""
    z, uni, bi = data()
    args = [z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--correction", "taylor"]
    whole = estimate_json(*args, "--save-state", tmp("t_whole.state"))
    states = []
    for i in range(3):
        states.append(tmp(f"t_shard{i}.state"))
        run("estimate", *args, "--shard", f"{i}/3", "--save-state", states[-1], "--quiet")
    run("merge", *states, "-o", tmp("t_merged.state"))
    merged = report_json(tmp("t_merged.state"))
    for a, b in zip(whole["label_sets"], merged["label_sets"]):
        if not abs(a["I_corrected"] - b["I_corrected"]) <= 1e-12 or b["correction"] != "taylor":
            raise Fail(f"{a['name']}: merged taylor I {b['I_corrected']} vs one pass {a['I_corrected']}")
    run("estimate", z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--shard", "0/3", "--save-state", tmp("t_curve.state"), "--quiet")
    p = run("merge", states[1], tmp("t_curve.state"), "-o", tmp("t_bad.state"), ok=False)
    if p.returncode == 0 or "different settings" not in p.stderr:
        raise Fail(f"merging taylor and curve states: {p.stderr}")


def check_replayed_null_matches_kept():
    """The null replayed from stored rows (the default) equals the null kept
    as sums in-stream (what a saved state holds), to float32 rounding of p."""
    z, uni, bi = data()
    args = [z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--null", 8]
    replayed = estimate_json(*args)
    kept = estimate_json(*args, "--save-state", tmp("kept.state"))
    for a, b in zip(replayed["label_sets"], kept["label_sets"]):
        for key in ("I_null_mean", "I_null_sd", "p_value"):
            if not abs(a["null"][key] - b["null"][key]) <= 1e-8 * max(1.0, abs(b["null"][key])):
                raise Fail(f"{a['name']} {key}: replayed {a['null'][key]} vs kept {b['null'][key]}")


def check_batch_size_and_threads():
    z, uni, bi = data()
    args = [z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--null", 4]
    base = flat(estimate_json(*args, "--batch", 8192, threads=1))
    for batch, threads in ((7, 2), (1000, 2), (333, 1), (8192, 3)):
        got = flat(estimate_json(*args, "--batch", batch, threads=threads))
        assert_close(base, got, 1e-9, f"batch {batch}, {threads} threads")


def check_state_roundtrip():
    z, uni, bi = data()
    r = estimate_json(z, "--labels", "uni=" + uni, "--save-state", tmp("one.state"))
    assert_close(flat(r), flat(report_json(tmp("one.state"))), 0, "report of a saved state")


def check_report_table_leads_with_corrected():
    z, uni, bi = data()
    run("estimate", z, "--labels", "uni=" + uni, "--labels", "bi=" + bi, "--null", 8, "--correction", "null", "--save-state", tmp("n.state"), "--quiet")
    p = run("report", tmp("n.state"), "--json", tmp("n.json"), "--optimality", "bi,uni")
    with open(tmp("n.json")) as f:
        r = json.load(f)
    rows = table.labelsets(p.stdout)
    for s in r["label_sets"]:
        got = rows[s["name"]]
        for col, want in (("I_corrected", s["null"]["I_corrected"]), ("I", s["I"]), ("I_null_mean", s["null"]["I_null_mean"])):
            if not abs(got[col] - want) <= 5e-7:
                raise Fail(f"report table {s['name']}.{col} = {got[col]}, JSON {want}")
    opt = table.optimality(p.stdout)[("bi", "uni")]
    if not abs(opt["corrected"] - r["optimality"][0]["value_corrected"]) <= 5e-7 or table.has_nan(p.stdout):
        raise Fail(f"report optimality {opt}, JSON {r['optimality'][0]}")


def check_merge_refuses_mismatches():
    z, uni, bi = data()
    run("estimate", z, "--labels", "uni=" + uni, "--save-state", tmp("a.state"), "--quiet")
    run("estimate", z, "--labels", "uni=" + uni, "--seed", 1, "--save-state", tmp("b.state"), "--quiet")
    run("estimate", z, "--labels", "uni=" + bi, "--save-state", tmp("c.state"), "--quiet")
    run("estimate", z, "--labels", "uni=" + uni, "--product", "bf16", "--save-state", tmp("d.state"), "--quiet")
    for other, word in ((tmp("b.state"), "reference points"), (tmp("c.state"), "label"), (tmp("d.state"), "product")):
        p = run("merge", tmp("a.state"), other, "-o", tmp("x.state"), ok=False)
        if p.returncode == 0 or word not in p.stderr:
            raise Fail(f"merging with {other}: exit {p.returncode}, stderr {p.stderr!r}")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def check_version_4_state_reads_as_float32():
    """A state of the format before the product was recorded (version 4:
    this version's file less that field) reads as float32 products; the
    bf16 one reports its product."""
    z, uni, _ = data()
    run("estimate", z, "--labels", "uni=" + uni, "--save-state", tmp("v5.state"), "--quiet")
    run("estimate", z, "--labels", "uni=" + uni, "--product", "bf16", "--save-state", tmp("v5b.state"), "--quiet")
    blob = open(tmp("v5.state"), "rb").read()
    at = 116  # the product (int32) follows the header's other fields
    if blob[7] != 5 or blob[at:at + 4] != b"\0\0\0\0" or open(tmp("v5b.state"), "rb").read()[at:at + 4] != b"\1\0\0\0":
        raise Fail("the version 5 header is not laid out as this test assumes")
    old = blob[:7] + b"\4" + blob[8:at] + blob[at + 4:-8]
    open(tmp("v4.state"), "wb").write(old + fnv1a64(old).to_bytes(8, "little"))
    want, got = report_json(tmp("v5.state")), report_json(tmp("v4.state"))
    assert_close(flat(want), flat(got), 0, "a version 4 state")
    if got["settings"].get("product") != "f32" or report_json(tmp("v5b.state"))["settings"].get("product") != "bf16":
        raise Fail(f"settings.product of the version 4 state {got['settings'].get('product')!r}, want f32 (and bf16 for the bf16 one)")


def check_corrupt_state():
    z, uni, _ = data()
    run("estimate", z, "--labels", "uni=" + uni, "--save-state", tmp("good.state"), "--quiet")
    blob = open(tmp("good.state"), "rb").read()
    cases = {"truncated": blob[: len(blob) // 2], "flipped": blob[:200] + bytes([blob[200] ^ 1]) + blob[201:],
             "empty": b"", "not a state": b"hello world\n" * 10}
    for name, content in cases.items():
        path = tmp(f"bad-{name.replace(' ', '_')}.state")
        open(path, "wb").write(content)
        p = run("report", path, ok=False)
        if p.returncode != 1 or path not in p.stderr or len(p.stderr.strip().splitlines()) != 1:
            raise Fail(f"{name} state: exit {p.returncode}, stderr {p.stderr!r}")


main(globals())
