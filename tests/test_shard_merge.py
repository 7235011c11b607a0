"""analyze and trace split by hand, as a job array without MPI runs them:
each shard (--shard I/K) saves its part of the documents, and softent merge
of the shard directories, in any order, writes the results one process
writes, every number within 1e-12 relative (the one process is checked
against PyTorch and NumPy in test_analyze), empty shards included.  A merge
with a shard twice, a shard missing, an unfinished one, a foreign one, or
shards of other settings is refused, naming what is wrong."""
import json
import os
import shutil

from analysis_fixture import model, repeated_corpus, training_run
from common import Fail, expect_error, main, run, same_numbers, tmp

AARGS = ["--ngrams", "1,2", "--max-length", 40, "--bins", 16, "--null", 5, "--bootstrap", 20, "--quiet"]
TARGS = ["--ngrams", "1,2", "--bins", 24, "--max-length", 48, "--max-docs", 60, "--null", 5, "--bootstrap", 20, "--quiet"]


def results(path):
    with open(path) as f:
        return json.load(f)


def corpus():
    return repeated_corpus(2)


def shard(cmd, i, k, *args, name=None):
    out = tmp(f"{name or cmd}_s{i}of{k}")
    shutil.rmtree(out, ignore_errors=True)
    p = run(cmd, *args, "--out", out, "--shard", f"{i}/{k}")
    if "softent merge" not in p.stderr:
        raise Fail(f"shard {i}/{k} did not say how to merge: {p.stderr!r}")
    return out


def check_analyze_shards_merge_to_one_process():
    d = model("llama")
    one = tmp("shard_one")
    run("analyze", d, corpus(), "--out", one, *AARGS)
    dirs = [shard("analyze", i, 3, d, corpus(), *AARGS) for i in range(3)]
    out = tmp("shard_merged")
    run("merge", dirs[2], dirs[0], dirs[1], "-o", out)
    same_numbers(results(os.path.join(one, "analysis.json")), results(os.path.join(out, "analysis.json")), "3 shards merged")
    for name in ("analysis.csv", "layers.svg"):
        if not os.path.exists(os.path.join(out, name)):
            raise Fail(f"the merge wrote no {name}")
    if not all(os.path.exists(os.path.join(s, "shard.json")) for s in dirs):
        raise Fail("the merge removed its shards")


def check_scaled_null_shards_merge_to_one_process():
    """The scaled null's sample (200 of the rows, fewer than the corpus has)
    travels in the shards' saved parts and merges to the one process's."""
    d = model("llama")
    args = [a if a != 5 else "scaled:200" for a in AARGS] + ["--correction", "null"]
    one = tmp("shard_scaled_one")
    run("analyze", d, corpus(), "--out", one, *args)
    a = results(os.path.join(one, "analysis.json"))
    null = a["layers"][1]["orders"][0]["in"]["null"]
    if null["method"] != "scaled" or null["reservoir_rows"] != 200:
        raise Fail(f"analyze --null scaled:200 gave the null {null}")
    dirs = [shard("analyze", i, 3, d, corpus(), *args, name="scaled") for i in range(3)]
    out = tmp("shard_scaled_merged")
    run("merge", dirs[1], dirs[2], dirs[0], "-o", out)
    same_numbers(a, results(os.path.join(out, "analysis.json")), "3 shards of a scaled null merged")


def check_empty_shards_merge():
    """Five shards of three documents: two of them hold none."""
    d = model("llama")
    args = [d, corpus(), *AARGS, "--max-docs", 3]
    one = tmp("shard_small_one")
    run("analyze", *args, "--out", one)
    dirs = [shard("analyze", i, 5, *args) for i in range(5)]
    done = [results(os.path.join(s, "checkpoint", "progress.json"))["docs_done"] for s in dirs]
    empty = sum(b == a for a, b in zip([0] + done, done))
    out = tmp("shard_small_merged")
    run("merge", *dirs, "-o", out)
    same_numbers(results(os.path.join(one, "analysis.json")), results(os.path.join(out, "analysis.json")), "5 shards of 3 documents")
    if empty == 0:
        raise Fail("no shard was empty: the check did not test one")


def check_trace_shards_merge_to_one_process():
    run_dir, text = training_run()
    one = tmp("trace_shard_one")
    run("trace", run_dir, text, "--out", one, *TARGS)
    dirs = [shard("trace", i, 2, run_dir, text, *TARGS) for i in range(2)]
    out = tmp("trace_shard_merged")
    run("merge", dirs[1], dirs[0], "-o", out)
    same_numbers(results(os.path.join(one, "trajectory.json")), results(os.path.join(out, "trajectory.json")), "a trace's 2 shards merged")
    with open(os.path.join(one, "summary.txt")) as a, open(os.path.join(out, "summary.txt")) as b:
        if a.read() != b.read():
            raise Fail("the merged trace's summary differs from one process's")


def check_merge_from_another_directory():
    """Shards run with relative paths merge from anywhere: the recorded
    command runs again where it ran; the shards and -o are the merge's."""
    import subprocess
    from common import SOFTENT
    home = tmp("rel_home")
    os.makedirs(home, exist_ok=True)
    shutil.copytree(model("llama"), os.path.join(home, "model"), dirs_exist_ok=True)
    shutil.copy(corpus(), os.path.join(home, "corpus.txt"))
    for i in range(2):
        p = subprocess.run([os.path.abspath(SOFTENT), "analyze", "model", "corpus.txt", *map(str, AARGS), "--shard", f"{i}/2",
                            "--out", f"s{i}"], cwd=home, capture_output=True, text=True)
        if p.returncode:
            raise Fail(p.stderr)
    elsewhere = tmp("rel_elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    p = subprocess.run([os.path.abspath(SOFTENT), "merge", os.path.relpath(os.path.join(home, "s0"), elsewhere),
                        os.path.relpath(os.path.join(home, "s1"), elsewhere), "-o", "merged"], cwd=elsewhere, capture_output=True, text=True)
    if p.returncode:
        raise Fail(f"merge from another directory: {p.stderr}")
    one = tmp("rel_one")
    run("analyze", os.path.join(home, "model"), os.path.join(home, "corpus.txt"), "--out", one, *AARGS)
    same_numbers(results(os.path.join(one, "analysis.json")), results(os.path.join(elsewhere, "merged", "analysis.json")),
                 "shards of relative paths merged from elsewhere")


def check_bad_merges():
    d = model("llama")
    s0, s1 = tmp("analyze_s0of3"), tmp("analyze_s1of3")
    if not os.path.exists(os.path.join(s1, "shard.json")):
        s0, s1 = (shard("analyze", i, 3, d, corpus(), *AARGS) for i in range(2))
    out = tmp("bad_merge")
    expect_error(["merge", s0, s0, s1, "-o", out], "both shard 0 of 3", "once")
    expect_error(["merge", s0, s1, "-o", out], "shards 2 of 3 are missing")
    expect_error(["merge", s0, s1, tmp("trace_s0of2"), "-o", out], "trace_s0of2", "one run")
    unfinished = tmp("unfinished")
    os.makedirs(unfinished, exist_ok=True)
    expect_error(["merge", s0, unfinished, "-o", out], "unfinished", "not a finished shard")
    expect_error(["merge", s0, s1, "--allow-missing", "-o", out], "every shard")
    # shards of other settings or of another model do not add up
    other = [str(a) for a in AARGS]
    other[other.index("--null") + 1] = "6"
    s2 = shard("analyze", 2, 3, d, corpus(), *other)
    expect_error(["merge", s0, s1, s2, "-o", out], "analyze_s2of3", "--null", "the checkpoint has 6, this run 5")
    s2 = shard("analyze", 2, 3, model("gpt2"), corpus(), *AARGS)
    expect_error(["merge", s0, s1, s2, "-o", out], "analyze_s2of3", "other layers")
    elsewhere = tmp("llama_elsewhere")
    shutil.copytree(d, elsewhere, dirs_exist_ok=True)
    s2 = shard("analyze", 2, 3, elsewhere, corpus(), *AARGS)
    expect_error(["merge", s0, s1, s2, "-o", out], "analyze_s2of3", "another run", "llama_elsewhere")
    if os.path.exists(os.path.join(out, "analysis.json")):
        raise Fail("a refused merge wrote results")


main(globals())
