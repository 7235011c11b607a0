"""Benchmark of softent's forward pass against llama.cpp's prefill (issues:
GGUF models; the forward pass at llama.cpp's speed).

In one run, on the forward benchmark's random LLaMA-architecture model
(~110M parameters, bench_forward.write_llama) written as GGUF files the way
llama.cpp's converter writes them (tests/test_gguf.write_gguf_model: q/k
permuted) in F32, F16, BF16 and Q8_0, the same documents of --len tokens
and the same thread count:
  1. llama.cpp: bench/llama_prefill.c, built here against the prebuilt
     libllama of the npm test fixtures (scripts/install-npm-fixtures.sh),
     each document decoded in one batch with the logits of its last token
     only, KV cache in float32;
  2. softent as a load sets it up (--compute auto: float32 products for the
     F32, F16 and Q8_0 files, bf16 products for the BF16 file where the
     CPU has AMX / AVX512-BF16): tests/forward_driver --time --no-logits
     (every hidden state handed to a callback, no logits: as analyze runs
     the model);
  3. softent with bf16 products (--compute bf16) on the same file;
and the ratios softent / llama.cpp.  The three alternate in rounds of
--round documents, each round timed on its own; the figures are the
medians over rounds of each side's rate and of the paired ratio.  Only the
passes are timed, not loading.

Usage: /usr/bin/python3 bench/bench_prefill.py [BUILD_DIR] [--docs N] [--len L] [--threads T] [--round K] [--types F32,F16,BF16,Q8_0]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
import bench_forward  # noqa: E402
import test_gguf  # noqa: E402  (the GGUF writer, llama.cpp's paths)


def build_llama_prefill(work):
    exe = os.path.join(work, "llama_prefill")
    libs = [os.path.join(test_gguf.NPM_BINS, n) for n in ("libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so")]
    subprocess.run(["cc", "-O2", "-I", os.path.join(test_gguf.LLAMA, "include"), "-I", os.path.join(test_gguf.LLAMA, "ggml", "include"),
                    os.path.join(HERE, "llama_prefill.c"), "-o", exe, *libs, "-Wl,-rpath," + test_gguf.NPM_BINS], check=True)
    return exe


def placeholder_vocab(w):
    """A SentencePiece vocabulary of the model's 32000 ids (llama.cpp loads
    none without one; the benchmark feeds ids, so what the pieces are does
    not matter): <unk>, <s>, </s>, the 256 byte pieces, then "t<i>"."""
    n = bench_forward.VOCAB
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + [f"t{i}" for i in range(259, n)]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 259 + [-float(i) for i in range(259, n)])
    w.add_token_types([2, 3, 3] + [6] * 256 + [1] * (n - 259))


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{os.path.basename(cmd[0])} failed: {p.stderr.strip()[-2000:]}")
    fields = p.stdout.split()
    return {fields[i]: float(fields[i + 1]) for i in range(0, len(fields) - 1, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--docs", type=int, default=32)
    ap.add_argument("--len", type=int, default=512, dest="doc_len")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--round", type=int, default=4, help="documents per alternation")
    ap.add_argument("--types", default="F32,F16,BF16,Q8_0")
    args = ap.parse_args()
    if not os.path.exists(test_gguf.NPM_BINS):
        sys.exit("bench_prefill: llama.cpp's prebuilt libraries are missing; run scripts/install-deps.sh test")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    work = tempfile.mkdtemp(prefix="prefill-bench-")
    try:
        llama = build_llama_prefill(work)
        hf = os.path.join(work, "llama")
        params = bench_forward.write_llama(hf)
        config, tensors = bench_forward.torch_reference.load(hf)
        docs = np.random.default_rng(1).integers(0, bench_forward.VOCAB, (args.docs, args.doc_len)).astype("<i4")
        print(f"model: llama, {params / 1e6:.1f}M parameters, {args.docs} documents x {args.doc_len} tokens, "
              f"{args.threads} threads", flush=True)
        results = {}
        for qtype in args.types.split(","):
            path = os.path.join(work, f"llama-{qtype}.gguf")
            test_gguf.write_gguf_model(path, config, tensors, quant={"F32": None, "F16": "f16", "BF16": "bf16", "Q8_0": "q8_0"}[qtype],
                                       tokenizer=placeholder_vocab)
            mb = os.path.getsize(path) / 2**20
            rates = {"llama.cpp": [], "softent": [], "softent bf16": []}
            ratios = {"softent": [], "softent bf16": []}
            peak = 0.0
            for r0 in range(0, args.docs, args.round):
                tok = os.path.join(work, "tokens.bin")
                docs[r0:r0 + args.round].tofile(tok)
                ll = run([llama, test_gguf.NPM_BINS, path, tok, str(args.doc_len), str(args.threads)], args.threads)
                rates["llama.cpp"].append(ll["tokens_per_s"])
                for side, compute in (("softent", "auto"), ("softent bf16", "bf16")):
                    s = run([os.path.join(args.build, "tests", "forward_driver"), *(["--compute", compute] if compute != "auto" else []),
                             "--time", str(args.doc_len), "--no-logits", path, tok, "-"], args.threads)
                    rates[side].append(s["tokens_per_s"])
                    ratios[side].append(s["tokens_per_s"] / ll["tokens_per_s"])
                    if side == "softent":
                        peak = max(peak, s["peak_rss_mb"])
            med = {k: statistics.median(v) for k, v in rates.items()}
            rmed = {k: statistics.median(v) for k, v in ratios.items()}
            print(f"{qtype:5s} ({mb:4.0f} MB): llama.cpp {med['llama.cpp']:7.1f} tokens/s; softent {med['softent']:7.1f} "
                  f"({rmed['softent']:.2f}x); softent bf16 products {med['softent bf16']:7.1f} ({rmed['softent bf16']:.2f}x); "
                  f"medians of {len(ratios['softent'])} paired rounds; softent's peak RSS {peak:.0f} MB", flush=True)
            results[qtype] = {"llama_cpp_tokens_per_s": round(med["llama.cpp"], 1), "softent_tokens_per_s": round(med["softent"], 1),
                              "ratio": round(rmed["softent"], 3), "softent_bf16_tokens_per_s": round(med["softent bf16"], 1),
                              "ratio_bf16": round(rmed["softent bf16"], 3), "rounds": len(ratios["softent"]),
                              "file_mb": round(mb, 1), "softent_peak_rss_mb": round(peak, 1)}
            os.remove(path)
        print(json.dumps({"threads": args.threads, "docs": args.docs, "doc_len": args.doc_len, "types": results}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
