"""Benchmark of softent analyze end to end (issue: analyze real Hugging Face
models), in one run, on the same random ~110M-parameter LLaMA-architecture
float32 model as bench_forward.py and the same documents of --len tokens:

  1. softent analyze MODEL CORPUS (tokenize, count n-gram labels, forward,
     every layer into its accumulator, outputs), wall time;
  2. the Python pipeline it replaces: the PyTorch reference forward returning
     all hidden states, then the reference accumulator's algorithm in NumPy
     (per document: product, softmax, per-label-value sums for the 6 label
     sets in1..3/out1..3, for each of the 13 layers), wall time;
and the ratio (target >= 3x).  The tokenizer is byte-level (a token a
byte), so each document is --len bytes of real text.

Then analyze against the forward pass alone (tests/forward_driver --time
--no-logits on the same tokens), with float32 and with bf16 products
(--compute), and bf16 ones with the estimator's opt-in bf16 product
(--product bf16), alternating for --rounds rounds: medians of each, and of the
paired ratio analyze / forward (target <= 1.15; analyze's time includes
loading, tokenizing, the estimator and writing the outputs and figures).

Usage: /usr/bin/python3 bench/bench_analyze.py [BUILD_DIR] [--docs N] [--len L] [--threads T] [--rounds R]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import bench_estimate  # noqa: E402  (the NumPy reference accumulator)
import bench_forward  # noqa: E402
import oracle  # noqa: E402
import torch_reference  # noqa: E402


def byte_tokenizer(path):
    """Identity byte-level tokenizer: ids 0..255 are the bytes, as GPT-2 maps them."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    order = sorted(range(256), key=lambda b: b)
    vocab = {chr(dict(zip(bs, cs))[b]): b for b in order}
    tok = {"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None, "decoder": None,
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False, "byte_fallback": False,
                     "vocab": vocab, "merges": []}}
    with open(path, "w") as f:
        json.dump(tok, f)


def corpus(n_docs, length):
    text = ""
    for name in sorted(os.listdir("/usr/share/common-licenses")):
        p = os.path.join("/usr/share/common-licenses", name)
        if os.path.isfile(p):
            text += " ".join(open(p, errors="replace").read().split()) + " "
    text = text.encode("ascii", "replace").decode()
    return [text[(i * length) % (len(text) - length):][:length] for i in range(n_docs)]


def against_forward(a, model, corpus_path, docs, work, env):
    tokens = os.path.join(work, "tokens.bin")
    np.concatenate([np.frombuffer(d.encode(), dtype=np.uint8)[:a.doc_len] for d in docs]).astype("<i4").tofile(tokens)
    print(f"== analyze against the forward alone ({a.rounds} rounds, medians)", flush=True)
    for compute, product in (("f32", "f32"), ("bf16", "f32"), ("bf16", "bf16")):
        t_an, t_fw, ratios = [], [], []
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            subprocess.run([os.path.join(a.build, "softent"), "analyze", model, corpus_path, "--out", os.path.join(work, "out"),
                            "--max-length", str(a.doc_len), "--compute", compute, "--product", product, "--quiet"],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            t_an.append(time.perf_counter() - t0)
            p = subprocess.run([os.path.join(a.build, "tests", "forward_driver"), "--compute", compute, "--time", str(a.doc_len),
                                "--no-logits", model, tokens, "-"], check=True, env=env, capture_output=True, text=True)
            f = p.stdout.split()
            t_fw.append(float(f[f.index("seconds") + 1]) + float(f[f.index("load_s") + 1]))
            ratios.append(t_an[-1] / t_fw[-1])
        print(f"{compute:4s} forward, {product:4s} estimator products: analyze {statistics.median(t_an):6.2f} s, "
              f"forward alone {statistics.median(t_fw):6.2f} s "
              f"(load included), ratio {statistics.median(ratios):.2f} (target <= 1.15)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--len", type=int, default=512, dest="doc_len")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="analyze-bench-")
    try:
        model = os.path.join(work, "llama")
        params = bench_forward.write_llama(model)
        byte_tokenizer(os.path.join(model, "tokenizer.json"))
        docs = corpus(a.docs, a.doc_len)
        with open(os.path.join(work, "corpus.txt"), "w") as f:
            f.write("\n".join(docs) + "\n")
        print(f"== analyze end to end: llama {params / 1e6:.0f}M float32, {a.docs} documents x {a.doc_len} tokens, "
              f"n-grams 1,2,3, all 13 hidden states, {a.threads} threads", flush=True)

        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        t0 = time.perf_counter()
        subprocess.run([os.path.join(a.build, "softent"), "analyze", model, os.path.join(work, "corpus.txt"),
                        "--out", os.path.join(work, "out"), "--max-length", str(a.doc_len)],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        t_softent = time.perf_counter() - t0

        torch = torch_reference.torch
        torch.set_num_threads(a.threads)
        t0 = time.perf_counter()
        config, weights = torch_reference.load(model)
        weights = torch_reference.to_torch(weights, torch.float32)
        eps = float(subprocess.run([os.path.join(a.build, "softent"), "calibrate", "--dim", "768", "--bins", "100"],
                                   capture_output=True, text=True, check=True).stdout.split()[1])
        w = oracle.reference_points(0, 100, 768)
        layers = None
        for doc in docs:
            tokens = np.frombuffer(doc.encode(), dtype=np.uint8).astype(np.int64)[:a.doc_len]
            hidden, _ = torch_reference.forward(config, weights, tokens, dtype=torch.float32)
            pos = np.arange(2, len(tokens) - 3)
            sets = {}
            for n in (1, 2, 3):  # keys as the reference encodes them: t0*V^(n-1) + ...
                sets[f"in{n}"] = sum(tokens[pos - n + 1 + k] * 256 ** (n - 1 - k) for k in range(n))
                sets[f"out{n}"] = sum(tokens[pos + 1 + k] * 256 ** (n - 1 - k) for k in range(n))
            for l, h in enumerate(hidden):
                bench_estimate.numpy_accumulator(h.numpy()[pos], w, eps, sets, batch=len(pos))
        t_python = time.perf_counter() - t0
        n = a.docs * a.doc_len
        print(f"softent analyze            : {n / t_softent:8.1f} tokens/s  ({t_softent:.1f} s)")
        print(f"PyTorch forward + NumPy    : {n / t_python:8.1f} tokens/s  ({t_python:.1f} s)")
        print(f"ratio                      : {t_python / t_softent:8.2f} x   (target >= 3x)", flush=True)
        against_forward(a, model, os.path.join(work, "corpus.txt"), docs, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
