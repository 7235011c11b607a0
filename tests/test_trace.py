"""softent trace over a small training run: every checkpoint's numbers equal
softent analyze's on that checkpoint (analyze is checked against PyTorch +
NumPy in test_analyze), the layer means leave out layer 0, checkpoints come
in step order with their validation loss from loss.csv, the figures exist;
and runs that cannot form one trajectory are refused."""
import json
import math
import os
import shutil

from common import Fail, expect_error, main, run, tmp

RUN = tmp("run")
CORPUS = tmp("corpus.txt")
ARGS = ("--ngrams", "1,2", "--bins", 24, "--max-length", 48, "--max-docs", 60)


def train_run():
    if os.path.isdir(RUN):
        return
    with open("/usr/share/common-licenses/GPL-3") as f:
        lines = [" ".join(l.split()) for l in f if len(l.split()) > 3]
    with open(CORPUS, "w") as f:
        f.write("\n".join(lines[:200]) + "\n")
    run("train", CORPUS, "--out", RUN, "--layers", 2, "--d-model", 32, "--heads", 2, "--context", 48,
        "--batch", 4, "--steps", 8, "--checkpoints", 3, "--seed", 1)


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


def check_checkpoint_list_in_given_order():
    train_run()
    dirs = [os.path.join(RUN, d) for d in ("step-8", "step-1")]
    t = trace(tmp("trace3"), *dirs)
    if [c["step"] for c in t["checkpoints"]] != [8, 1]:
        raise Fail("checkpoint directories given by hand keep their order")


def check_bad_runs():
    train_run()
    os.makedirs(tmp("empty-run"), exist_ok=True)
    expect_error(["trace", tmp("empty-run"), CORPUS], "empty-run", "step-N")
    other = tmp("other-step")
    shutil.copytree(os.path.join(RUN, "step-8"), other, dirs_exist_ok=True)
    with open(os.path.join(other, "tokenizer.json"), "a") as f:
        f.write(" ")
    expect_error(["trace", os.path.join(RUN, "step-1"), other, CORPUS], "tokenizer.json")


main(globals())
