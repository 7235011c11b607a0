"""The transformer forward pass (lib/forward.c) against a plain-PyTorch
reference (tests/torch_reference.py, float64) on small random models of each
architecture (tests/make_models.py), and bad model directories refused with
a one-line error naming the file or tensor.

Usage: /usr/bin/python3 tests/test_forward.py BUILD_DIR

Metric: for each of the L+1 hidden states and the logits, separately,
max|softent - reference| / max|reference| over the whole [n, d] (or
[n, vocab]) tensor; it must be <= 1e-4 with float32 products.  With bf16
products (SOFTENT_COMPUTE_BF16, docs/models.md) every hidden state must be
within 5e-3 of the reference that rounds the same operands to bf16
(torch_reference's bf16_products: what is left are single roundings that
fall the other way), within 2.5e-2 of the float64 reference, and no
further from it than PyTorch's own all-bf16 forward of the same weights.
The errors found are printed (lines that are neither PASS nor FAIL).
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
TOL_BF16_EMULATED, TOL_BF16 = 5e-3, 2.5e-2
LENGTHS = (1, 9, 70)  # 70: three attention blocks of 32, past every sliding window
_models = {}


def model_dir(name):
    if name not in _models:
        _models.update(make_models.make(tmp("models"), [name]))
    return _models[name]


def run_driver(mdir, tokens, ok=True, threads=None, compute="f32"):
    """compute: the products' arithmetic, or None for the load's own choice."""
    tok_path = tmp("tokens.bin")
    np.asarray(tokens, dtype="<i4").tofile(tok_path)
    prefix = tmp("out")
    p = run_process([DRIVER, *(["--compute", compute] if compute else []), mdir, tok_path, prefix], f"forward_driver {mdir}",
                    ok=ok, threads=threads, report=3000)
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


def check_bf16_products():
    """Every architecture with bf16 products (oneDNN; AMX where the CPU has
    it), against the references named in the docstring above."""
    torch = torch_reference.torch
    for name in make_models.MODELS:
        mdir = model_dir(name)
        config, weights = torch_reference.load(mdir)
        w64 = torch_reference.to_torch(weights, torch.float64)
        n = 70
        tokens = np.random.default_rng(1000 + n).integers(0, config["vocab_size"], n)
        hidden, _ = run_driver(mdir, tokens, compute="bf16")
        exact, _ = torch_reference.forward(config, w64, tokens)
        rounded, _ = torch_reference.forward(config, w64, tokens, bf16_products=True)
        all_bf16, _ = torch_reference.forward(config, torch_reference.to_torch(weights, torch.bfloat16), tokens, dtype=torch.bfloat16)
        hidden = hidden.reshape(len(exact), n, -1)
        e_rounded = max(rel_err(h, r.numpy()) for h, r in zip(hidden, rounded))
        e_exact = max(rel_err(h, r.numpy()) for h, r in zip(hidden, exact))
        e_torch = max(rel_err(b.double().numpy(), r.numpy()) for b, r in zip(all_bf16, exact))
        print(f"  {name} bf16: {e_rounded:.1e} from the bf16-rounding reference, {e_exact:.1e} from float64 "
              f"(PyTorch in bf16: {e_torch:.1e})", flush=True)
        if not e_rounded <= TOL_BF16_EMULATED:
            raise Fail(f"{name}: bf16 products differ from the reference's bf16-rounded products by {e_rounded:.3g} (> {TOL_BF16_EMULATED:g})")
        if not (e_exact <= TOL_BF16 and e_exact <= e_torch):
            raise Fail(f"{name}: with bf16 products the hidden states are {e_exact:.3g} from float64 "
                       f"(tolerance {TOL_BF16:g}; PyTorch's own bf16 forward: {e_torch:.3g})")


def cpu_has_bf16():
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return " avx512_bf16" in flags or " amx_bf16" in flags


def check_compute_default_and_isa_paths():
    """A load picks bf16 products for a BF16 checkpoint where the CPU
    multiplies bf16 natively (bitwise the --compute bf16 run), float32 for a
    float32 one and where oneDNN may not use the bf16 units
    (ONEDNN_MAX_CPU_ISA=AVX512_CORE); oneDNN's AVX512-BF16 kernels (AMX
    withheld) give the bf16 products too."""
    bf16_model, f32_model = model_dir("llama"), model_dir("qwen2")  # stored BF16, F32
    tokens = np.random.default_rng(7).integers(0, make_models.VOCAB, 40)
    runs = {c: run_driver(bf16_model, tokens, compute=c)[0] for c in ("f32", "bf16")}
    if not np.array_equal(run_driver(f32_model, tokens, compute=None)[0], run_driver(f32_model, tokens, compute="f32")[0]):
        raise Fail("a float32 checkpoint's default run is not its float32 run")
    if np.array_equal(runs["f32"], runs["bf16"]):
        raise Fail("--compute bf16 gave the float32 run's states")
    if cpu_has_bf16() and not np.array_equal(run_driver(bf16_model, tokens, compute=None)[0], runs["bf16"]):
        raise Fail("on a CPU with AVX512-BF16 a BF16 checkpoint's default run is not its bf16 run")
    saved = os.environ.get("ONEDNN_MAX_CPU_ISA")
    try:
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"
        if not np.array_equal(run_driver(bf16_model, tokens, compute=None)[0], runs["f32"]):
            raise Fail("with oneDNN held to AVX512_CORE (no bf16 units) a BF16 checkpoint's default run is not float32")
        if cpu_has_bf16():
            os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE_BF16"
            no_amx = run_driver(bf16_model, tokens, compute="bf16")[0]
            err = rel_err(no_amx, runs["bf16"])
            print(f"  AVX512-BF16 kernels against the default ones: {err:.1e}")
            if not err <= TOL_BF16_EMULATED:
                raise Fail(f"oneDNN's AVX512-BF16 products differ from its default ones by {err:.3g}")
    finally:
        if saved is None:
            os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
        else:
            os.environ["ONEDNN_MAX_CPU_ISA"] = saved


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
    expect_error(variant("ntk", config={"rope_scaling": {"rope_type": "ntk", "factor": 4.0}}), "config.json", "ntk", "yarn, llama3")
    expect_error(variant("yarn-nofactor", config={"rope_scaling": {"rope_type": "yarn"}}), "config.json", "yarn", "factor")
    expect_error(variant("yarn-beta", config={"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": -3}}), "config.json", "beta_fast")
    expect_error(variant("yarn-truncate", config={"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "truncate": 1}}),
                 "config.json", "truncate")
    expect_error(variant("yarn-attention", config={"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "attention_factor": -2.0}}),
                 "config.json", "attention_factor")
    expect_error(variant("yarn-theta", config={"rope_theta": 1.0, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}),
                 "config.json", "rope_theta > 1")
    # transformers 5's per-layer-type parameters are refused, not read as no scaling
    expect_error(variant("per-layer", config={"rope_scaling": None, "rope_parameters": {
        "full_attention": {"rope_type": "linear", "factor": 8.0}, "sliding_attention": {"rope_type": "default"}}}),
        "config.json", "per layer type", "full_attention")
    # gpt_neox: int(16 * 0.1) = 1 dimension cannot be rotated in pairs; yarn is not supported
    expect_error(variant("neox-odd", base="gpt_neox", config={"rotary_pct": 0.1}), "config.json", "rotary_pct 0.1", "even")
    expect_error(variant("neox-yarn", base="gpt_neox", config={"rope_scaling": {"type": "yarn", "factor": 2.0}}),
                 "config.json", "yarn", "gpt_neox")
    expect_error(variant("neox-dynamic", base="gpt_neox", config={"rope_scaling": {"type": "dynamic", "factor": 2.0}}),
                 "config.json", "gpt_neox", "linear only")
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
