"""Shared helpers for the test scripts: run softent, collect checks, report.

Each test script defines functions named check_*; `main()` runs them in
order and prints "PASS name" or "FAIL name: reason" for each.  A check
fails by raising (assert, or Fail with a message).
"""
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SOFTENT_BUILD", "build")
SOFTENT = os.path.join(BUILD, "softent")
TMP = tempfile.mkdtemp(prefix="softent-test-")


class Fail(Exception):
    pass


def tmp(name):
    return os.path.join(TMP, name)


def run(*args, ok=True, threads=None):
    """Run softent; with ok=True a nonzero exit is a failure."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    p = subprocess.run([SOFTENT, *map(str, args)], capture_output=True, text=True, env=env)
    if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise Fail(f"sanitizer report from softent {' '.join(map(str, args))}:\n{p.stderr[-2000:]}")
    if p.returncode < 0:
        raise Fail(f"softent {' '.join(map(str, args))} died of signal {-p.returncode}")
    if ok and p.returncode != 0:
        raise Fail(f"softent {' '.join(map(str, args))} exited {p.returncode}: {p.stderr.strip()}")
    return p


def estimate_json(*args, threads=None):
    out = tmp("result.json")
    run("estimate", *args, "--json", out, "--quiet", threads=threads)
    with open(out) as f:
        return json.load(f)


def close(name, got, want, tol, rel=False):
    err = abs(got - want) / (abs(want) if rel and want else 1.0)
    if not err <= tol:
        raise Fail(f"{name}: softent {got!r} vs reference {want!r} (error {err:.3g} > {tol:g})")


def save_npy(name, array):
    path = tmp(name)
    np.save(path, array)
    return path


def main(namespace):
    checks = [(n, f) for n, f in namespace.items() if n.startswith("check_") and callable(f)]
    failed = 0
    for name, fn in checks:
        try:
            fn()
            print(f"PASS {name[6:]}", flush=True)
        except Exception as e:  # report every kind of failure as a FAIL line
            failed += 1
            detail = str(e) if isinstance(e, (Fail, AssertionError)) and str(e) else traceback.format_exc()
            print(f"FAIL {name[6:]}: {detail}".replace("\n", "\n    "), flush=True)
    sys.exit(1 if failed else 0)
