"""Benchmark of softent tokenize (issue: tokenization as Hugging Face does it).

Throughput in MB/s of UTF-8 text with Llama 3's tokenizer.json on the test
corpus (tests/make_corpus.py, ~1.2 MB of this machine's prose, code, man
pages, translations, emoji), against Hugging Face's JavaScript tokenizer
(@huggingface/tokenizers) in node on the same text:

  softent total   `softent tokenize` wall time, output to /dev/null, loading
                  the 9 MB tokenizer.json included (best of --repeat runs, 5)
  softent encode  the same less the time of a run on empty input (the load)
  node encode     the encode loop inside node, timed there (no load, no I/O)
  node total      the node process's wall time

The ratio is softent's rate over node's, encode against encode and total
against total (target >= 1x).  The ids of both are checked to be equal.

usage: /usr/bin/python3 bench/bench_tokenizer.py [BUILD_DIR] [--repeat N] [--corpus FILE] [--tokenizer JSON]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA3 = os.path.join(ROOT, "tests", "npm", "node_modules", "@lenml", "tokenizer-llama3", "models", "tokenizer.json")


def wall(cmd, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter() - t0
    if p.returncode:
        sys.exit(f"bench_tokenizer: {' '.join(cmd)} failed: {p.stderr.strip()}")
    return t, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--corpus")
    ap.add_argument("--tokenizer", default=LLAMA3)
    args = ap.parse_args()
    softent = os.path.join(args.build, "softent")

    subprocess.run([os.path.join(ROOT, "scripts", "install-npm-fixtures.sh")], check=True)
    tmpdir = tempfile.mkdtemp(prefix="softent-bench-")
    corpus = args.corpus
    if not corpus:
        corpus = os.path.join(tmpdir, "corpus.txt")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "make_corpus.py"), corpus], check=True)
    mb = os.path.getsize(corpus) / 1e6
    empty = os.path.join(tmpdir, "empty.txt")
    open(empty, "w").close()

    print(f"== tokenizer throughput: {os.path.relpath(args.tokenizer, ROOT)} on {mb:.2f} MB "
          f"({sum(1 for _ in open(corpus, 'rb'))} documents)", flush=True)
    # Alternated, so that both minima see the same load on the machine.
    total = load = float("inf")
    for _ in range(args.repeat):
        total = min(total, wall([softent, "tokenize", args.tokenizer, corpus])[0])
        load = min(load, wall([softent, "tokenize", args.tokenizer, empty])[0])
    encode = max(total - load, 1e-9)

    with open(os.path.join(tmpdir, "hf.txt"), "w") as out:
        node_total, p = wall(["node", os.path.join(ROOT, "tests", "hf_tokenize.mjs"), args.tokenizer, corpus, "--time"], stdout=out)
    node = json.loads(p.stderr.strip().splitlines()[-1])
    _, ours = wall([softent, "tokenize", args.tokenizer, corpus], stdout=subprocess.PIPE)
    same = ours.stdout == open(os.path.join(tmpdir, "hf.txt")).read()

    print(f"softent encode   : {mb / encode:8.2f} MB/s  ({encode:.3f} s; load {load:.3f} s)")
    print(f"softent total    : {mb / total:8.2f} MB/s  ({total:.3f} s, load and output included)")
    print(f"node encode      : {mb / node['encode_s']:8.2f} MB/s  ({node['encode_s']:.3f} s, @huggingface/tokenizers)")
    print(f"node total       : {mb / node_total:8.2f} MB/s  ({node_total:.3f} s; load {node['load_s']:.3f} s)")
    print(f"ratio encode     : {node['encode_s'] / encode:8.1f} x   (target >= 1x)")
    print(f"ratio total      : {node_total / total:8.1f} x")
    print(f"same ids         : {'yes' if same else 'NO'}", flush=True)
    shutil.rmtree(tmpdir, ignore_errors=True)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
