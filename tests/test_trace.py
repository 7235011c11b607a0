"""softent trace over a small training run: every checkpoint's numbers equal
softent analyze's on that checkpoint (analyze is checked against PyTorch +
NumPy in test_analyze), the layer means leave out layer 0, checkpoints come
in step order with their validation loss from loss.csv, the figures exist;
with a null the table and summary read corrected values, a single
checkpoint draws no conclusion, and the verdict on constructed series
(checkpoints given in a chosen order) follows the peak and the null's
noise; no nan in tables, no NaN in JSON; and runs that cannot form one
trajectory are refused."""
import json
import math
import os
import shutil

from analysis_fixture import training_run
from common import Fail, expect_error, main, run, tmp

RUN = tmp("train_run")  # training_run()'s
CORPUS = tmp("train_corpus.txt")
ARGS = ("--ngrams", "1,2", "--bins", 24, "--max-length", 48, "--max-docs", 60)


def train_run():
    training_run()


def trace(out, *sources):
    run("trace", *sources, CORPUS, "--out", out, *ARGS)
    with open(os.path.join(out, "trajectory.json")) as f:
        return json.load(f)


def check_trajectory_matches_analyze():
    train_run()
    t = trace(tmp("trace"), RUN)
    steps = [c["step"] for c in t["checkpoints"]]
    if steps != sorted(steps) or steps[0] != 1 or steps[-1] != 8 or len(steps) != 3:
        raise Fail(f"checkpoint steps {steps}")
    for c in t["checkpoints"]:
        out = tmp(f"analyze-{c['step']}")
        run("analyze", os.path.join(RUN, f"step-{c['step']}"), CORPUS, "--out", out, *ARGS)
        with open(os.path.join(out, "analysis.json")) as f:
            a = json.load(f)
        for lt, la in zip(c["layers"], a["layers"]):
            for key in ("H",):
                if abs(lt[key] - la[key]) > 1e-12:
                    raise Fail(f"step {c['step']} layer {lt['layer']}: trace H {lt[key]} vs analyze {la[key]}")
            for ot, oa in zip(lt["orders"], la["orders"]):
                for key in ("I_in", "I_out"):
                    if abs(ot[key] - oa[key]) > 1e-12:
                        raise Fail(f"step {c['step']} layer {lt['layer']} n={ot['n']}: trace {key} {ot[key]} vs analyze {oa[key]}")
        upper = [l for l in c["layers"] if l["layer"] >= 1]
        if abs(c["layer_mean"]["H"] - sum(l["H"] for l in upper) / len(upper)) > 1e-12:
            raise Fail("layer mean must be over layers >= 1")


def check_labels_and_units():
    """trace --labels and --units as analyze takes them: each checkpoint's
    I(label; Z) in bits is analyze's efficiency times log2 m, and the
    table has the label set's column."""
    train_run()
    ids = run("tokenize", os.path.join(RUN, "step-1"), CORPUS).stdout.splitlines()
    labels = tmp("trace_labels.txt")
    with open(labels, "w") as f:
        f.write("".join(" ".join(str(int(t) % 2) for t in line.split()) + "\n" for line in ids))
    out = tmp("trace_labels")
    table = run("trace", RUN, CORPUS, "--out", out, *ARGS, "--labels", f"parity={labels}", "--units", "bits").stdout
    with open(os.path.join(out, "trajectory.json")) as f:
        t = json.load(f)
    if "parity" not in table:
        raise Fail("the trace table has no parity column")
    for c in t["checkpoints"][::2]:
        a_out = tmp(f"analyze-labels-{c['step']}")
        run("analyze", os.path.join(RUN, f"step-{c['step']}"), CORPUS, "--out", a_out, *ARGS, "--labels", f"parity={labels}")
        with open(os.path.join(a_out, "analysis.json")) as f:
            a = json.load(f)
        for lt, la in zip(c["layers"], a["layers"]):
            got, want = lt["labels"]["parity"]["I"], math.log2(24) * la["labels"]["parity"]["I"]
            if abs(got - want) > 1e-9:
                raise Fail(f"step {c['step']} layer {lt['layer']}: trace I(parity) {got} bits vs analyze's {want}")
        got, want = c["layer_mean"]["labels"]["parity"]["I_corrected"], math.log2(24) * a["layer_mean"]["labels"]["parity"]["I_corrected"]
        if abs(got - want) > 1e-9:
            raise Fail(f"step {c['step']}: layer mean {got} vs {want}")


def check_validation_loss_and_outputs():
    train_run()
    t = trace(tmp("trace2"), RUN)
    with open(os.path.join(RUN, "loss.csv")) as f:
        rows = [l.strip().split(",") for l in f][1:]
    val = {int(r[0]): float(r[3]) for r in rows if r[3]}
    for c in t["checkpoints"]:
        if not math.isclose(c["val_loss"], val[c["step"]], rel_tol=1e-6):
            raise Fail(f"step {c['step']}: val_loss {c['val_loss']} vs loss.csv {val[c['step']]}")
    for name in ("trajectory.csv", "trajectory.tsv", "trajectory.png", "trajectory.svg", "trajectory_plane_n1.png",
                 "trajectory_plane_n2.svg", "loss_optimality.png", "summary.txt"):
        p = os.path.join(tmp("trace2"), name)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            raise Fail(f"{name} missing or empty")


def check_checkpoint_order():
    """Checkpoints given by hand are put in step order (a shell glob sorts
    step-10 before step-8), unless --steps gives them steps."""
    train_run()
    dirs = [os.path.join(RUN, d) for d in ("step-8", "step-1")]
    t = trace(tmp("trace3"), *dirs)
    if [c["step"] for c in t["checkpoints"]] != [1, 8]:
        raise Fail(f"step-8 step-1 traced as steps {[c['step'] for c in t['checkpoints']]}, want [1, 8]")
    t = trace(tmp("trace3b"), *dirs, "--steps", "3,9")
    if [(c["step"], os.path.basename(c["path"])) for c in t["checkpoints"]] != [(3, "step-8"), (9, "step-1")]:
        raise Fail(f"--steps 3,9 gave {[(c['step'], c['path']) for c in t['checkpoints']]}")


def trace_text(out, *sources, null=5, extra=()):
    """softent trace's stdout, summary.txt and trajectory.json (checked for
    nan/NaN on the way)."""
    extra = (("--null", null) if null else ()) + tuple(extra)
    if len(sources) > 1:  # a constructed series: the order given, as steps 1, 2, ...
        extra += ("--steps", ",".join(str(k + 1) for k in range(len(sources))))
    p = run("trace", *sources, CORPUS, "--out", out, *ARGS, *extra)
    if "nan" in p.stdout.lower():
        raise Fail("the trace table or summary printed nan")
    with open(os.path.join(out, "trajectory.json")) as f:
        text = f.read()
    if "NaN" in text or "Infinity" in text:
        raise Fail("trajectory.json holds a NaN/Infinity literal")
    with open(os.path.join(out, "summary.txt")) as f:
        summary = f.read()
    with open(os.path.join(out, "trajectory.csv")) as f:
        if any(l.rstrip("\n").split(",")[-1].lower() in ("nan", "inf") for l in f):
            raise Fail("trajectory.csv holds nan")
    return p.stdout, summary, json.loads(text)


def check_corrected_headline():
    train_run()
    for correction, key, label in (("null", "null", "corrected (I - null mean)"),
                                   ("curve", None, "corrected (curve")):
        table, summary, t = trace_text(tmp("trace_" + correction), RUN, extra=("--correction", correction))
        if label not in table or "Read from the headline values, " + label not in summary:
            raise Fail(f"--correction {correction}: the table and summary must read its corrected values")
        for c in t["checkpoints"]:
            upper = [l for l in c["layers"] if l["layer"] >= 1]
            for k, o in enumerate(c["layer_mean"]["orders"]):
                pick = (lambda s: s["null"]["I_corrected"]) if key else (lambda s: s["I_corrected"])
                m_in = sum(pick(l["orders"][k]["in"]) for l in upper) / len(upper)
                m_out = sum(pick(l["orders"][k]["out"]) for l in upper) / len(upper)
                opt = o["optimality_corrected"]
                if abs(o["I_in_corrected"] - m_in) > 1e-12 or (opt is None) != (m_in <= 0) or \
                        (opt is not None and abs(opt - m_out / m_in) > 1e-9):
                    raise Fail(f"--correction {correction} step {c['step']} n={o['n']}: corrected layer mean {o}")
    table, summary, _ = trace_text(tmp("trace_plain"), RUN, null=0, extra=("--correction", "none"))
    if "plug-in (--correction none" not in table or "Read from plug-in values" not in summary \
            or "No verdict" not in summary:
        raise Fail("--correction none without a null: plug-in, labelled, and no verdict")


def check_single_checkpoint_no_conclusion():
    train_run()
    _, summary, t = trace_text(tmp("trace_one"), os.path.join(RUN, "step-8"))
    if "A single checkpoint: no trajectory, so no conclusion" not in summary or "compress:" in summary:
        raise Fail(f"one checkpoint must draw no conclusion: {summary}")
    if t["checkpoints"][0]["val_loss"] is not None:
        raise Fail("an unknown validation loss is null")


def verdict(summary, n=1):
    lines = summary.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith(f"n = {n}:"))
    return lines[i + 1]


def check_verdict_on_constructed_series():
    """Checkpoints in a chosen order make the series: step 1's complexity is
    far above step 8's (an untrained model's embeddings separate tokens), so
    8, 1, 8 rises to a peak and falls back by far more than the noise;
    8, 1, 1 does not fall; 1, 8, 8 never rises; 8, 8, 1 peaks at the end."""
    train_run()
    s1, s8 = os.path.join(RUN, "step-1"), os.path.join(RUN, "step-8")
    _, summary, t = trace_text(tmp("trace_818"), s8, s1, s8)
    v = verdict(summary)
    if not v.strip().startswith("Fit, then compress") or "Layers that compress (n = 1): 0, 1, 2" not in v:
        raise Fail(f"8, 1, 8: {v}")
    sd = [c["layer_mean"]["orders"][0]["I_in_null_sd"] for c in t["checkpoints"]]
    noise = 2 * math.sqrt(sd[1] ** 2 + sd[2] ** 2)
    if f"(noise {noise:.4f})" not in v:
        raise Fail(f"8, 1, 8: the noise should be 2 x sqrt(sd_peak^2 + sd_end^2) = {noise:.4f}: {v}")
    for order, words in (((s8, s1, s1), "within noise"), ((s1, s8, s8), "never rose"),
                         ((s8, s8, s1), "highest at the last checkpoint")):
        _, summary, _ = trace_text(tmp("trace_x"), *order)
        v = verdict(summary)
        if words not in v or "compress:" in v:
            raise Fail(f"{[os.path.basename(o) for o in order]}: want '{words}': {v}")


def check_scaled_null_judges_changes():
    """--null scaled gives trace the null's sd without permutations: 8, 1, 8
    still fits then compresses, its noise 2 x sqrt(sd_peak^2 + sd_end^2) of
    the scaled null's sds, and the summary says which null it was."""
    train_run()
    s1, s8 = os.path.join(RUN, "step-1"), os.path.join(RUN, "step-8")
    _, summary, t = trace_text(tmp("trace_818s"), s8, s1, s8, null="scaled")
    v = verdict(summary)
    if not v.strip().startswith("Fit, then compress") or "layer-mean sds of the scaled null of" not in summary:
        raise Fail(f"8, 1, 8 with the scaled null: {summary}")
    sd = [c["layer_mean"]["orders"][0]["I_in_null_sd"] for c in t["checkpoints"]]
    noise = 2 * math.sqrt(sd[1] ** 2 + sd[2] ** 2)
    if not all(x > 0 for x in sd) or f"(noise {noise:.4f})" not in v:
        raise Fail(f"8, 1, 8 with the scaled null: the noise should be {noise:.4f} from the sds {sd}: {v}")


def check_bootstrap_judges_changes():
    """With --bootstrap the changes are judged by their intervals, from
    replicates paired across checkpoints: 8, 1, 8 still fits then
    compresses; the fall's noise is below the two checkpoints' own
    half-widths in quadrature (pairing the same documents removes their
    shared noise); and every interval in trajectory.json holds its value."""
    train_run()
    s1, s8 = os.path.join(RUN, "step-1"), os.path.join(RUN, "step-8")
    _, summary, t = trace_text(tmp("trace_boot"), s8, s1, s8, null=0, extra=("--bootstrap", 60))
    v = verdict(summary)
    if "bootstrap interval" not in summary or not v.strip().startswith("Fit, then compress"):
        raise Fail(f"8, 1, 8 with --bootstrap: {summary}")
    means = [c["layer_mean"]["orders"][0] for c in t["checkpoints"]]
    hw = [(m["I_in_corrected_interval"][1] - m["I_in_corrected_interval"][0]) / 2 for m in means]
    fall = float(v.split("(noise ")[2].split(")")[0])
    if not 0 < fall < math.sqrt(hw[1] ** 2 + hw[2] ** 2):
        raise Fail(f"paired noise {fall} vs unpaired {math.sqrt(hw[1] ** 2 + hw[2] ** 2)}")
    for c in t["checkpoints"]:
        for m in c["layer_mean"]["orders"]:
            lo, hi = m["I_in_corrected_interval"]
            if not lo <= m["I_in_corrected"] <= hi:
                raise Fail(f"step {c['step']}: {m['I_in_corrected']} outside [{lo}, {hi}]")
        for l in c["layers"]:
            for o in l["orders"]:
                lo, hi = o["in"]["interval"]["I_corrected"]
                if not lo <= o["in"]["I_corrected"] <= hi:
                    raise Fail(f"layer {l['layer']}: {o['in']['I_corrected']} outside [{lo}, {hi}]")


def check_bad_runs():
    train_run()
    os.makedirs(tmp("empty-run"), exist_ok=True)
    expect_error(["trace", tmp("empty-run"), CORPUS, "--out", tmp("bad_trace")], "empty-run", "step-N")
    other = tmp("other-step")
    shutil.copytree(os.path.join(RUN, "step-8"), other, dirs_exist_ok=True)
    with open(os.path.join(other, "tokenizer.json"), "a") as f:
        f.write(" ")
    expect_error(["trace", os.path.join(RUN, "step-1"), other, CORPUS, "--steps", "1,2", "--out", tmp("bad_trace")], "tokenizer.json")
    # refused before any step runs: nothing of it is left to resume
    if os.path.exists(os.path.join(tmp("bad_trace"), "checkpoint")):
        raise Fail("a trace refused for its tokenizers left checkpoints behind")


main(globals())
