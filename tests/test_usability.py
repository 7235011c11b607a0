"""What a careful new user hit (issue 10's list), one check per item fixed:
- a CSV label file without :COLUMN takes its only column, or the only one
  that is not a row index, and otherwise fails listing the columns;
- string labels in a CSV, or in a .npy of fixed-width strings, are
  numbered as np.unique numbers them, so I equals the NumPy oracle's;
- --json - / --csv - give stdout that parses, the table going to stderr
  (estimate and report), and report takes --quiet;
- a usage error exits 2, also under ASan with leak detection (no leak on
  that path);
- trace reads the steps of checkpoint-N, stepN, global_stepN directories
  and trainer_state.json, sorts them, takes --steps, and refuses a
  directory with no step and two with the same one;
- --layers that select nothing, trace --layers 0 and a --min-count that
  leaves no position fail with a clear error instead of NaN;
- without gnuplot analyze writes its results, data and .gp scripts, says
  the figures were not drawn, and lists none;
- messages: a directory or a pipe as input says so; a label set named
  twice and a --max-length beyond a gpt2's learned positions are usage
  errors (2) naming the option; --tensor on a .npy and --bins beside
  --refpoints are refused, not ignored;
  a safetensors layer past the last says it is out of range;
  --max-memory counts MB as it prints them;
- analyze and trace take --quiet (no table) and --json - (the results
  JSON on stdout, equal to the file, the table on stderr);
- a gzip corpus (.txt.gz, .jsonl.gz) reads as its text, a CRLF corpus as
  its LF twin (and tokenize agrees with analyze on it), other compressed or
  binary files are refused by name."""
import csv
import io
import json
import os
import shutil
import subprocess

import numpy as np

import make_models
import oracle
from common import BUILD, SOFTENT, Fail, bytes_to_unicode, expect_error, main, run, save_npy, tmp, write_bos_bpe_tokenizer, write_tmp

_fixture = {}


def fixture():
    """The gpt2 fixture model with a byte tokenizer, and a small corpus."""
    if not _fixture:
        path = make_models.make(tmp("models"), ["gpt2"])["gpt2"]
        b2u = bytes_to_unicode()
        write_bos_bpe_tokenizer(path, {b2u[b]: b for b in range(256)}, [], 299)
        with open("/usr/share/common-licenses/GPL-3") as f:
            lines = [" ".join(l.split()) for l in f if len(l.split()) >= 6][:12]
        _fixture["model"], _fixture["corpus"] = path, write_tmp("u_corpus.txt", "\n".join(lines) + "\n")
    return _fixture["model"], _fixture["corpus"]


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
    # the same as a NumPy array of fixed-width strings ('<U9'), non-ASCII included
    words = np.array(["zebra", "apple", "Mango", "kiwi", "apple pie", "\u00e9t\u00e9"])
    y6 = np.arange(len(y)) % 6
    got = I_of(zp, "--labels", "w=" + save_npy("u_words.npy", words[y6]))
    _, ids = np.unique(words[y6], return_inverse=True)
    want = oracle.measures(z, oracle.reference_points(0, 100, 8), r["settings"]["eps"], {"f": ids})["sets"]["f"]["I"]
    if abs(got["I"] - want) > 1e-6 or got["n_values"] != 6:
        raise Fail(f".npy string labels: I {got['I']} over {got['n_values']} values vs the oracle's {want} over 6")


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


def trace_steps(*args):
    model, corpus = fixture()
    out = tmp("u_trace")
    run("trace", *args, corpus, "--out", out, "--ngrams", 1, "--bins", 8, "--max-length", 32)
    with open(os.path.join(out, "trajectory.json")) as f:
        return [c["step"] for c in json.load(f)["checkpoints"]]


def check_trace_steps():
    model, corpus = fixture()
    run_dir = tmp("u_run")
    names = {"checkpoint-1000": None, "checkpoint-200": None, "step0": None, "global_step50": None, "hf-final": 3000}
    for name, global_step in names.items():
        shutil.copytree(model, os.path.join(run_dir, name), dirs_exist_ok=True)
        if global_step is not None:
            with open(os.path.join(run_dir, name, "trainer_state.json"), "w") as f:
                json.dump({"global_step": global_step, "log_history": []}, f)
    dirs = sorted(os.path.join(run_dir, n) for n in names)  # as a shell glob orders them
    got = trace_steps(*dirs)
    if got != [0, 50, 200, 1000, 3000]:
        raise Fail(f"trace of {sorted(names)} gave steps {got}, want [0, 50, 200, 1000, 3000]")
    got = trace_steps(os.path.join(run_dir, "checkpoint-200"), os.path.join(run_dir, "step0"), "--steps", "5,7")
    if got != [5, 7]:
        raise Fail(f"--steps 5,7 gave {got}")
    plain = tmp("u_plain")
    shutil.copytree(model, plain, dirs_exist_ok=True)
    expect_error(["trace", os.path.join(run_dir, "step0"), plain, corpus], "u_plain", "no step in its name", "--steps", code=2)
    expect_error(["trace", os.path.join(run_dir, "step0"), plain, corpus, "--steps", "1"], "--steps", "2", code=2)
    expect_error(["trace", os.path.join(run_dir, "step0"), plain, corpus, "--steps", "1,,2"], "--steps", "empty step", code=2)
    expect_error(["trace", run_dir, corpus, "--steps", "1,2"], "--steps", "run directory", code=2)
    dup = tmp("u_dup")
    for name in ("step-5", "checkpoint-5"):
        shutil.copytree(model, os.path.join(dup, name), dirs_exist_ok=True)
    expect_error(["trace", dup, corpus, "--out", tmp("x")], "both step 5")


def check_degenerate_settings():
    model, corpus = fixture()
    expect_error(["analyze", model, corpus, "--layers", ""], "--layers", "selects no layer", code=2)
    expect_error(["trace", model, model, corpus, "--steps", "1,2", "--layers", "0", "--out", tmp("u_trace_layers")], "--layers 0", "layers >= 1", code=2)
    expect_error(["analyze", model, corpus, "--min-count", 100000, "--out", tmp("x")], "--min-count 100000", "leaves no position")


def check_a_figure_gnuplot_fails_on():
    """The figures are drawn in one gnuplot per terminal; one that fails
    (a gnuplot that refuses plane_n2.gp) is named in the error (exit 1),
    and the others are drawn as the real gnuplot draws them alone."""
    model, corpus = fixture()
    fake = tmp("u_fakegnuplot")
    os.makedirs(fake, exist_ok=True)
    with open(os.path.join(fake, "gnuplot"), "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do [ "$a" = plane_n2.gp ] && exit 1; done\nexec /usr/bin/gnuplot "$@"\n')
    os.chmod(os.path.join(fake, "gnuplot"), 0o755)
    out, alone = tmp("u_gnuplot_fails"), tmp("u_gnuplot_alone")
    p = subprocess.run([os.path.abspath(SOFTENT), "analyze", model, corpus, "--out", out, "--bins", "8"],
                       capture_output=True, text=True, env=dict(os.environ, PATH=fake + ":" + os.environ["PATH"]))
    if p.returncode != 1 or "gnuplot failed drawing" not in p.stderr or "plane_n2" not in p.stderr:
        raise Fail(f"a figure gnuplot fails on: exit {p.returncode}, stderr {p.stderr!r}")
    drawn = sorted(f for f in os.listdir(out) if f.endswith((".png", ".svg")))
    want = sorted(f"{n}.{e}" for n in ("layers", "plane_n1", "plane_n3") for e in ("png", "svg"))
    if drawn != want:
        raise Fail(f"figures drawn {drawn}, want {want} (no temporary files, no plane_n2)")
    run("analyze", model, corpus, "--out", alone, "--bins", "8")
    for name in ("layers", "plane_n1"):  # plane_n1 is drawn after layers in the same gnuplot
        subprocess.run(["gnuplot", "-e", "term = \"svg size 1200,900 dynamic font 'sans,11'\"; ext = 'alone.svg'", name + ".gp"],
                       cwd=alone, check=True)
        if open(os.path.join(alone, name + ".alone.svg"), "rb").read() != open(os.path.join(alone, name + ".svg"), "rb").read():
            raise Fail(f"{name}.svg drawn with the others differs from its script drawn alone")


def check_without_gnuplot():
    model, corpus = fixture()
    out = tmp("u_nognuplot")
    p = subprocess.run([os.path.abspath(SOFTENT), "analyze", model, corpus, "--out", out, "--ngrams", "1", "--bins", "8"],
                       capture_output=True, text=True, env=dict(os.environ, PATH="/nonexistent"))
    if p.returncode != 0:
        raise Fail(f"analyze without gnuplot exited {p.returncode}: {p.stderr}")
    if "gnuplot is not installed" not in p.stderr or "figures not drawn" not in p.stdout or ".png" in p.stdout:
        raise Fail(f"without gnuplot: stdout {p.stdout[-200:]!r}, stderr {p.stderr!r}")
    for name in ("analysis.json", "layers.tsv", "layers.gp", "plane_n1.gp"):
        if not os.path.exists(os.path.join(out, name)):
            raise Fail(f"without gnuplot {name} was not written")
    if os.path.exists(os.path.join(out, "layers.png")):
        raise Fail("layers.png exists without gnuplot")


def check_messages():
    zp, _, y = data()
    yp = save_npy("u_y3.npy", y)
    expect_error(["estimate", tmp("")], "a directory, not a file")
    p = subprocess.run(["bash", "-c", f"{os.path.abspath(SOFTENT)} estimate <(cat {zp})"], capture_output=True, text=True)
    if p.returncode != 1 or "not a regular file" not in p.stderr:
        raise Fail(f"a pipe as input: exit {p.returncode}, {p.stderr!r}")
    expect_error(["estimate", zp, "--labels", "y=" + yp, "--labels", "y=" + yp], "named twice", code=2)
    expect_error(["estimate", zp, "--tensor", "x"], "u_z.npy", ".safetensors")
    w = tmp("u_w.npy")
    run("estimate", zp, "--save-refpoints", w, "--quiet")
    expect_error(["estimate", zp, "--refpoints", w, "--bins", 50], "--refpoints", "--bins would be ignored", code=2)
    import struct
    a = np.zeros((3, 5, 4), dtype=np.float32)
    h = json.dumps({"states": {"dtype": "F32", "shape": [3, 5, 4], "data_offsets": [0, a.nbytes]}}).encode()
    st = write_tmp("u_states.safetensors", struct.pack("<Q", len(h)) + h + a.tobytes())
    expect_error(["estimate", st, "--tensor", "states:3"], "layer 3", "out of range", "0..2")
    model, corpus = fixture()
    with open(os.path.join(model, "config.json")) as f:
        n_pos = json.load(f)["n_positions"]
    expect_error(["analyze", model, corpus, "--max-length", n_pos + 1, "--out", tmp("x")], "--max-length", f"at most {n_pos}", code=2)
    p = run("estimate", zp, "--labels", "y=" + yp, "--null", 2000, "--max-memory", 5, ok=False)
    if p.returncode == 0 or "limit of 5.0 MB" not in p.stderr:
        raise Fail(f"--max-memory 5: {p.stderr!r}")


def check_analysis_machine_output():
    model, corpus = fixture()
    args = ["--ngrams", "1", "--bins", "8"]
    p = run("analyze", model, corpus, "--out", tmp("u_an"), "--json", "-", *args)
    with open(os.path.join(tmp("u_an"), "analysis.json")) as f:
        if json.loads(p.stdout) != json.load(f):
            raise Fail("analyze --json - differs from analysis.json")
    if "layer" not in p.stderr:
        raise Fail("analyze --json -: the table should be on stderr")
    p = run("analyze", model, corpus, "--out", tmp("u_an"), "--quiet", *args)
    if p.stdout.strip():
        raise Fail(f"analyze --quiet printed {p.stdout[:100]!r}")
    p = run("trace", model, model, corpus, "--steps", "1,2", "--out", tmp("u_tr"), "--json", "-", *args)
    if len(json.loads(p.stdout)["checkpoints"]) != 2:
        raise Fail("trace --json - did not give the trajectory on stdout")


def token_hash(corpus):
    model, _ = fixture()
    out = tmp("u_hash")
    run("analyze", model, corpus, "--out", out, "--ngrams", 1, "--bins", 8, "--layers", "1")
    with open(os.path.join(out, "analysis.json")) as f:
        return json.load(f)["corpus"]["token_stream_fnv1a64"]


def check_compressed_and_binary_corpora():
    import gzip
    model, corpus = fixture()
    with open(corpus) as f:
        lines = f.read().splitlines()
    want = token_hash(corpus)
    gz = tmp("u_c.txt.gz")
    with gzip.open(gz, "wt") as f:
        f.write("\n".join(lines) + "\n")
    jgz = tmp("u_c.jsonl.gz")
    with gzip.open(jgz, "wt") as f:
        f.write("".join(json.dumps({"text": l}) + "\n" for l in lines))
    crlf = write_tmp("u_crlf.txt", "".join(l + "\r\n" for l in lines))
    for path in (gz, jgz, crlf):
        if token_hash(path) != want:
            raise Fail(f"{os.path.basename(path)} is not read as the same documents as the plain .txt")
    out = tmp("u_pipe")
    p = subprocess.run(["bash", "-c", f"cat {gz} | {os.path.abspath(SOFTENT)} analyze {model} - --out {out} --ngrams 1 --bins 8 --layers 1"],
                       capture_output=True, text=True)
    with open(os.path.join(out, "analysis.json")) as f:
        if p.returncode or json.load(f)["corpus"]["token_stream_fnv1a64"] != want:
            raise Fail(f"a gzip corpus through a pipe on stdin reads differently ({p.stderr[-200:]})")
    if run("tokenize", model, crlf).stdout != run("tokenize", model, corpus).stdout:
        raise Fail("tokenize reads a CRLF line differently from analyze")
    expect_error(["analyze", model, write_tmp("u_c.txt.zst", b"\x28\xb5\x2f\xfd" + b"\0" * 40), "--out", tmp("x")], "u_c.txt.zst", "zstd")
    expect_error(["analyze", model, write_tmp("u_bin.txt", bytes(range(256)) * 4), "--out", tmp("x")], "u_bin.txt", "NUL byte", "binary")
    expect_error(["analyze", model, write_tmp("u_bad.txt.gz", b"\x1f\x8b\x08\x00" + b"garbage" * 20), "--out", tmp("x")], "u_bad.txt.gz")
    # a NUL past the first block the text check reads (once it silently ended its line)
    late = ("\n".join(lines) + "\n").encode() * 20 + b"tail of the file\x00with a NUL\n"
    expect_error(["analyze", model, write_tmp("u_late_nul.txt", late), "--out", tmp("x")], "u_late_nul.txt", "NUL byte", "line")
    # tokenize reads its input as analyze reads a .txt corpus (blank lines aside)
    if run("tokenize", model, gz).stdout != run("tokenize", model, corpus).stdout:
        raise Fail("tokenize reads a gzip file differently from the plain one")
    expect_error(["tokenize", model, tmp("u_late_nul.txt")], "u_late_nul.txt", "NUL byte")
    expect_error(["tokenize", model, tmp("u_bin.txt")], "u_bin.txt", "binary")


main(globals())
