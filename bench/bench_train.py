"""Benchmark of the GPT-2 trainer (issue: softent train).

In one run, on the same configuration, batches and thread count: training
steps per second of softent's trainer (tests/train_driver time: forward,
backward, clipping, AdamW: what softent train does a step) and of a PyTorch
CPU GPT-2 written as nanoGPT writes it (nn.Linear, F.gelu tanh, a masked
softmax attention, tied lm_head, AdamW in two groups, clip_grad_norm_),
then the ratio.  Default: softent train's defaults (4 layers, d 128,
4 heads, context 128, batch 16) on its byte vocabulary (257), and a
second vocabulary (8192, as a trained BPE would have) where the lm_head
weighs more.

Usage: /usr/bin/python3 bench/bench_train.py BUILD_DIR [--threads N] [--steps K] [--rounds R]
       [--vocab V ...] [--layers L] [--d-model D] [--heads H] [--context T] [--batch B]
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.attn_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("causal", torch.ones(context, context, dtype=torch.bool).tril())

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(~self.causal[:T, :T], float("-inf")).softmax(dim=-1)
        x = x + self.attn_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, context, layers, d, heads):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads, context) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T    # tied lm_head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


def torch_steps_per_s(a, vocab, batches, steps):
    torch.manual_seed(0)
    model = GPT(vocab, a.context, a.layers, a.d_model, a.heads)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.95), eps=1e-8, foreach=True)
    rows = torch.from_numpy(batches.astype(np.int64))

    def step(k):
        b = rows[k % len(rows)]
        opt.zero_grad(set_to_none=True)
        model(b[:, :-1], b[:, 1:]).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step(0)   # first touch of the memory, untimed as in the driver
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        step(k)
    return steps / (time.perf_counter() - t0)


def softent_steps_per_s(a, vocab, batches, steps, path):
    batches.astype("<i4").tofile(path)
    out = subprocess.run([os.path.join(a.build, "tests", "train_driver"), "time", f"tokens={path}", f"k={steps}",
                          f"steps={steps + 1}", f"layers={a.layers}", f"d={a.d_model}", f"heads={a.heads}",
                          f"context={a.context}", f"vocab={vocab}", f"batch={a.batch}", "lr=3e-3", "clip=1.0",
                          f"threads={a.threads}"], capture_output=True, text=True, check=True).stdout
    return float(out.split()[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--vocab", type=int, nargs="+", default=[257, 8192])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"GPT-2 training steps: {a.layers} layers, d {a.d_model}, {a.heads} heads, context {a.context}, "
          f"batch {a.batch}, {a.threads} threads, best of {a.rounds} x {a.steps} timed steps (torch {torch.__version__})")
    print(f"{'vocab':>6}  {'softent steps/s':>15}  {'torch steps/s':>13}  {'ratio':>6}  {'softent tokens/s':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for vocab in a.vocab:
            rng = np.random.default_rng(0)
            batches = rng.integers(0, vocab, (8, a.batch, a.context + 1))
            # alternate the two, best of --rounds each: other load on the
            # machine slows a round down, never speeds it up
            ours = ref = 0.0
            for _ in range(a.rounds):
                ours = max(ours, softent_steps_per_s(a, vocab, batches, a.steps, os.path.join(tmp, "tokens.bin")))
                ref = max(ref, torch_steps_per_s(a, vocab, batches, a.steps))
            print(f"{vocab:>6}  {ours:>15.3f}  {ref:>13.3f}  {ours / ref:>5.2f}x  {ours * a.batch * a.context:>16.0f}",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())
