"""Every file softent writes survives a full disk: with the disk full for
one file at a time (tests/c/full_disk.c, preloaded, fails the fsync of the
temporary file an atomic writer makes beside it with ENOSPC, as a
filesystem out of space does), each writer's command fails with one clear
line naming the file and the cause, the file an earlier run left there is
intact, and no temporary file is left beside it.  A checkpoint taken on a
schedule (or at the end of a trace's step) that cannot be saved is a
warning, and the run goes on to its results."""
import glob
import json
import os
import shutil

import numpy as np

from analysis_fixture import corpus_lines, model, training_run
from common import BUILD, SOFTENT, Fail, expect_failure, main, run, run_process, save_npy, tmp

INJECT = os.path.abspath(os.path.join(BUILD, "tests", "libfull_disk.so"))
PREVIOUS = "an earlier run's file\n"


def full_disk(name, *args):
    """softent ARGS with the disk full for files named `name`."""
    env = dict(os.environ, LD_PRELOAD=INJECT, SOFTENT_FULL_DISK=name,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    cmd = [SOFTENT, *map(str, args)]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return run_process(cmd, f"softent {' '.join(map(str, args))} (disk full for {name})", ok=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def survives(path, *args):
    """The command writing path fails clearly on a full disk, and leaves
    the previous path as it was, with no temporary file beside it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(PREVIOUS)
    name = os.path.basename(path)
    p = full_disk(name, *args)
    expect_failure(p, f"softent {args[0]} writing {name} on a full disk", [name, "No space left on device"])
    with open(path) as f:
        if f.read() != PREVIOUS:
            raise Fail(f"{path}: the earlier file was changed by a write that failed")
    left = glob.glob(path + ".tmp*")
    if left:
        raise Fail(f"temporary files left beside {name}: {left}")


def estimate_inputs():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 20, 3000)
    z = (rng.standard_normal((3000, 8)) + np.eye(8)[y % 8]).astype(np.float32)
    return save_npy("fd_z.npy", z), "y=" + save_npy("fd_y.npy", y)


def check_estimate_outputs():
    z, labels = estimate_inputs()
    d = tmp("fd_estimate")
    for option, name in (("--json", "e.json"), ("--csv", "e.csv"), ("--save-state", "e.state"), ("--save-refpoints", "w.npy")):
        survives(os.path.join(d, name), "estimate", z, "--labels", labels, "--quiet", option, os.path.join(d, name))


def check_merge_output():
    z, labels = estimate_inputs()
    d = tmp("fd_merge")
    os.makedirs(d, exist_ok=True)
    shards = [os.path.join(d, f"s{i}.state") for i in range(2)]
    for i, s in enumerate(shards):
        run("estimate", z, "--labels", labels, "--quiet", "--shard", f"{i}/2", "--save-state", s)
    survives(os.path.join(d, "m.state"), "merge", *shards, "-o", os.path.join(d, "m.state"))


def check_analyze_outputs():
    text = tmp("fd_corpus.txt")
    with open(text, "w") as f:
        f.write("\n".join(corpus_lines()) + "\n")
    out = tmp("fd_analyze")
    args = ["analyze", model("llama"), text, "--out", out, "--ngrams", "1,2", "--max-length", 40, "--bins", 16, "--quiet"]
    for name in ("analysis.json", "analysis.csv", "layers.svg", "plane_n2.png"):
        survives(os.path.join(out, name), *args)
    survives(tmp("fd_copy.json"), *args, "--json", tmp("fd_copy.json"))


def check_scheduled_checkpoint_warns():
    """A checkpoint on a schedule (not on a signal) that cannot be saved is
    a warning naming the file; the run goes on to its results."""
    text = tmp("fd_corpus.txt")
    out = tmp("fd_checkpoint")
    shutil.rmtree(out, ignore_errors=True)
    for name in ("progress.json", "layer-1.state"):
        p = full_disk(name, "analyze", model("llama"), text, "--out", out, "--ngrams", "1", "--max-length", 40, "--bins", 16,
                      "--null", 3, "--quiet", "--checkpoint-every", 20)
        if p.returncode != 0 or "warning" not in p.stderr or name not in p.stderr or "No space left on device" not in p.stderr:
            raise Fail(f"a checkpoint's {name} on a full disk: exit {p.returncode}, {p.stderr[-500:]!r}")
        if not os.path.exists(os.path.join(out, "analysis.json")):
            raise Fail("the run did not go on to its results")
    # a trace saves each finished step the same way
    run_dir, text = training_run()
    out = tmp("fd_trace_steps")
    p = full_disk("progress.json", "trace", run_dir, text, "--out", out, "--ngrams", "1", "--max-length", 48, "--max-docs", 20,
                  "--bins", 16, "--quiet")
    if p.returncode != 0 or "warning" not in p.stderr or "No space left on device" not in p.stderr:
        raise Fail(f"a trace's step saves on a full disk: exit {p.returncode}, {p.stderr[-500:]!r}")
    if not os.path.exists(os.path.join(out, "trajectory.json")):
        raise Fail("the trace did not go on to its results")


def check_trace_outputs():
    run_dir, text = training_run()
    out = tmp("fd_trace")
    args = ["trace", run_dir, text, "--out", out, "--ngrams", "1", "--max-length", 48, "--max-docs", 20, "--bins", 16, "--quiet"]
    for name in ("trajectory.json", "trajectory.csv", "summary.txt", "trajectory.svg"):
        survives(os.path.join(out, name), *args)


def check_train_and_tokenizer_outputs():
    text = tmp("fd_train.txt")
    with open(text, "w") as f:
        f.write("\n".join(corpus_lines()) + "\n")
    survives(tmp("fd_tok/tokenizer.json"), "tokenizer", "train", text, "-o", tmp("fd_tok/tokenizer.json"), "--vocab", 300)
    tokenizer = tmp("fd_tok/real.json")
    run("tokenizer", "train", text, "-o", tokenizer, "--vocab", 300)
    for name in ("loss.csv", "train_state.bin"):
        out = tmp(f"fd_train_{name}")
        shutil.rmtree(out, ignore_errors=True)
        # a run stopped after step 2 of 4, its state saved every step
        run("train", text, "--out", out, "--layers", 1, "--d-model", 16, "--heads", 2, "--context", 16, "--batch", 2, "--steps", 4,
            "--checkpoints", 1, "--tokenizer", tokenizer, "--save-every", 1, "--stop-after", 2)
        with open(os.path.join(out, name), "rb") as f:
            before = f.read()
        p = full_disk(name, "train", text, "--out", out, "--resume")
        expect_failure(p, f"softent train writing {name} on a full disk", [name, "No space left on device"])
        with open(os.path.join(out, name), "rb") as f:
            if f.read() != before:
                raise Fail(f"{name}: the earlier file was changed by a write that failed")
        if glob.glob(os.path.join(out, name + ".tmp*")):
            raise Fail(f"temporary files left beside {name}")
        run("train", text, "--out", out, "--resume")  # the run is still whole: it resumes and ends
        with open(os.path.join(out, "loss.csv")) as f:
            steps = [line.split(",")[0] for line in f.read().splitlines()[1:]]
        if steps != ["1", "2", "3", "4"]:
            raise Fail(f"the resumed run's loss.csv has steps {steps}")


def scaled(x, by):
    """Every number of x times by: another model's measures."""
    if isinstance(x, dict):
        return {k: scaled(v, by) for k, v in x.items()}
    if isinstance(x, list):
        return [scaled(v, by) for v in x]
    return x * by if isinstance(x, float) else x


def check_correlate_and_eval_outputs():
    text = tmp("fd_corpus.txt")
    one = tmp("fd_corr_src")
    run("analyze", model("llama"), text, "--out", one, "--ngrams", "1", "--max-length", 40, "--bins", 16, "--quiet")
    with open(os.path.join(one, "analysis.json")) as f:
        base = json.load(f)
    paths = []
    for i in range(5):
        r = json.loads(json.dumps(base))
        r["model"]["path"] = f"m{i}"
        r["layer_mean"] = scaled(r["layer_mean"], 1 + 0.1 * i)
        paths.append(tmp(f"fd_corr/m{i}.json"))
        os.makedirs(os.path.dirname(paths[-1]), exist_ok=True)
        with open(paths[-1], "w") as f:
            json.dump(r, f)
    scores = tmp("fd_corr/scores.csv")
    with open(scores, "w") as f:
        f.write("model,benchmark,score\n" + "".join(f"m{i},b,{0.1 * i + 0.05 * (i % 2)}\n" for i in range(5)))
    out = tmp("fd_corr_out")
    for name in ("correlate.json", "correlate.csv"):
        survives(os.path.join(out, name), "correlate", *paths, "--scores", scores, "--out", out, "--no-figures",
                 "--permutations", 99, "--bootstrap", 99)
    det = tmp("fd_eval/details.json")
    for path in (tmp("fd_eval/scores.csv"), det):
        survives(path, "eval", model("llama"), f"loss:text={text}", "--out", tmp("fd_eval/scores.csv"), "--details", det)


main(globals())
