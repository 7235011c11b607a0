"""What a careful new user hit (issue 10's list), one check per item fixed:
- a CSV label file without :COLUMN takes its only column, or the only one
  that is not a row index, and otherwise fails listing the columns;
- string labels in a CSV are numbered as np.unique numbers them, so I
  equals the NumPy oracle's;
- --json - / --csv - give stdout that parses, the table going to stderr
  (estimate and report), and report takes --quiet;
- a usage error exits 2, also under ASan with leak detection (no leak on
  that path)."""
import csv
import io
import json
import os
import subprocess

import numpy as np

import oracle
from common import BUILD, SOFTENT, Fail, expect_error, main, run, save_npy, tmp, write_tmp


def data(n=400, k=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = (rng.standard_normal((k, 8))[y] + rng.standard_normal((n, 8))).astype(np.float32)
    return save_npy("u_z.npy", z), z, y


def I_of(path, *args):
    out = run("estimate", path, *args, "--quiet", "--json", "-").stdout
    return json.loads(out)["label_sets"][0]


def check_csv_column_choice():
    zp, z, y = data()
    with_id = write_tmp("with_id.csv", "id,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(y)))
    only = write_tmp("only.csv", "".join(f"{v}\n" for v in y))
    named = write_tmp("named.csv", "row,a,b\n" + "".join(f"{i},{v},{v % 2}\n" for i, v in enumerate(y)))
    want = I_of(zp, "--labels", "y=" + save_npy("u_y.npy", y))["I"]
    for path in (with_id, only):
        got = I_of(zp, "--labels", "y=" + path)
        if abs(got["I"] - want) > 1e-12 or got["n_values"] != 5:
            raise Fail(f"{os.path.basename(path)} without :COLUMN: I {got['I']} over {got['n_values']} values, want {want} over 5")
    expect_error(["estimate", zp, "--labels", "y=" + named], "named.csv", "columns row, a, b", "named.csv:COLUMN")
    two = write_tmp("two.csv", "".join(f"{i},{v}\n" for i, v in enumerate(y)))
    expect_error(["estimate", zp, "--labels", "y=" + two], "two.csv", "no header", "two.csv:INDEX")
    expect_error(["estimate", zp, "--labels", "y=" + named + ":nope"], "named.csv", "no column named 'nope'", "row, a, b")
    if abs(I_of(zp, "--labels", "y=" + named + ":a")["I"] - want) > 1e-12:
        raise Fail("named.csv:a is not the labels")


def check_string_labels():
    zp, z, y = data()
    words = np.array(["zebra", "apple", "Mango", "kiwi", "apple pie"])
    path = write_tmp("words.csv", "id,fruit\n" + "".join(f'{i},"{words[v]}"\n' for i, v in enumerate(y)))
    got = I_of(zp, "--labels", "fruit=" + path)
    _, ids = np.unique(words[y], return_inverse=True)
    r = json.loads(run("estimate", zp, "--quiet", "--json", "-").stdout)
    want = oracle.measures(z, oracle.reference_points(0, 100, 8), r["settings"]["eps"], {"f": ids})["sets"]["f"]["I"]
    if abs(got["I"] - want) > 1e-6:
        raise Fail(f"string labels: I {got['I']} vs the NumPy oracle on np.unique's ids {want}")


def check_machine_output_parses():
    zp, _, y = data()
    yp = save_npy("u_y2.npy", y)
    p = run("estimate", zp, "--labels", "y=" + yp, "--json", "-")
    json.loads(p.stdout)
    if "H(Z) =" not in p.stderr:
        raise Fail("with --json - the table should go to stderr")
    rows = list(csv.DictReader(io.StringIO(run("estimate", zp, "--labels", "y=" + yp, "--csv", "-").stdout)))
    if not rows or "measure" not in rows[0] and "value" not in rows[0]:
        raise Fail(f"--csv - gave {rows[:2]}")
    state = tmp("u.state")
    run("estimate", zp, "--labels", "y=" + yp, "--save-state", state, "--quiet")
    json.loads(run("report", state, "--json", "-").stdout)
    if run("report", state, "--quiet").stdout.strip():
        raise Fail("report --quiet printed something")


def check_usage_error_exits_2():
    zp, _, _ = data()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
    p = subprocess.run([SOFTENT, "estimate", zp, "--labels", "a=b", "--labels", "c"], capture_output=True, text=True, env=env)
    if "LeakSanitizer" in p.stderr and "ptrace" in p.stderr:
        p = subprocess.run([SOFTENT, "estimate", zp, "--labels", "a=b", "--labels", "c"], capture_output=True, text=True)
    if p.returncode != 2 or "leak" in p.stderr.lower():
        raise Fail(f"a usage error after a parsed --labels: exit {p.returncode}, stderr {p.stderr[-300:]!r} ({BUILD})")


main(globals())
