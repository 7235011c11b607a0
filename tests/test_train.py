"""The GPT-2 trainer (softent train, include/softent_train.h) against outside
references: central differences in float64 for the gradients, PyTorch's
autograd, AdamW and gradient clipping for training steps, and a plain-torch
GPT-2 reading the checkpoints by their Hugging Face names.  Then resuming
(bitwise), the run directory's files, and bad input."""
import json
import math
import os
import subprocess

import numpy as np
import torch
import torch.nn.functional as F

from common import BUILD, Fail, bytes_to_unicode, expect_error, main, run, tmp

DRIVER = os.path.join(BUILD, "tests", "train_driver")
torch.set_num_threads(1)
# Threads that sleep at once when idle: the test machine is shared, and
# spinning threads waiting on a descheduled one slow small runs tenfold.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# ---- a plain-torch GPT-2 on Hugging Face's tensor names and layouts ---------

def read_safetensors(path):
    """name -> float32 array, in the header's order."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise Fail(f"{path}: {name} is {e['dtype']}, want F32")
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(blob[8 + n + a:8 + n + b], "<f4").reshape(e["shape"])
    return out


def gpt2_logits(w, cfg, tokens):
    """transformers' GPT2LMHeadModel: w maps HF names (Conv1D weights [in, out])
    to tensors; tokens [B, T] -> logits [B, T, V]."""
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    B, T = tokens.shape
    hs = C // H
    x = w["wte.weight"][tokens] + w["wpe.weight"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        p = f"h.{l}."
        h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], cfg["layer_norm_epsilon"])
        q, k, v = (h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]).split(C, dim=-1)
        q, k, v = (t.view(B, T, H, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], cfg["layer_norm_epsilon"])
        h = h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
        # gelu_new
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), w["ln_f.weight"], w["ln_f.bias"], cfg["layer_norm_epsilon"])
    return x @ w["wte.weight"].T     # tied lm_head


def gpt2_loss(w, cfg, rows):
    """Mean next-token cross-entropy of rows [B, T+1]."""
    rows = torch.as_tensor(rows.astype(np.int64))
    logits = gpt2_logits(w, cfg, rows[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))


def lr_at(step, steps, lr, warmup, min_lr):
    """docs/training.md's schedule: linear warmup, then cosine to lr * min_lr."""
    W = round(warmup * steps)
    if step <= W:
        return lr * step / W
    lo = lr * min_lr
    return lo + 0.5 * (lr - lo) * (1 + math.cos(math.pi * (step - W) / (steps - W)))


# ---- helpers --------------------------------------------------------------------

def driver(cmd, **kw):
    args = [DRIVER, cmd] + [f"{k}={v}" for k, v in kw.items()]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0 or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise Fail(f"{' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout


TINY = dict(layers=2, d=8, heads=2, context=6, vocab=11, batch=2)


def config_of(kw):
    return {"n_embd": kw["d"], "n_head": kw["heads"], "n_layer": kw["layers"], "layer_norm_epsilon": 1e-5}


def random_weights(shapes, seed):
    """Weights away from the initialisation (LayerNorm gains off 1, biases off
    0), so that every term of the backward pass matters."""
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in shapes.items():
        scale = 0.5 if ("ln_" in name or name.endswith("bias")) else 0.3
        base = 1.0 if ("ln_" in name and name.endswith("weight")) else 0.0
        w[name] = (base + scale * rng.standard_normal(shape)).astype(np.float32)
    return w


def corpus(name, docs):
    path = tmp(name)
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(d + "\n")
    return path


def words_corpus(name, n_docs, seed=0):
    rng = np.random.default_rng(seed)
    vocab = ("in the beginning god created heaven and earth was without form void darkness "
             "upon face of deep spirit moved waters said let there be light saw that it good "
             "divided from day night évening morning first").split()
    return corpus(name, [" ".join(rng.choice(vocab, rng.integers(3, 25))) for _ in range(n_docs)])


SMALL = ["--layers", "2", "--d-model", "32", "--heads", "2", "--context", "32", "--batch", "4", "--threads", "1"]


def train(corpus_path, out, *args, ok=True):
    return run("train", corpus_path, "--out", out, "--quiet", *SMALL, *args, ok=ok)


# ---- (a) gradients ------------------------------------------------------------

def check_gradients_central_differences():
    """Every element of every parameter tensor: the trainer's float32
    gradient against central differences of the loss computed in float64
    (by the plain-torch GPT-2, an implementation that shares no code with
    the trainer; float32 differences would drown in rounding).  The
    trainer's own float32 loss is checked against it, and, per tensor, its
    directional difference along the gradient."""
    out = tmp("grads")
    rng = np.random.default_rng(11)
    rows = rng.integers(0, TINY["vocab"], (TINY["batch"], TINY["context"] + 1)).astype("<i4")
    rows.tofile(tmp("grad_tokens.bin"))
    driver("train", tokens=tmp("grad_tokens.bin"), k=1, out=tmp("grad_init"), **TINY)  # for the shapes
    shapes = {k: v.shape for k, v in read_safetensors(tmp("grad_init/init/model.safetensors")).items()}
    w = random_weights(shapes, 3)
    np.concatenate([w[k].ravel() for k in shapes]).astype("<f4").tofile(tmp("grad_weights.bin"))
    driver("grads", tokens=tmp("grad_tokens.bin"), weights=tmp("grad_weights.bin"), out=out, **TINY)
    ours_loss = float(np.load(os.path.join(out, "loss.npy"))[0, 0])
    grads = np.load(os.path.join(out, "grads.npy"))[0]
    fd_dir = np.load(os.path.join(out, "fd.npy"))

    cfg = config_of(TINY)
    wd = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    with torch.no_grad():
        ref_loss = gpt2_loss(wd, cfg, rows).item()
        if not abs(ours_loss - ref_loss) <= 1e-6 * ref_loss:
            raise Fail(f"loss {ours_loss} vs float64 {ref_loss}")
        h = 1e-6
        off = 0
        for i, (name, shape) in enumerate(shapes.items()):
            n = int(np.prod(shape))
            g = grads[off:off + n]
            off += n
            flat = wd[name].view(-1)
            fd = np.empty(n)
            for j in range(n):
                keep = flat[j].item()
                flat[j] = keep + h
                lp = gpt2_loss(wd, cfg, rows).item()
                flat[j] = keep - h
                lm = gpt2_loss(wd, cfg, rows).item()
                flat[j] = keep
                fd[j] = (lp - lm) / (2 * h)
            scale = np.abs(fd).max()
            err = np.abs(g - fd).max()
            if not err <= 1e-4 * scale + 1e-7:
                j = int(np.abs(g - fd).argmax())
                raise Fail(f"{name}[{j}]: gradient {g[j]:.8g} vs central difference {fd[j]:.8g} (max error {err:.3g}, scale {scale:.3g})")
            # the trainer's own float32 loss, differenced along g / |g| (step 1e-2)
            norm, diff = fd_dir[i, 0], fd_dir[i, 1]
            if not abs(norm - diff) <= 3e-3 * norm + 1e-6:
                raise Fail(f"{name}: |g| = {norm:.6g}, but the trainer's loss changes at {diff:.6g} along g")
    if off != grads.size:
        raise Fail(f"{grads.size} gradients for {off} parameters")


def check_gradients_long_context():
    """Contexts over 32 positions run attention in blocks of queries (the
    last one partial at 70): every gradient against float64 autograd."""
    kw = dict(layers=1, d=16, heads=2, context=70, vocab=13, batch=2)
    rng = np.random.default_rng(12)
    rows = rng.integers(0, kw["vocab"], (kw["batch"], kw["context"] + 1)).astype("<i4")
    rows.tofile(tmp("long_tokens.bin"))
    driver("train", tokens=tmp("long_tokens.bin"), k=1, out=tmp("long_init"), **kw)
    shapes = {k: v.shape for k, v in read_safetensors(tmp("long_init/init/model.safetensors")).items()}
    w = random_weights(shapes, 4)
    np.concatenate([w[k].ravel() for k in shapes]).astype("<f4").tofile(tmp("long_weights.bin"))
    out = tmp("long_grads")
    driver("grads", tokens=tmp("long_tokens.bin"), weights=tmp("long_weights.bin"), out=out, **kw)
    grads = np.load(os.path.join(out, "grads.npy"))[0]
    wd = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in w.items()}
    loss = gpt2_loss(wd, config_of(kw), rows)
    loss.backward()
    if not abs(float(np.load(os.path.join(out, "loss.npy"))[0, 0]) - loss.item()) <= 1e-6 * loss.item():
        raise Fail(f"loss {np.load(os.path.join(out, 'loss.npy'))[0, 0]} vs float64 {loss.item()}")
    off = 0
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        g, ref = grads[off:off + n], wd[name].grad.numpy().ravel()
        off += n
        err = np.abs(g - ref).max()
        if not err <= 1e-4 * np.abs(ref).max() + 1e-7:
            raise Fail(f"{name}: gradient differs from autograd by {err:.3g} (scale {np.abs(ref).max():.3g})")


# ---- (b) training steps against PyTorch --------------------------------------

def check_adamw_steps_match_torch():
    """5 steps with warmup, cosine decay, clipping and weight decay active,
    from the trainer's own initial weights: the loss of each step within
    1e-4 (relative) of PyTorch's, the gradient norm before clipping too,
    the learning rates equal to the documented schedule."""
    kw = dict(layers=2, d=32, heads=4, context=40, vocab=37, batch=4, lr=3e-2, warmup=0.4,
              min_lr=0.1, wd=0.1, clip=0.5, seed=3)
    K = 5
    rng = np.random.default_rng(7)
    batches = rng.integers(0, kw["vocab"], (K, kw["batch"], kw["context"] + 1)).astype("<i4")
    batches.tofile(tmp("steps_tokens.bin"))
    out = tmp("steps")
    driver("train", tokens=tmp("steps_tokens.bin"), k=K, out=out, **kw)
    ours = np.load(os.path.join(out, "losses.npy"))
    lrs = np.load(os.path.join(out, "lr.npy"))[:, 0]

    cfg = config_of(kw)
    w = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in read_safetensors(os.path.join(out, "init/model.safetensors")).items()}
    decay = [t for t in w.values() if t.dim() >= 2]       # embeddings and weight matrices
    no_decay = [t for t in w.values() if t.dim() < 2]     # biases and LayerNorms
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": kw["wd"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=kw["lr"], betas=(0.9, 0.95), eps=1e-8)
    clipped = 0
    for k in range(K):
        lr = lr_at(k + 1, K, kw["lr"], kw["warmup"], kw["min_lr"])
        if not abs(lrs[k] - lr) <= 1e-6 * lr:
            raise Fail(f"step {k + 1}: learning rate {lrs[k]} vs {lr}")
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = gpt2_loss(w, cfg, batches[k])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(w.values()), kw["clip"]).item()
        clipped += norm > kw["clip"]
        opt.step()
        if not abs(ours[k, 0] - loss.item()) <= 1e-4 * loss.item():
            raise Fail(f"step {k + 1}: loss {ours[k, 0]} vs torch {loss.item()}")
        if not abs(ours[k, 1] - norm) <= 1e-4 * norm:
            raise Fail(f"step {k + 1}: gradient norm {ours[k, 1]} vs torch {norm}")
    if not clipped:
        raise Fail("clipping never acted: the test does not cover it")
    final = read_safetensors(os.path.join(out, "final/model.safetensors"))
    # a key bias has no gradient but rounding noise (softmax ignores a shift),
    # which AdamW scales up to +-lr: compare weights only loosely
    worst = max(float(np.abs(final[k] - w[k].detach().numpy()).max()) for k in final)
    if not worst <= 1e-3:
        raise Fail(f"weights after {K} steps differ from torch's by {worst:.3g}")


def check_initialisation():
    """N(0, 0.02), residual projections 0.02/sqrt(2 n_layer), zero biases,
    unit LayerNorm gains: the draws of numpy.random.default_rng(seed) in
    tensor order."""
    kw = dict(layers=3, d=16, heads=2, context=8, vocab=13, batch=1, seed=42)
    rows = np.zeros((1, 1, 9), dtype="<i4")
    rows.tofile(tmp("init_tokens.bin"))
    driver("train", tokens=tmp("init_tokens.bin"), k=1, out=tmp("init"), **kw)
    w = read_safetensors(tmp("init/init/model.safetensors"))
    gen = np.random.default_rng(42)
    for name, a in w.items():
        if name.endswith("bias"):
            want = np.zeros(a.shape, np.float32)
        elif "ln_" in name:
            want = np.ones(a.shape, np.float32)
        else:
            std = 0.02 / math.sqrt(2 * 3) if name.endswith("c_proj.weight") else 0.02
            want = (std * gen.standard_normal(a.size)).astype(np.float32).reshape(a.shape)
        if not np.array_equal(a, want):
            raise Fail(f"{name}: initial values differ from the documented draws")


# ---- (c) resuming ---------------------------------------------------------------

def check_resume_is_bitwise():
    """A run stopped after step 13 (as if killed: its last state is from step
    10) and resumed ends with the same weights, bit for bit, as one run; its
    loss.csv holds every step once."""
    text = words_corpus("resume.txt", 300)
    args = ["--steps", "30", "--checkpoints", "4", "--save-every", "8", "--seed", "5", "--threads", "2"]
    whole, split = tmp("run_whole"), tmp("run_split")
    train(text, whole, *args)
    train(text, split, *args, "--stop-after", "13")
    if os.path.exists(os.path.join(split, "step-30")):
        raise Fail("--stop-after 13 still reached step 30")
    p = run("train", text, "--out", split, "--resume", "--quiet", "--threads", "2")
    if p.stderr.strip():
        raise Fail(f"resume wrote to stderr: {p.stderr!r}")
    steps = sorted(int(d[5:]) for d in os.listdir(whole) if d.startswith("step-"))
    if steps != sorted(int(d[5:]) for d in os.listdir(split) if d.startswith("step-")):
        raise Fail(f"checkpoints differ: {os.listdir(whole)} vs {os.listdir(split)}")
    for s in steps:
        for f in ("model.safetensors", "config.json", "tokenizer.json"):
            a = open(os.path.join(whole, f"step-{s}", f), "rb").read()
            b = open(os.path.join(split, f"step-{s}", f), "rb").read()
            if a != b:
                raise Fail(f"step-{s}/{f} differs between the whole and the resumed run")
    a = np.genfromtxt(os.path.join(whole, "loss.csv"), delimiter=",", names=True)
    b = np.genfromtxt(os.path.join(split, "loss.csv"), delimiter=",", names=True)
    if list(b["step"]) != list(range(1, 31)):
        raise Fail(f"resumed loss.csv steps: {list(b['step'])}")
    if not np.array_equal(a["train_loss"], b["train_loss"]) or not np.array_equal(a["lr"], b["lr"]):
        raise Fail("train losses or learning rates differ between the whole and the resumed run")
    if not np.array_equal(np.isnan(a["val_loss"]), np.isnan(b["val_loss"])):
        raise Fail("validation losses at different steps")
    # a finished run resumed does nothing
    run("train", text, "--out", split, "--resume", "--quiet", "--threads", "2")
    if open(os.path.join(split, "step-30", "model.safetensors"), "rb").read() != open(os.path.join(whole, "step-30", "model.safetensors"), "rb").read():
        raise Fail("resuming a finished run changed it")


def check_deterministic():
    """Same seed and threads: the same weights; another seed: others."""
    text = words_corpus("det.txt", 200, seed=1)
    for name, seed in (("det_a", 1), ("det_b", 1), ("det_c", 2)):
        train(text, tmp(name), "--steps", "6", "--checkpoints", "2", "--seed", str(seed))
    blob = {n: open(tmp(f"{n}/step-6/model.safetensors"), "rb").read() for n in ("det_a", "det_b", "det_c")}
    if blob["det_a"] != blob["det_b"]:
        raise Fail("two runs with one seed differ")
    if blob["det_a"] == blob["det_c"]:
        raise Fail("two seeds gave the same weights")


# ---- (d) checkpoints are Hugging Face GPT-2 directories ---------------------------

def check_checkpoint_reproduces_logits():
    """The plain-torch GPT-2, reading a checkpoint by its Hugging Face names
    and config.json, reproduces the trainer's own logits within 1e-5."""
    out = tmp("steps")   # written by check_adamw_steps_match_torch
    if not os.path.exists(os.path.join(out, "logits.npy")):
        check_adamw_steps_match_torch()
    d = os.path.join(out, "final")
    cfg = json.load(open(os.path.join(d, "config.json")))
    w = {k: torch.tensor(v.copy()) for k, v in read_safetensors(os.path.join(d, "model.safetensors")).items()}
    batches = np.fromfile(tmp("steps_tokens.bin"), dtype="<i4").reshape(5, 4, cfg["n_ctx"] + 1)
    with torch.no_grad():
        ref = gpt2_logits(w, cfg, torch.tensor(batches[0, :, :-1].astype(np.int64))).reshape(-1, cfg["vocab_size"]).numpy()
    ours = np.load(os.path.join(out, "logits.npy"))
    err = np.abs(ours - ref).max()
    if not err <= 1e-5:
        raise Fail(f"logits differ from the checkpoint's by {err:.3g}")


HF_BLOCK = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
            "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
            "mlp.c_proj.weight", "mlp.c_proj.bias"]


def check_run_directory():
    """softent train's run directory: log-spaced step-N checkpoints with
    config.json (GPT-2 fields), model.safetensors (exactly HF GPT-2's tensors
    and shapes, F32, no lm_head), tokenizer.json; loss.csv; and softent's own
    model loader reads a checkpoint to the torch reference's logits."""
    text = words_corpus("layout.txt", 300, seed=2)
    out = tmp("run_layout")
    p = train(text, out, "--steps", "40", "--checkpoints", "5", "--layers", "3")
    if not p.stdout.startswith(out):
        raise Fail(f"summary line: {p.stdout!r}")
    steps = sorted(int(d[5:]) for d in os.listdir(out) if d.startswith("step-"))
    if steps != [1, 3, 6, 16, 40]:
        raise Fail(f"checkpoint steps {steps}, want log-spaced [1, 3, 6, 16, 40]")
    for s in steps:
        if sorted(os.listdir(os.path.join(out, f"step-{s}"))) != ["config.json", "model.safetensors", "tokenizer.json"]:
            raise Fail(f"step-{s} holds {os.listdir(os.path.join(out, f'step-{s}'))}")
    d = os.path.join(out, "step-40")
    cfg = json.load(open(os.path.join(d, "config.json")))
    want = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 32, "n_layer": 3, "n_head": 2,
            "n_positions": 32, "n_ctx": 32, "vocab_size": 257, "layer_norm_epsilon": 1e-5,
            "activation_function": "gelu_new", "tie_word_embeddings": True, "bos_token_id": 256, "eos_token_id": 256}
    for k, v in want.items():
        if cfg.get(k) != v:
            raise Fail(f"config.json {k} = {cfg.get(k)!r}, want {v!r}")
    w = read_safetensors(os.path.join(d, "model.safetensors"))
    names = ["wte.weight", "wpe.weight"] + [f"h.{l}.{n}" for l in range(3) for n in HF_BLOCK] + ["ln_f.weight", "ln_f.bias"]
    if sorted(w) != sorted(names):
        raise Fail(f"tensors {sorted(set(w) ^ set(names))} differ from GPT-2's")
    C = 32
    shapes = {"wte.weight": (257, C), "wpe.weight": (32, C), "h.0.attn.c_attn.weight": (C, 3 * C), "h.0.attn.c_attn.bias": (3 * C,),
              "h.0.attn.c_proj.weight": (C, C), "h.0.mlp.c_fc.weight": (C, 4 * C), "h.0.mlp.c_fc.bias": (4 * C,),
              "h.0.mlp.c_proj.weight": (4 * C, C), "ln_f.bias": (C,)}
    for k, s in shapes.items():
        if w[k].shape != s:
            raise Fail(f"{k}: shape {w[k].shape}, want {s}")
    if open(os.path.join(d, "tokenizer.json"), "rb").read() != open(os.path.join(out, "tokenizer.json"), "rb").read():
        raise Fail("the checkpoint's tokenizer.json is not the run's")
    log = np.genfromtxt(os.path.join(out, "loss.csv"), delimiter=",", names=True)
    if list(log.dtype.names) != ["step", "lr", "train_loss", "val_loss", "tokens_per_s"] or len(log) != 40:
        raise Fail(f"loss.csv: columns {log.dtype.names}, {len(log)} rows")
    if sorted(log["step"][~np.isnan(log["val_loss"])].astype(int)) != steps:
        raise Fail("validation losses are not at the checkpoints")
    if not log["train_loss"][-5:].mean() < log["train_loss"][:5].mean() - 1.0:
        raise Fail(f"the loss did not fall: {log['train_loss'][:5]} -> {log['train_loss'][-5:]}")
    # softent's own loader (lib/model.c), where the build has its driver
    fwd = os.path.join(BUILD, "tests", "forward_driver")
    if os.path.exists(fwd):
        seq = np.arange(0, 200, 7, dtype="<i4")
        seq.tofile(tmp("layout_seq.bin"))
        p = subprocess.run([fwd, d, tmp("layout_seq.bin"), tmp("layout_fw")], capture_output=True, text=True)
        if p.returncode != 0:
            raise Fail(f"softent's model loader refused the checkpoint: {p.stderr.strip()}")
        with torch.no_grad():
            ref = gpt2_logits({k: torch.tensor(v.copy()) for k, v in w.items()}, cfg,
                              torch.tensor(seq[None].astype(np.int64)))[0].numpy()
        err = np.abs(np.load(tmp("layout_fw.logits.npy")) - ref).max()
        if not err <= 1e-4:
            raise Fail(f"softent's model loader gives logits {err:.3g} away from the reference")


def check_given_tokenizer():
    """--tokenizer: a BPE tokenizer.json with merges and its end-of-text token
    elsewhere than 256 is copied into the run and its checkpoints."""
    chars = bytes_to_unicode()
    vocab = {chars[b]: b for b in range(256)}
    vocab.update({"Ġt": 256, "Ġth": 257, "Ġthe": 258})     # "Ġ" is the space byte
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [{"id": 259, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                            "rstrip": False, "normalized": True, "special": True}],
          "normalizer": None, "pre_tokenizer": byte_level, "post_processor": byte_level, "decoder": byte_level,
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                    "merges": ["Ġ t", "Ġt h", "Ġth e"]}}
    path = tmp("bpe_tokenizer.json")
    with open(path, "w") as f:
        json.dump(tj, f)
    text = words_corpus("tok.txt", 300, seed=3)
    out = tmp("run_tok")
    train(text, out, "--steps", "3", "--checkpoints", "1", "--tokenizer", path)
    cfg = json.load(open(os.path.join(out, "step-3", "config.json")))
    if (cfg["vocab_size"], cfg["eos_token_id"]) != (260, 259):
        raise Fail(f"vocab_size {cfg['vocab_size']}, eos {cfg['eos_token_id']}; want 260, 259")
    if open(os.path.join(out, "step-3", "tokenizer.json"), "rb").read() != open(path, "rb").read():
        raise Fail("the checkpoint's tokenizer.json is not the given one")


# ---- (e) bad input ------------------------------------------------------------------


def check_bad_corpus():
    empty = corpus("empty.txt", [])
    expect_error(["train", empty, "--out", tmp("bad_empty"), *SMALL], "empty.txt", "empty")
    blank = corpus("blank.txt", ["", "   ", ""])
    expect_error(["train", blank, "--out", tmp("bad_blank"), *SMALL], "blank.txt")
    tiny = corpus("tiny.txt", ["hello"])
    expect_error(["train", tiny, "--out", tmp("bad_tiny"), *SMALL], "tiny.txt", "context")
    # enough to train on, too little held out: 200 tokens, 5% = 10 < 33
    short = corpus("short.txt", ["x" * 199])
    expect_error(["train", short, "--out", tmp("bad_short"), *SMALL], "short.txt", "--val-fraction")
    expect_error(["train", tmp("missing.txt"), "--out", tmp("bad_missing"), *SMALL], "missing.txt")
    # documents shorter than the context are fine: windows run across them
    many = corpus("short_docs.txt", ["ab"] * 400)
    train(many, tmp("run_short_docs"), "--steps", "2", "--checkpoints", "1")


def check_bad_output_directory():
    text = words_corpus("out.txt", 50)
    not_dir = tmp("a_file")
    open(not_dir, "w").close()
    expect_error(["train", text, "--out", os.path.join(not_dir, "run"), *SMALL], "a_file")
    expect_error(["train", text, "--out", tmp("bad_tok"), "--tokenizer", tmp("no_tokenizer.json"), *SMALL], "no_tokenizer.json")
    with open(tmp("not_a_tokenizer.json"), "w") as f:
        f.write('{"version": "1.0"}')
    expect_error(["train", text, "--out", tmp("bad_tok"), "--tokenizer", tmp("not_a_tokenizer.json"), *SMALL], "not_a_tokenizer.json")
    if os.path.exists(tmp("bad_tok")):
        raise Fail("a refused run left its directory behind")
    # an existing run is not overwritten
    out = tmp("run_existing")
    train(text, out, "--steps", "2", "--checkpoints", "1")
    expect_error(["train", text, "--out", out, *SMALL], "train_state.bin", "--resume")


def check_bad_resume():
    text = words_corpus("bad_resume.txt", 60)
    expect_error(["train", text, "--out", tmp("never_ran"), "--resume"], "train_state.bin")
    out = tmp("run_corrupt")
    train(text, out, "--steps", "4", "--checkpoints", "1", "--save-every", "2", "--stop-after", "3")
    state = os.path.join(out, "train_state.bin")
    good = open(state, "rb").read()
    # a setting that differs from the run's
    expect_error(["train", text, "--out", out, "--resume", "--lr", "0.1"], "--lr", "train_state.bin", code=2)
    # another corpus
    expect_error(["train", words_corpus("other.txt", 60, seed=9), "--out", out, "--resume"], "other.txt")
    for name, blob, word in (("flipped", good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 1]) + good[len(good) // 2 + 1:], "checksum"),
                             ("truncated", good[:len(good) // 2], "truncated"),
                             ("garbage", b"\x00" * 100, "not a softent training state"),
                             ("settings", good[:16] + (2 ** 40).to_bytes(8, "little") + good[24:], "corrupt")):
        with open(state, "wb") as f:
            f.write(blob)
        expect_error(["train", text, "--out", out, "--resume"], "train_state.bin", word)
    with open(state, "wb") as f:
        f.write(good)
    run("train", text, "--out", out, "--resume", "--quiet", "--threads", "1")


if __name__ == "__main__":
    main(globals())
