"""Benchmark of the transformer forward pass (issue: load HF models and run
the forward pass).

In one run, on the same random LLaMA-architecture model (~110M float32
parameters: d_model 768, 12 layers, 12 heads, d_ff 2048, vocab 32000, tied
embeddings) and the same documents of 512 tokens, with the same thread
count:
  1. softent (tests/forward_driver --time: every hidden state handed out,
     logits computed), tokens/s;
  2. the plain-PyTorch reference forward (tests/torch_reference.py in
     float32, all hidden states and logits returned), tokens/s;
and the ratio.  The two alternate in rounds of --round documents, so that
on a shared machine both run under the same load; only the forward passes
are timed (not loading).  Also softent's peak RSS against the weights' size.

The model is written to a temporary directory and removed at the end.

Usage: /usr/bin/python3 bench/bench_forward.py [BUILD_DIR] [--docs N] [--len L] [--threads T] [--round K]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import make_models  # noqa: E402
import torch_reference  # noqa: E402

D, LAYERS, HEADS, FF, VOCAB = 768, 12, 12, 2048, 32000


def write_llama(path, seed=0):
    """A random llama directory; returns its parameter count."""
    rng = np.random.default_rng(seed)

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))

    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D, "intermediate_size": FF,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": HEADS,
        "hidden_act": "silu", "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": True, "vocab_size": VOCAB, "attention_bias": False, "mlp_bias": False,
        "torch_dtype": "float32",
    }
    t = {"model.embed_tokens.weight": normal((VOCAB, D), 1.0)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1 + normal(D, 0.1)
        for name in "qkvo":
            t[p + f"self_attn.{name}_proj.weight"] = normal((D, D), D ** -0.5)
        t[p + "post_attention_layernorm.weight"] = 1 + normal(D, 0.1)
        t[p + "mlp.gate_proj.weight"] = normal((FF, D), D ** -0.5)
        t[p + "mlp.up_proj.weight"] = normal((FF, D), D ** -0.5)
        t[p + "mlp.down_proj.weight"] = normal((D, FF), FF ** -0.5)
    t["model.norm.weight"] = 1 + normal(D, 0.1)
    make_models.write_model(path, config, t, "F32")
    return sum(a.size for a in t.values())


def bench_softent(build, model, docs, work, threads):
    """forward_driver --time over docs [k, len]: its own timing of the passes."""
    path = os.path.join(work, "tokens.bin")
    docs.astype("<i4").tofile(path)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [os.path.join(build, "tests", "forward_driver"), "--time", str(docs.shape[1]), model, path, "-"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"forward_driver failed: {p.stderr.strip()}")
    fields = p.stdout.split()
    return {fields[i]: float(fields[i + 1]) for i in range(0, len(fields), 2)}


def bench_torch(config, weights, docs):
    t0 = time.perf_counter()
    for doc in docs:
        hidden, logits = torch_reference.forward(config, weights, doc, dtype=torch_reference.torch.float32)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--len", type=int, default=512, dest="doc_len")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--round", type=int, default=10, help="documents per alternation (see below)")
    args = ap.parse_args()
    # A kill still removes the model (the finally below runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    work = tempfile.mkdtemp(prefix="forward-bench-")
    try:
        model = os.path.join(work, "llama")
        params = write_llama(model)
        docs = np.random.default_rng(1).integers(0, VOCAB, (args.docs, args.doc_len)).astype("<i4")
        size_mb = os.path.getsize(os.path.join(model, "model.safetensors")) / 2**20
        print(f"model: llama, {params / 1e6:.1f}M float32 parameters ({size_mb:.0f} MB), "
              f"{args.docs} documents x {args.doc_len} tokens, {args.threads} threads", flush=True)

        torch = torch_reference.torch
        torch.set_num_threads(args.threads)
        config, weights = torch_reference.load(model)
        weights = torch_reference.to_torch(weights, torch.float32)
        torch_reference.forward(config, weights, docs[0][:16], dtype=torch.float32)  # warm-up

        # The two alternate, a round of documents each, so that both see the
        # same load on a shared machine; each side's time is its own sum.
        s_secs = t_secs = 0.0
        peak = 0.0
        for r0 in range(0, args.docs, args.round):
            chunk = docs[r0:r0 + args.round]
            s = bench_softent(args.build, model, chunk, work, args.threads)
            s_secs += s["seconds"]
            peak = max(peak, s["peak_rss_mb"])
            t = bench_torch(config, weights, chunk)
            t_secs += t
            print(f"  documents {r0 + len(chunk):4d}/{args.docs}: softent {chunk.size / s['seconds']:7.1f} tokens/s, "
                  f"PyTorch {chunk.size / t:7.1f} tokens/s", flush=True)
        n_tokens = docs.size
        s_rate, t_rate = n_tokens / s_secs, n_tokens / t_secs
        print(f"softent forward:   {s_rate:8.1f} tokens/s  ({s_secs:.1f} s; peak RSS {peak:.0f} MB)")
        print(f"PyTorch reference: {t_rate:8.1f} tokens/s  ({t_secs:.1f} s; torch {torch.__version__}, float32, "
              f"all hidden states + logits)")
        print(f"ratio softent / PyTorch: {s_rate / t_rate:.2f}x", flush=True)
        print(json.dumps({"softent_tokens_per_s": round(s_rate, 1), "torch_tokens_per_s": round(t_rate, 1),
                          "ratio": round(s_rate / t_rate, 3), "threads": args.threads, "docs": args.docs,
                          "doc_len": args.doc_len, "softent_peak_rss_mb": round(peak, 1),
                          "weights_mb": round(size_mb, 1)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
