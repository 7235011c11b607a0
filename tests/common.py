"""Shared helpers for the test scripts: run softent, collect checks, report.

Each test script defines functions named check_*; `main()` runs them in
order and prints "PASS name" or "FAIL name: reason" for each.  A check
fails by raising (assert, or Fail with a message).
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import numpy as np

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SOFTENT_BUILD", "build")
SOFTENT = os.path.join(BUILD, "softent")
TMP = tempfile.mkdtemp(prefix="softent-test-")
# each test's files go when it ends (SOFTENT_KEEP_TMP=1 keeps them to look at)
if not os.environ.get("SOFTENT_KEEP_TMP"):
    atexit.register(shutil.rmtree, TMP, ignore_errors=True)


class Fail(Exception):
    pass


def tmp(name):
    return os.path.join(TMP, name)


def run_process(cmd, what, ok=True, threads=None, report=2000):
    """Run cmd (a list); what names it in failures.  A sanitizer report or
    a signal is always a failure, a nonzero exit when ok=True; report is
    how much of stderr's tail a sanitizer failure shows."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise Fail(f"sanitizer report from {what}:\n{p.stderr[-report:]}")
    if p.returncode < 0:
        raise Fail(f"{what} died of signal {-p.returncode}")
    if ok and p.returncode != 0:
        raise Fail(f"{what} exited {p.returncode}: {p.stderr.strip()}")
    return p


def run(*args, ok=True, threads=None):
    """Run softent; with ok=True a nonzero exit is a failure."""
    return run_process([SOFTENT, *map(str, args)], f"softent {' '.join(map(str, args))}", ok=ok, threads=threads)


def result_numbers(x, prefix=""):
    """Every number of a results JSON (analysis.json, trajectory.json,
    estimate's), by its path, leaving out what names the run rather than
    measures it (paths, the corpus, the settings)."""
    out = {}
    if isinstance(x, dict):
        for k, v in x.items():
            if k not in ("model", "corpus", "settings", "input", "path", "run"):
                out.update(result_numbers(v, f"{prefix}.{k}"))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out.update(result_numbers(v, f"{prefix}[{i}]"))
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        out[prefix] = x
    return out


def same_numbers(a, b, what, tol=1e-12):
    """Two results JSONs' numbers equal within tol, relative to the larger
    of 1 and the value (sums in another order round differently)."""
    a, b = result_numbers(a), result_numbers(b)
    if set(a) != set(b):
        raise Fail(f"{what}: the results hold other fields: {sorted(set(a) ^ set(b))[:5]}")
    worst = max(a, key=lambda k: abs(a[k] - b[k]) / max(1, abs(a[k])), default=None)
    if worst and abs(a[worst] - b[worst]) > tol * max(1, abs(a[worst])):
        raise Fail(f"{what}: {worst} is {b[worst]!r}, one process {a[worst]!r}")


def expect_failure(p, what, words, code=None, results=None):
    """p (a finished process, named what) failed as bad input must: a
    nonzero exit (exactly code when given), one line on stderr holding each
    of words, and, when results says what stdout would have held, nothing
    on stdout."""
    lines = p.stderr.strip().splitlines()
    if code is None and p.returncode == 0:
        raise Fail(f"{what} succeeded; stdout {p.stdout[:200]!r}")
    if code is not None and p.returncode != code:
        raise Fail(f"{what}: exit {p.returncode}, want {code}: {p.stderr!r}")
    if len(lines) != 1:
        raise Fail(f"want a one-line error, got {p.stderr!r}")
    for w in words:
        if w not in lines[0]:
            raise Fail(f"error {lines[0]!r} does not mention {w!r}")
    if results and p.stdout.strip():
        raise Fail(f"printed {results} despite the error: {p.stdout[:200]!r}")


def expect_error(args, *words, code=None, results=None):
    """softent ARGS fails as bad input must (expect_failure)."""
    expect_failure(run(*args, ok=False), f"softent {' '.join(map(str, args))}", words, code=code, results=results)


def bytes_to_unicode():
    """GPT-2's byte alphabet (OpenAI's encoder.py): byte -> character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def estimate_json(*args, threads=None):
    out = tmp("result.json")
    run("estimate", *args, "--json", out, "--quiet", threads=threads)
    with open(out) as f:
        return json.load(f)


def close(name, got, want, tol, rel=False):
    err = abs(got - want) / (abs(want) if rel and want else 1.0)
    if not err <= tol:
        raise Fail(f"{name}: softent {got!r} vs reference {want!r} (error {err:.3g} > {tol:g})")


def write_tmp(name, data):
    """A file in the test's temporary directory holding data (bytes, or
    text written as UTF-8 with no newline translation); its path."""
    path = tmp(name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def save_npy(name, array):
    path = tmp(name)
    np.save(path, array)
    return path



def write_bos_bpe_tokenizer(model_dir, vocab, merges, bos):
    """DIR/tokenizer.json: a GPT-2-style byte-level BPE (vocab {token: id},
    merges ["a b", ...]) whose TemplateProcessing adds <|bos|> (id bos) in
    front of every text, as the fixture models' tokenizers do."""
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": bos, "content": "<|bos|>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [bos], "tokens": ["<|bos|>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }
    with open(os.path.join(model_dir, "tokenizer.json"), "w") as f:
        json.dump(tok, f)

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
