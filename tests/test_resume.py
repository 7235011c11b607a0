"""Interrupted analyses resume to the uninterrupted numbers: an analyze
with the null and the bootstrap, killed (SIGKILL at a point chosen at
random after a checkpoint, and SIGINT, which saves and says how to go on),
then run again with --resume, writes the same analysis.json as a run never
interrupted, every number equal; the checkpoint is gone afterwards.  So
does a trace stopped in its second step, which takes up its first step
finished and its second where it was.  A
resume with another setting is refused naming it, and a damaged checkpoint
or none at all is refused clearly."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time

from analysis_fixture import model, repeated_corpus, training_run
from common import SOFTENT, Fail, expect_error, main, run, same_numbers, tmp

ARGS = ["--ngrams", "1,2", "--max-length", 40, "--bins", 16, "--null", 5, "--bootstrap", 20]


def corpus():
    """The fixture corpus four times over: enough documents that a run can
    be caught between its checkpoints."""
    return repeated_corpus(4)


def numbers(out):
    """analysis.json without what names the run (paths, timings)."""
    with open(os.path.join(out, "analysis.json")) as f:
        r = json.load(f)
    for key in ("model", "corpus", "settings"):
        r.pop(key, None)
    return r


# the scaled null's sample (fewer rows than the corpus has) travels in the
# checkpoint too
SCALED = [a if a != 5 else "scaled:150" for a in ARGS]


def uninterrupted(args=ARGS):
    out = tmp("resume_whole" if args is ARGS else "resume_whole_scaled")
    if not os.path.exists(os.path.join(out, "analysis.json")):
        run("analyze", model("llama"), corpus(), "--out", out, *args, "--quiet")
    return numbers(out)


def start(out, *extra, args=ARGS):
    return subprocess.Popen([SOFTENT, "analyze", model("llama"), corpus(), "--out", out, *map(str, args), "--quiet", *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(out, proc, docs, where="checkpoint"):
    """Until out's checkpoint (out/where) covers at least `docs` documents."""
    progress = os.path.join(out, where, "progress.json")
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise Fail(f"the run ended ({proc.returncode}) before its checkpoint reached {docs} documents: {proc.stderr.read()}")
        try:
            with open(progress) as f:
                if json.load(f)["docs_done"] >= docs:
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    raise Fail("no checkpoint appeared")


def resume_and_compare(out, what, args=ARGS, extra=()):
    p = run("analyze", model("llama"), corpus(), "--out", out, *args, "--quiet", "--resume", *extra)
    m = re.search(r"resumed the run saved in .* after (\d+) documents", p.stderr)
    if not m or int(m.group(1)) < 2:
        raise Fail(f"{what}: the run did not take up its checkpoint: {p.stderr!r}")
    if numbers(out) != uninterrupted(args):
        raise Fail(f"{what}: the resumed analysis.json differs from the uninterrupted run's")
    if os.path.exists(os.path.join(out, "checkpoint")):
        raise Fail(f"{what}: the checkpoint is still there after the run finished")


def check_sigkill_then_resume():
    uninterrupted()
    out = tmp("resume_kill")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 1)
    wait_for_checkpoint(out, proc, random.Random(7).randint(2, 40))
    time.sleep(random.Random(8).random() * 0.05)  # kill anywhere, mid-checkpoint included
    proc.kill()
    proc.wait()
    # as a kill while progress.json was being written leaves its temporary
    # file: the finished run removes the checkpoint all the same
    with open(os.path.join(out, "checkpoint", "progress.json.tmp.99999.0"), "w") as f:
        f.write('{"generation"')
    resume_and_compare(out, "SIGKILL")


def check_sigint_saves_and_resumes():
    out = tmp("resume_int")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 3)
    wait_for_checkpoint(out, proc, 3)  # under way, its handlers in place
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 128 + signal.SIGINT or "--resume" not in err or "saved in" not in err:
        raise Fail(f"SIGINT: exit {proc.returncode}, stderr {err!r}")
    resume_and_compare(out, "SIGINT")


def check_scaled_null_resumes():
    out = tmp("resume_scaled")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 3, args=SCALED)
    wait_for_checkpoint(out, proc, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 128 + signal.SIGINT:
        raise Fail(f"SIGINT: exit {proc.returncode}, stderr {err!r}")
    resume_and_compare(out, "SIGINT with the scaled null", SCALED)
    if numbers(out)["layers"][1]["orders"][0]["in"]["null"]["reservoir_rows"] != 150:
        raise Fail("the resumed run has no scaled null of 150 rows")


def check_spilled_rows_resume():
    """--spill-dir keeps the stored rows in an unlinked file: the numbers are
    the in-memory run's, a resumed run spills its checkpoint's rows too, and
    nothing is left in the directory."""
    spill = tmp("spill")
    os.makedirs(spill, exist_ok=True)
    out = tmp("resume_spill")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 3, "--spill-dir", spill)
    wait_for_checkpoint(out, proc, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 128 + signal.SIGINT:
        raise Fail(f"SIGINT: exit {proc.returncode}, stderr {err!r}")
    resume_and_compare(out, "SIGINT with --spill-dir", extra=("--spill-dir", spill))
    if os.listdir(spill):
        raise Fail(f"--spill-dir left {os.listdir(spill)}")
    expect_error(["analyze", model("llama"), corpus(), "--out", out, "--spill-dir", tmp("no-such-dir")], "--spill-dir", "not a directory",
                 code=2)


def check_resume_refuses_other_settings():
    out = tmp("resume_other")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 1)
    wait_for_checkpoint(out, proc, 2)
    proc.kill()
    proc.wait()
    base = ["analyze", model("llama"), corpus(), "--out", out, "--quiet", "--resume"]
    other = [str(a) for a in ARGS]
    other[other.index("--null") + 1] = "6"
    expect_error(base + other, "--null", "the checkpoint has 5, this run 6")
    expect_error(base + [str(a) for a in ARGS] + ["--layers", "0,1"], "other layers", "--layers")
    expect_error(base + [str(a) for a in ARGS] + ["--product", "bf16"], "--product", "the checkpoint has f32, this run bf16")
    expect_error(["analyze", model("gpt2"), corpus(), "--out", out, "--quiet", "--resume", *map(str, ARGS)], "checkpoint")
    # the products' arithmetic: the bf16 fixture ran with bf16 products (where the CPU has them)
    with open("/proc/cpuinfo") as f:
        if " avx512_bf16" in f.read():
            expect_error(base + [str(a) for a in ARGS] + ["--compute", "f32"], "another run", "(bf16 products)")
    # a damaged state in the checkpoint
    with open(os.path.join(out, "checkpoint", "progress.json")) as f:
        gen = json.load(f)["generation"]
    state = os.path.join(out, "checkpoint", f"g{gen}", "layer-0.state")
    blob = bytearray(open(state, "rb").read())
    blob[len(blob) // 2] ^= 0xFF
    open(state, "wb").write(bytes(blob))
    expect_error(base + [str(a) for a in ARGS], "layer-0.state", "corrupt")
    expect_error(["analyze", model("llama"), corpus(), "--out", tmp("resume_none"), "--quiet", "--resume", *map(str, ARGS)],
                 "no checkpoint", "nothing to resume")


TARGS = ["--ngrams", "1,2", "--bins", 24, "--max-length", 48, "--null", 5, "--bootstrap", 20, "--quiet"]


def trace_corpus():
    """The training run's corpus three times over: steps long enough to
    be caught in."""
    run_dir, text = training_run()
    path = tmp("trace_resume_corpus.txt")
    if not os.path.exists(path):
        with open(text) as f, open(path, "w") as g:
            g.write(f.read() * 3)
    return run_dir, path


def trace_uninterrupted():
    run_dir, text = trace_corpus()
    out = tmp("trace_whole")
    if not os.path.exists(os.path.join(out, "trajectory.json")):
        run("trace", run_dir, text, "--out", out, *TARGS)
    with open(os.path.join(out, "trajectory.json")) as f:
        return json.load(f)


def trace_stopped(out, how):
    """A trace into out stopped by `how` (a signal) once its second step
    has a checkpoint of its own: the first is done, the second under way."""
    run_dir, text = trace_corpus()
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen([SOFTENT, "trace", run_dir, text, "--out", out, *map(str, TARGS), "--checkpoint-every", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_checkpoint(out, proc, 50, "checkpoint/step-3")
    proc.send_signal(how)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def trace_resume_and_compare(out, what):
    run_dir, text = trace_corpus()
    p = run("trace", run_dir, text, "--out", out, *TARGS, "--checkpoint-every", "50", "--resume")
    resumed = re.findall(r"resumed the run saved in \S+/(step-\d+) after (\d+) documents", p.stderr)
    if [s for s, _ in resumed][:2] != ["step-1", "step-3"] or int(resumed[1][1]) < 50:
        raise Fail(f"{what}: the trace did not take up its steps' checkpoints: {p.stderr!r}")
    with open(os.path.join(out, "trajectory.json")) as f:
        same_numbers(trace_uninterrupted(), json.load(f), f"a trace stopped by {what}, resumed", tol=0)
    if os.path.exists(os.path.join(out, "checkpoint")):
        raise Fail(f"{what}: the trace's checkpoints are still there after it finished")


def check_trace_sigkill_then_resume():
    trace_uninterrupted()
    rc, _ = trace_stopped(tmp("trace_kill"), signal.SIGKILL)
    if rc != -signal.SIGKILL:
        raise Fail(f"the trace was not killed: exit {rc}")
    trace_resume_and_compare(tmp("trace_kill"), "SIGKILL")


def check_trace_sigint_saves_and_resumes():
    rc, err = trace_stopped(tmp("trace_int"), signal.SIGINT)
    if rc != 128 + signal.SIGINT or "--resume" not in err or "step-3" not in err:
        raise Fail(f"SIGINT: exit {rc}, stderr {err!r}")
    trace_resume_and_compare(tmp("trace_int"), "SIGINT")
    run_dir, text = trace_corpus()
    expect_error(["trace", run_dir, text, "--out", tmp("trace_none"), *map(str, TARGS), "--resume"], "no checkpoint", "nothing to resume")


def check_one_run_per_output_directory():
    """A second run into the OUT of one that is running is refused, naming
    OUT; once that one is gone (even killed: the lock is the kernel's), a
    run may use OUT again."""
    out = tmp("resume_busy")
    shutil.rmtree(out, ignore_errors=True)
    proc = start(out, "--checkpoint-every", 1)
    wait_for_checkpoint(out, proc, 1)
    expect_error(["analyze", model("llama"), corpus(), "--out", out, *ARGS, "--quiet"], out, "another softent run")
    proc.kill()
    proc.wait()
    run("analyze", model("llama"), corpus(), "--out", out, *ARGS, "--quiet", "--resume")


def check_stale_figures_removed():
    """A run measuring fewer orders into an earlier run's OUT leaves no
    figure of the orders it does not measure beside its results."""
    out = tmp("resume_stale")
    run("analyze", model("llama"), corpus(), "--out", out, "--ngrams", "1,2,3", "--max-length", 40, "--bins", 16, "--quiet")
    if not os.path.exists(os.path.join(out, "plane_n3.svg")):
        raise Fail("the first run drew no plane_n3")
    p = run("analyze", model("llama"), corpus(), "--out", out, "--ngrams", "1", "--max-length", 40, "--bins", 16, "--quiet")
    left = sorted(f for f in os.listdir(out) if f.startswith(("plane_n2", "plane_n3")))
    if left or "plane_n3" not in p.stderr:
        raise Fail(f"after a run of order 1 alone: {left} left; stderr {p.stderr!r}")


main(globals())
