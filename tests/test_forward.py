"""The transformer forward pass (lib/forward.c) against a plain-PyTorch
reference (tests/torch_reference.py, float64) on small random models of each
architecture (tests/make_models.py), and bad model directories refused with
a one-line error naming the file or tensor.

Usage: /usr/bin/python3 tests/test_forward.py BUILD_DIR

Metric: for each of the L+1 hidden states and the logits, separately,
max|softent - reference| / max|reference| over the whole [n, d] (or
[n, vocab]) tensor; it must be <= 1e-4.  The errors found are printed
(lines that are neither PASS nor FAIL).
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch_reference  # noqa: E402
except ImportError as e:  # say why in the suite's own format, not as a traceback
    print(f"FAIL forward: the reference needs Debian's python3-torch ({e})")
    sys.exit(1)
import make_models  # noqa: E402
from common import BUILD, Fail, expect_failure, main, run_process, tmp  # noqa: E402

DRIVER = os.path.join(BUILD, "tests", "forward_driver")
TOL = 1e-4
LENGTHS = (1, 9, 70)  # 70: three attention blocks of 32, past every sliding window
_models = {}


def model_dir(name):
    if name not in _models:
        _models.update(make_models.make(tmp("models"), [name]))
    return _models[name]


def run_driver(mdir, tokens, ok=True, threads=None):
    tok_path = tmp("tokens.bin")
    np.asarray(tokens, dtype="<i4").tofile(tok_path)
    prefix = tmp("out")
    p = run_process([DRIVER, mdir, tok_path, prefix], f"forward_driver {mdir}", ok=ok, threads=threads, report=3000)
    if not ok:
        return p
    return np.load(prefix + ".hidden.npy"), np.load(prefix + ".logits.npy")


def rel_err(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def compare(name, mdir=None, lengths=LENGTHS, threads=None):
    mdir = mdir or model_dir(name)
    config, weights = torch_reference.load(mdir)
    weights = torch_reference.to_torch(weights, torch_reference.torch.float64)
    worst = 0.0
    for n in lengths:
        tokens = np.random.default_rng(1000 + n).integers(0, config["vocab_size"], n)
        hidden, logits = run_driver(mdir, tokens, threads=threads)
        ref_hidden, ref_logits = torch_reference.forward(config, weights, tokens)
        if hidden.shape != (len(ref_hidden) * n, ref_hidden[0].shape[1]):
            raise Fail(f"{name}: hidden states of shape {hidden.shape}, want {len(ref_hidden)} x [{n}, {ref_hidden[0].shape[1]}]")
        hidden = hidden.reshape(len(ref_hidden), n, -1)
        errors = [rel_err(hidden[i], ref_hidden[i].numpy()) for i in range(len(ref_hidden))]
        errors.append(rel_err(logits, ref_logits.numpy()))
        print(f"  {name} n={n}: max rel err per hidden state "
              + " ".join(f"{e:.1e}" for e in errors[:-1]) + f", logits {errors[-1]:.1e}", flush=True)
        for i, e in enumerate(errors):
            if not e <= TOL:
                what = f"hidden state {i}" if i < len(errors) - 1 else "logits"
                raise Fail(f"{name}, n = {n}: {what} differ from the reference by {e:.3g} (> {TOL:g}, max|a-b|/max|b|)")
        worst = max(worst, max(errors))
    print(f"  {name}: worst {worst:.2e}", flush=True)


def make_forward_check(name):
    def check():
        compare(name)
    check.__name__ = "forward_" + name.replace("-", "_")
    return check


for _name in make_models.MODELS:
    globals()["check_forward_" + _name.replace("-", "_")] = make_forward_check(_name)


def check_thread_count():
    # 3 threads on any machine: per-thread attention scratch, uneven task split
    compare("qwen3", lengths=(70,), threads=3)
    compare("olmo2", lengths=(70,), threads=1)


def check_unprefixed_names():
    # a bare base model (and openai-community/gpt2's own file) has no
    # "transformer." / "model." prefix
    cfg, tensors = make_models.gpt2()
    out = tmp("bare-gpt2")
    make_models.write_model(out, cfg, {k.replace("transformer.", ""): v for k, v in tensors.items()}, "F32")
    compare("bare-gpt2", out, lengths=(9,))
    cfg, tensors = make_models.llama_family("qwen2", 5)
    out = tmp("bare-qwen2")
    make_models.write_model(out, cfg, {k.replace("model.", ""): v for k, v in tensors.items()}, "BF16")
    compare("bare-qwen2", out, lengths=(9,))


def check_callback_stops_pass():
    mdir = model_dir("llama")  # 3 layers: 4 hidden states
    np.arange(5, dtype="<i4").tofile(tmp("tokens.bin"))
    p = subprocess.run([DRIVER, "--stop", "1", mdir, tmp("tokens.bin"), tmp("out")], capture_output=True, text=True)
    if p.returncode != 0 or p.stdout.split() != ["status", "42", "calls", "2", "last", "1"]:
        raise Fail(f"a callback returning 42 at layer 1: want 'status 42 calls 2 last 1', got {p.stdout!r} {p.stderr!r}")


# ---- bad input -----------------------------------------------------------------

def expect_error(mdir, *words, tokens=(1, 2, 3)):
    expect_failure(run_driver(mdir, tokens, ok=False), f"forward_driver {mdir}", words)


def variant(name, base="llama-linear", config=None, drop=(), reshape=None, dtypes=None, shards=None):
    """A copy of a test model with its config edited or tensors broken."""
    build, dtype, n_shards = make_models.MODELS[base]
    cfg, tensors = build()
    cfg.update(config or {})
    for t in drop:
        del tensors[t]
    for t, shape in (reshape or {}).items():
        tensors[t] = np.resize(tensors[t], shape)
    out = tmp("bad/" + name)
    shutil.rmtree(out, ignore_errors=True)
    make_models.write_model(out, cfg, tensors, dtype, shards or n_shards, dtypes)
    return out


def check_missing_config():
    mdir = variant("noconfig")
    os.remove(os.path.join(mdir, "config.json"))
    expect_error(mdir, "config.json", "No such file")


def check_corrupt_config():
    mdir = variant("badjson")
    with open(os.path.join(mdir, "config.json"), "w") as f:
        f.write('{"model_type": "llama", "hidden_size": 64,')
    expect_error(mdir, "config.json", "JSON")
    mdir = variant("nofield")
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    del cfg["num_hidden_layers"]
    json.dump(cfg, open(os.path.join(mdir, "config.json"), "w"))
    expect_error(mdir, "config.json", "num_hidden_layers")
    expect_error(variant("badheads", config={"num_key_value_heads": 3}), "config.json", "num_key_value_heads")


def check_unknown_model_type():
    expect_error(variant("bert", config={"model_type": "bert"}), "config.json", '"bert"', "gpt2, llama, mistral, qwen2, qwen3, olmo2, gpt_neox, gemma, gemma2, gemma3_text, phi3")


def check_unsupported_rope():
    expect_error(variant("yarn", config={"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}), "config.json", "yarn")
    # gpt_neox: int(16 * 0.1) = 1 dimension cannot be rotated in pairs; dynamic NTK scaling is not supported
    expect_error(variant("neox-odd", base="gpt_neox", config={"rotary_pct": 0.1}), "config.json", "rotary_pct 0.1", "even")
    expect_error(variant("neox-dynamic", base="gpt_neox", config={"rope_scaling": {"type": "dynamic", "factor": 2.0}}),
                 "config.json", "dynamic")
    expect_error(variant("phi3-factors", base="phi3", config={"rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.0],
                                                                               "long_factor": [1.0, 1.0]}}),
                 "config.json", "short_factor", "6 numbers")
    expect_error(variant("llama-partial", config={"partial_rotary_factor": 0.5}), "config.json", "partial_rotary_factor 0.5")
    expect_error(variant("neox-noqkv", base="gpt_neox", drop=["gpt_neox.layers.1.attention.query_key_value.weight"]),
                 "gpt_neox.layers.1.attention.query_key_value.weight")


def check_missing_weights():
    mdir = variant("noweights")
    os.remove(os.path.join(mdir, "model.safetensors"))
    expect_error(mdir, "model.safetensors")


def check_missing_tensor():
    name = "model.layers.1.mlp.up_proj.weight"
    expect_error(variant("notensor", drop=[name]), name, "no tensor")
    # untied: the lm_head must be there
    expect_error(variant("nohead", drop=["lm_head.weight"]), "lm_head.weight")
    # attention_bias promises biases
    expect_error(variant("nobias", drop=["model.layers.0.self_attn.k_proj.bias"]), "model.layers.0.self_attn.k_proj.bias")


def check_wrong_shape():
    name = "model.layers.0.self_attn.k_proj.weight"
    expect_error(variant("shape", reshape={name: (32, 64)}), name, "[32, 64]", "[64, 64]")
    # a config that disagrees with the weights is caught the same way
    expect_error(variant("vocab", config={"vocab_size": 301}), "model.embed_tokens.weight", "[300, 64]", "[301, 64]")


def check_unsupported_dtype():
    name = "model.layers.0.mlp.down_proj.weight"
    expect_error(variant("f64", dtypes={name: "F64"}), name, "F64")
    expect_error(variant("i8", dtypes={name: "I8"}), name, "I8")


def check_corrupt_safetensors():
    mdir = variant("trunc")
    path = os.path.join(mdir, "model.safetensors")
    blob = open(path, "rb").read()
    open(path, "wb").write(blob[:-1000])
    expect_error(mdir, "model.safetensors", "truncated")
    open(path, "wb").write(b"\xff" * 8 + blob[8:])
    expect_error(mdir, "model.safetensors", "not a safetensors file")
    open(path, "wb").write(blob[:8] + b"[" + blob[9:])
    expect_error(mdir, "model.safetensors", "header")


def check_sharded_index():
    mdir = variant("shardgone", base="qwen2")
    os.remove(os.path.join(mdir, "model-00002-of-00002.safetensors"))
    expect_error(mdir, "model-00002-of-00002.safetensors")
    mdir = variant("shardlie", base="qwen2")
    index_path = os.path.join(mdir, "model.safetensors.index.json")
    index = json.load(open(index_path))
    index["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors"
    json.dump(index, open(index_path, "w"))
    expect_error(mdir, "model.norm.weight", "model-00001-of-00002.safetensors")


def check_bad_tokens():
    mdir = model_dir("gpt2")
    expect_error(mdir, "token 300", "vocabulary", tokens=(5, 300))
    expect_error(mdir, "token -1", tokens=(-1,))
    expect_error(mdir, "129 tokens", "n_positions", tokens=[1] * 129)


if __name__ == "__main__":
    main(globals())
