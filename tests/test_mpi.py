"""softent under mpirun (Open MPI, which scripts/install-deps.sh installs):
estimate, analyze and trace with the null and the bootstrap, on 1, 2 and 4
ranks (analyze: 2 and 3, trace: 2), write the numbers one process writes,
each within 1e-12 relative (every rank one thread, as the single process:
the forward pass's matrix products round with the thread count); an MPI
analyze killed with SIGKILL
resumes on as many ranks to the same numbers; what cannot be split is
refused."""
import json
import os
import shutil
import subprocess
import time

import numpy as np

from analysis_fixture import model, repeated_corpus, training_run
from common import SOFTENT, Fail, main, run, same_numbers, save_npy, tmp

ENV = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
AARGS = ["--ngrams", "1,2,3", "--max-length", "40", "--bins", "16", "--null", "5", "--bootstrap", "20", "--quiet"]


def mpirun(k, *args, ok=True):
    p = subprocess.run(["mpirun", "-n", str(k), SOFTENT, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600)
    if ok and p.returncode != 0:
        raise Fail(f"mpirun -n {k} softent {' '.join(map(str, args))} exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def numbers(path):
    with open(path) as f:
        return json.load(f)


def check_built_with_mpi():
    if shutil.which("mpirun") is None or shutil.which("mpicc") is None:
        raise Fail("Open MPI is not installed (scripts/install-deps.sh installs libopenmpi-dev and openmpi-bin)")
    if "(with MPI)" not in run("--version").stdout:
        raise Fail("mpicc is installed but softent was built without MPI")


def check_estimate_equals_one_process():
    rng = np.random.default_rng(4)
    n = 7001
    y = rng.zipf(1.4, n) % 300
    z = (rng.standard_normal((n, 24)) + np.eye(24)[y % 24] * 1.2).astype(np.float32)
    args = [save_npy("mpi_z.npy", z), "--labels", "y=" + save_npy("mpi_y.npy", y), "--null", 7, "--bootstrap", 30, "--quiet"]
    p = subprocess.run([SOFTENT, "estimate", *map(str, args), "--json", tmp("mpi_one.json")], env=ENV, capture_output=True, text=True)
    if p.returncode:
        raise Fail(p.stderr)
    one = numbers(tmp("mpi_one.json"))
    for k in (1, 2, 4):
        mpirun(k, "estimate", *args, "--json", tmp(f"mpi_{k}.json"))
        same_numbers(one, numbers(tmp(f"mpi_{k}.json")), f"estimate on {k} ranks")


def corpus():
    return repeated_corpus(2)


def check_analyze_equals_one_process():
    d = model("llama")
    p = subprocess.run([SOFTENT, "analyze", d, corpus(), "--out", tmp("mpi_a1"), *AARGS], env=ENV, capture_output=True, text=True)
    if p.returncode:
        raise Fail(p.stderr)
    one = numbers(os.path.join(tmp("mpi_a1"), "analysis.json"))
    for k in (2, 3):
        out = tmp(f"mpi_a{k}")
        mpirun(k, "analyze", d, corpus(), "--out", out, *AARGS)
        same_numbers(one, numbers(os.path.join(out, "analysis.json")), f"analyze on {k} ranks")
        left = [f for f in os.listdir(out) if f.startswith("checkpoint")]
        if left:
            raise Fail(f"analyze on {k} ranks left {left}")


def check_trace_equals_one_process():
    """trace on 2 ranks: every checkpoint's numbers those of one process,
    and no rank's checkpoints left behind."""
    run_dir, text = training_run()
    targs = ["--ngrams", "1,2", "--bins", "24", "--max-length", "48", "--max-docs", "60", "--null", "5", "--bootstrap", "20", "--quiet"]
    p = subprocess.run([SOFTENT, "trace", run_dir, text, "--out", tmp("mpi_t1"), *targs], env=ENV, capture_output=True, text=True)
    if p.returncode:
        raise Fail(p.stderr)
    mpirun(2, "trace", run_dir, text, "--out", tmp("mpi_t2"), *targs)
    same_numbers(numbers(os.path.join(tmp("mpi_t1"), "trajectory.json")), numbers(os.path.join(tmp("mpi_t2"), "trajectory.json")),
                 "trace on 2 ranks")
    left = [f for f in os.listdir(tmp("mpi_t2")) if f.startswith("checkpoint")]
    if left:
        raise Fail(f"trace on 2 ranks left {left}")


def check_killed_mpi_run_resumes():
    """Killed once rank 0 has a checkpoint (rank 1 may have none yet: its
    documents then run again), resumed on the same ranks: the one
    process's numbers.  On another number of ranks there is nothing to
    resume."""
    d = model("llama")
    out = tmp("mpi_kill")
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen(["mpirun", "-n", "2", SOFTENT, "analyze", d, corpus(), "--out", out, *AARGS, "--checkpoint-every", "1"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    progress = os.path.join(out, "checkpoint-rank0-of-2", "progress.json")
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(progress):
        if proc.poll() is not None:
            raise Fail(f"the run ended ({proc.returncode}) before rank 0 checkpointed: {proc.stderr.read()}")
        time.sleep(0.005)
    proc.kill()  # mpirun, and with it its ranks
    proc.wait()
    subprocess.run(["pkill", "-9", "-f", f"softent analyze .*{out}"], capture_output=True)  # ranks mpirun left
    time.sleep(0.5)
    if os.path.exists(os.path.join(out, "analysis.json")):
        raise Fail("the killed run finished before it was killed")
    p = mpirun(3, "analyze", d, corpus(), "--out", out, *AARGS, "--resume", ok=False)
    if p.returncode == 0 or "nothing to resume" not in p.stderr:
        raise Fail(f"a resume on 3 ranks of a 2-rank run: exit {p.returncode}, {p.stderr[-500:]!r}")
    p = mpirun(2, "analyze", d, corpus(), "--out", out, *AARGS, "--resume")
    if "resumed the run saved in" not in p.stderr:
        raise Fail(f"the resume took up no checkpoint: {p.stderr[-500:]!r}")
    one = numbers(os.path.join(tmp("mpi_a1"), "analysis.json"))
    same_numbers(one, numbers(os.path.join(out, "analysis.json")), "a killed 2-rank analyze, resumed")


def check_refused_under_mpi():
    p = mpirun(2, "estimate", tmp("mpi_z.npy"), "--labels", "y=" + tmp("mpi_y.npy"), "--shard", "0/2", "--quiet", ok=False)
    if p.returncode != 2 or "--shard" not in p.stderr:
        raise Fail(f"--shard under mpirun: exit {p.returncode}, {p.stderr[-300:]!r}")
    p = mpirun(2, "calibrate", "--dim", 8, "--bins", 16, ok=False)
    if p.returncode != 2 or "one process" not in p.stderr:
        raise Fail(f"calibrate under mpirun: exit {p.returncode}, {p.stderr[-300:]!r}")


main(globals())
