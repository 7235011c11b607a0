"""Small random Hugging Face model directories, one per architecture softent
runs, for tests/test_forward.py (and, scaled up, bench/bench_forward.py).

Usage: /usr/bin/python3 tests/make_models.py OUTDIR

Each OUTDIR/<name>/ holds config.json with transformers' field names and
model.safetensors (or two shards and model.safetensors.index.json) with
transformers' tensor names and layouts, as save_pretrained writes them.
The safetensors format is written here (8-byte little-endian header length,
JSON header, data): torch 1.13 has no writer.  Weights are seeded normals
scaled so that activations stay O(1) through the layers and the outputs are
far from zero; norm weights are near 1, biases small.

The set covers every branch of the C forward pass:
  gpt2          F32, Conv1D weights, learned positions, tied lm_head
  llama         BF16, llama3 rope_scaling, GQA 4/2, tied embeddings
  llama-linear  F16, linear rope_scaling, attention and MLP biases, untied
  mistral       F16, explicit head_dim, sliding_window 5 (shorter than the tests' sequences)
  qwen2         F32, q/k/v biases, sharded into two files
  qwen3         F32, head_dim 32 != hidden/heads, per-head q/k norms, tied,
                sliding window on layer 1 only (use_sliding_window, max_window_layers 1)
  olmo2         BF16, post-sublayer norms, full-width q/k norms
  gemma         BF16, RMSNorm by 1 + weight, embeddings times sqrt(d), gated
                gelu_pytorch_tanh (hidden_activation; hidden_act "gelu" is
                ignored, as transformers does), head_dim 32 != hidden/heads,
                one kv head, tied
  gemma2        F32, norms before and after each sublayer, soft-capped
                attention scores (2) and logits (3), query_pre_attn_scalar 24,
                a sliding window of 5 on even layers
  gemma3_text   F32, gemma2's norms with per-head q/k norms, one global layer
                in 2 (sliding_window_pattern), the sliding ones with their own
                RoPE base (rope_local_base_freq 100), the global one with
                rope_theta and linear scaling; no soft-capping
  phi3          BF16, stacked qkv_proj and gate_up_proj, GQA 4/2, RoPE on 3/4
                of each head (partial_rotary_factor), longrope scaling whose
                long factors apply past 32 tokens
  qwen2-yarn    F32, yarn rope_scaling (factor 4, original context 512,
                beta_fast 8: a ramp inside the head), attention factor 0.1 ln 4 + 1
  llama-yarn    F32, yarn in transformers 5's rope_parameters, DeepSeek's
                mscale / mscale_all_dim, truncate false
  mistral-dynamic  F32, dynamic NTK scaling past max_position_embeddings 32
  gpt_neox      F16, fused per-head query_key_value, RoPE on a quarter of each
                head (rotary_pct 0.25), parallel residual, untied embed_out
  gpt_neox-seq  F32, sequential residual, rotary_pct 0.5 and rotary_emb_base
                500, linear rope_scaling, attention_bias false
"""
import json
import os
import sys

import numpy as np

VOCAB = 300
D = 64
HEADS = 4
FF = 160


def to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns, rounding to nearest even."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def encode(array, dtype):
    """The stored bytes of a float array in safetensors dtype `dtype`."""
    if dtype == "F32":
        return np.ascontiguousarray(array, dtype="<f4").tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(array, dtype="<f2").tobytes()
    if dtype == "BF16":
        return to_bf16_bits(array).tobytes()
    if dtype == "F64":
        return np.ascontiguousarray(array, dtype="<f8").tobytes()
    if dtype == "I8":
        return np.ascontiguousarray(np.clip(np.round(array * 64), -128, 127), dtype="i1").tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtypes):
    """tensors: name -> float array; dtypes: name -> safetensors dtype."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        blob = encode(a, dtypes[name])
        header[name] = {"dtype": dtypes[name], "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # as the safetensors library pads it
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_model(outdir, config, tensors, dtype, shards=1, dtypes=None):
    """A model directory; dtypes overrides the dtype of single tensors."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    per = {name: dtype for name in tensors}
    per.update(dtypes or {})
    if shards == 1:
        write_safetensors(os.path.join(outdir, "model.safetensors"), tensors, per)
        return
    names = list(tensors)
    weight_map = {}
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = names[s * len(names) // shards:(s + 1) * len(names) // shards]
        write_safetensors(os.path.join(outdir, fname), {n: tensors[n] for n in part}, per)
        weight_map.update({n: fname for n in part})
    index = {"metadata": {"total_size": int(sum(tensors[n].size * 4 for n in names))}, "weight_map": weight_map}
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)


class Init:
    """Seeded weights: linear maps with unit-gain columns, norms near 1."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def linear(self, out_dim, in_dim, gain=1.0):  # nn.Linear layout [out, in]
        return (self.rng.standard_normal((out_dim, in_dim)) * gain / np.sqrt(in_dim)).astype(np.float32)

    def norm(self, n):
        return (1.0 + 0.2 * self.rng.standard_normal(n)).astype(np.float32)

    def bias(self, n):
        return (0.2 * self.rng.standard_normal(n)).astype(np.float32)

    def embed(self, rows, cols):
        return self.rng.standard_normal((rows, cols)).astype(np.float32)


def gpt2(seed=1, n_layer=2, d=D, heads=HEADS, vocab=VOCAB, n_positions=128):
    init = Init(seed)
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "n_embd": d, "n_head": heads, "n_layer": n_layer, "n_positions": n_positions, "n_ctx": n_positions,
        "n_inner": None, "vocab_size": vocab, "layer_norm_epsilon": 1e-5, "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02,
        "bos_token_id": vocab - 1, "eos_token_id": vocab - 1, "torch_dtype": "float32",
    }
    t = {"transformer.wte.weight": init.embed(vocab, d), "transformer.wpe.weight": 0.5 * init.embed(n_positions, d)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        # Conv1D stores [in, out]: the transpose of nn.Linear
        t[p + "ln_1.weight"], t[p + "ln_1.bias"] = init.norm(d), init.bias(d)
        t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = init.linear(3 * d, d).T.copy(), init.bias(3 * d)
        t[p + "attn.c_proj.weight"], t[p + "attn.c_proj.bias"] = init.linear(d, d).T.copy(), init.bias(d)
        t[p + "ln_2.weight"], t[p + "ln_2.bias"] = init.norm(d), init.bias(d)
        t[p + "mlp.c_fc.weight"], t[p + "mlp.c_fc.bias"] = init.linear(4 * d, d).T.copy(), init.bias(4 * d)
        t[p + "mlp.c_proj.weight"], t[p + "mlp.c_proj.bias"] = init.linear(d, 4 * d).T.copy(), init.bias(d)
    t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = init.norm(d), init.bias(d)
    return config, t


ARCH_CLASS = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
              "qwen3": "Qwen3ForCausalLM", "olmo2": "Olmo2ForCausalLM", "gemma": "GemmaForCausalLM",
              "gemma2": "Gemma2ForCausalLM", "gemma3_text": "Gemma3ForCausalLM"}


def llama_family(arch, seed, n_layers=2, d=D, heads=HEADS, kv_heads=2, head_dim=None, ff=FF, vocab=VOCAB,
                 tie=False, attention_bias=False, mlp_bias=False, extra=None):
    """A llama-like model: the tensors its architecture has, and its config."""
    init = Init(seed)
    hd = head_dim or d // heads
    config = {
        "architectures": [ARCH_CLASS[arch]], "model_type": arch, "hidden_size": d, "intermediate_size": ff,
        "num_hidden_layers": n_layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-6 if arch != "olmo2" else 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": tie, "vocab_size": vocab, "initializer_range": 0.02,
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "use_cache": True, "torch_dtype": "float32",
    }
    if head_dim:
        config["head_dim"] = head_dim
    if arch in ("llama", "qwen3", "olmo2", "gemma", "gemma2", "gemma3_text"):
        config["attention_bias"] = attention_bias
    if arch == "llama":
        config["mlp_bias"] = mlp_bias
    config.update(extra or {})
    qkv_bias = arch == "qwen2" or attention_bias
    t = {"model.embed_tokens.weight": init.embed(vocab, d)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        if arch in ("olmo2", "gemma2", "gemma3_text"):
            t[p + "post_attention_layernorm.weight"] = init.norm(d)
            t[p + "post_feedforward_layernorm.weight"] = init.norm(d)
        if arch in ("gemma2", "gemma3_text"):
            t[p + "input_layernorm.weight"] = init.norm(d)
            t[p + "pre_feedforward_layernorm.weight"] = init.norm(d)
        elif arch != "olmo2":
            t[p + "input_layernorm.weight"] = init.norm(d)
            t[p + "post_attention_layernorm.weight"] = init.norm(d)
        for name, rows in (("q", heads * hd), ("k", kv_heads * hd), ("v", kv_heads * hd)):
            # gain 2 on q/k keeps attention from being uniform
            t[p + f"self_attn.{name}_proj.weight"] = init.linear(rows, d, gain=2.0 if name != "v" else 1.0)
            if qkv_bias:
                t[p + f"self_attn.{name}_proj.bias"] = init.bias(rows)
        t[p + "self_attn.o_proj.weight"] = init.linear(d, heads * hd)
        if attention_bias:
            t[p + "self_attn.o_proj.bias"] = init.bias(d)
        if arch in ("qwen3", "gemma3_text"):
            t[p + "self_attn.q_norm.weight"], t[p + "self_attn.k_norm.weight"] = init.norm(hd), init.norm(hd)
        if arch == "olmo2":
            t[p + "self_attn.q_norm.weight"] = init.norm(heads * hd)
            t[p + "self_attn.k_norm.weight"] = init.norm(kv_heads * hd)
        for name, shape in (("gate", (ff, d)), ("up", (ff, d)), ("down", (d, ff))):
            t[p + f"mlp.{name}_proj.weight"] = init.linear(*shape, gain=1.5)
            if mlp_bias:
                t[p + f"mlp.{name}_proj.bias"] = init.bias(shape[0])
    t["model.norm.weight"] = init.norm(d)
    if not tie:
        t["lm_head.weight"] = init.linear(vocab, d, gain=4.0)
    if arch in ("gemma", "gemma2", "gemma3_text"):  # GemmaRMSNorm scales by 1 + weight: its weights are stored less 1
        for name in t:
            if name.endswith("norm.weight"):
                t[name] = t[name] - 1
    return config, t


def gpt_neox(seed, n_layers=2, d=D, heads=HEADS, ff=FF, vocab=VOCAB, extra=None):
    """A GPT-NeoX (Pythia) model: query_key_value's rows are, head by head,
    that head's q, k and v (its output is viewed as [heads, 3, head_size])."""
    init = Init(seed)
    config = {
        "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": d, "intermediate_size": ff,
        "num_hidden_layers": n_layers, "num_attention_heads": heads, "hidden_act": "gelu", "rotary_pct": 0.25,
        "rotary_emb_base": 10000, "max_position_embeddings": 256, "layer_norm_eps": 1e-5, "use_parallel_residual": True,
        "tie_word_embeddings": False, "vocab_size": vocab, "initializer_range": 0.02, "bos_token_id": 0, "eos_token_id": 0,
        "use_cache": True, "torch_dtype": "float32",
    }
    config.update(extra or {})
    bias = config.get("attention_bias", True)
    t = {"gpt_neox.embed_in.weight": init.embed(vocab, d)}
    for i in range(n_layers):
        p = f"gpt_neox.layers.{i}."
        t[p + "input_layernorm.weight"], t[p + "input_layernorm.bias"] = init.norm(d), init.bias(d)
        t[p + "post_attention_layernorm.weight"], t[p + "post_attention_layernorm.bias"] = init.norm(d), init.bias(d)
        t[p + "attention.query_key_value.weight"] = init.linear(3 * d, d, gain=2.0)
        t[p + "attention.dense.weight"] = init.linear(d, d)
        if bias:
            t[p + "attention.query_key_value.bias"], t[p + "attention.dense.bias"] = init.bias(3 * d), init.bias(d)
        t[p + "mlp.dense_h_to_4h.weight"], t[p + "mlp.dense_h_to_4h.bias"] = init.linear(ff, d, gain=1.5), init.bias(ff)
        t[p + "mlp.dense_4h_to_h.weight"], t[p + "mlp.dense_4h_to_h.bias"] = init.linear(d, ff, gain=1.5), init.bias(d)
    t["gpt_neox.final_layer_norm.weight"], t["gpt_neox.final_layer_norm.bias"] = init.norm(d), init.bias(d)
    t["embed_out.weight"] = init.linear(vocab, d, gain=4.0)
    return config, t


def phi3(seed, n_layers=2, d=D, heads=HEADS, kv_heads=2, ff=FF, vocab=VOCAB, extra=None):
    """A Phi-3 model: qkv_proj stacks q, k and v; gate_up_proj gate and up."""
    init = Init(seed)
    hd = d // heads
    config = {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": d, "intermediate_size": ff,
        "num_hidden_layers": n_layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads, "hidden_act": "silu",
        "max_position_embeddings": 4096, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "vocab_size": vocab, "sliding_window": None, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    config.update(extra or {})
    t = {"model.embed_tokens.weight": init.embed(vocab, d)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"], t[p + "post_attention_layernorm.weight"] = init.norm(d), init.norm(d)
        t[p + "self_attn.qkv_proj.weight"] = init.linear((heads + 2 * kv_heads) * hd, d, gain=2.0)
        t[p + "self_attn.o_proj.weight"] = init.linear(d, heads * hd)
        t[p + "mlp.gate_up_proj.weight"] = init.linear(2 * ff, d, gain=1.5)
        t[p + "mlp.down_proj.weight"] = init.linear(d, ff, gain=1.5)
    t["model.norm.weight"] = init.norm(d)
    t["lm_head.weight"] = init.linear(vocab, d, gain=4.0)
    return config, t


def longrope(seed, half):
    rng = np.random.default_rng(seed)
    return {"type": "longrope", "short_factor": [float(x) for x in 1 + rng.random(half)],
            "long_factor": [float(x) for x in 1 + 3 * rng.random(half)]}


# name -> (build function, stored dtype, shards)
MODELS = {
    "gpt2": (lambda: gpt2(), "F32", 1),
    "llama": (lambda: llama_family("llama", 2, n_layers=3, tie=True, extra={
        "rope_theta": 500000.0,
        # original_max_position_embeddings 32 puts the wavelength thresholds
        # (32 and 8) inside this head_dim's range: all three bands are used
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 32}}), "BF16", 1),
    "llama-linear": (lambda: llama_family("llama", 3, kv_heads=4, attention_bias=True, mlp_bias=True, extra={
        "rope_scaling": {"type": "linear", "factor": 2.0}}), "F16", 1),
    "mistral": (lambda: llama_family("mistral", 4, head_dim=16, extra={"sliding_window": 5}), "F16", 1),
    "qwen2": (lambda: llama_family("qwen2", 5, extra={
        "rope_theta": 1000000.0, "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 2}), "F32", 2),
    "qwen3": (lambda: llama_family("qwen3", 6, head_dim=32, tie=True, extra={
        "rope_theta": 1000000.0, "use_sliding_window": True, "sliding_window": 6, "max_window_layers": 1}), "F32", 1),
    "olmo2": (lambda: llama_family("olmo2", 7, extra={"rope_theta": 500000.0}), "BF16", 1),
    "gemma": (lambda: llama_family("gemma", 10, kv_heads=1, head_dim=32, tie=True, extra={
        "hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192}), "BF16", 1),
    "gemma2": (lambda: llama_family("gemma2", 11, n_layers=3, head_dim=32, tie=True, extra={
        "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 24, "attn_logit_softcapping": 2.0,
        "final_logit_softcapping": 3.0, "sliding_window": 5}), "F32", 1),
    "gemma3": (lambda: llama_family("gemma3_text", 14, n_layers=3, head_dim=32, tie=True, extra={
        "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 24, "sliding_window": 5, "sliding_window_pattern": 2,
        "rope_theta": 50000.0, "rope_local_base_freq": 100.0, "rope_scaling": {"rope_type": "linear", "factor": 2.0}}), "F32", 1),
    # longrope with an original context of 32: the tests' 70 tokens take the long factors, 9 the short
    "phi3": (lambda: phi3(12, extra={"partial_rotary_factor": 0.75, "max_position_embeddings": 128,
                                    "original_max_position_embeddings": 32, "rope_scaling": longrope(13, 6)}), "BF16", 1),
    # yarn: base 100 and an original context of 512 put the ramp (beta_fast 8
    # to beta_slow 1: half-dimensions 8 to 16) inside the head's 16
    "qwen2-yarn": (lambda: llama_family("qwen2", 15, head_dim=32, extra={
        "rope_theta": 100.0, "max_position_embeddings": 2048,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 512, "beta_fast": 8}}), "F32", 1),
    # transformers 5's rope_parameters, DeepSeek's mscale ratio, the ramp's ends not rounded
    "llama-yarn": (lambda: llama_family("llama", 16, head_dim=32, extra={
        "max_position_embeddings": 4096, "rope_parameters": {
            "rope_type": "yarn", "rope_theta": 100.0, "factor": 8.0, "original_max_position_embeddings": 512, "beta_fast": 8,
            "mscale": 1.0, "mscale_all_dim": 0.5, "truncate": False}}), "F32", 1),
    # dynamic NTK: the tests' 70 tokens exceed max_position_embeddings 32 (a grown base), 1 and 9 do not
    "mistral-dynamic": (lambda: llama_family("mistral", 17, head_dim=16, extra={
        "max_position_embeddings": 32, "rope_scaling": {"type": "dynamic", "factor": 2.0}}), "F32", 1),
    "gpt_neox": (lambda: gpt_neox(8, n_layers=3), "F16", 1),
    "gpt_neox-seq": (lambda: gpt_neox(9, extra={"use_parallel_residual": False, "rotary_pct": 0.5, "rotary_emb_base": 500,
                                               "rope_scaling": {"type": "linear", "factor": 2.0},
                                               "attention_bias": False}), "F32", 1),
}


def make(outdir, names=None):
    """Write the models named (all by default); returns {name: directory}."""
    dirs = {}
    for name in names or MODELS:
        build, dtype, shards = MODELS[name]
        config, tensors = build()
        config["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
        dirs[name] = os.path.join(outdir, name)
        write_model(dirs[name], config, tensors, dtype, shards)
    return dirs


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_models.py OUTDIR")
    for name, path in make(sys.argv[1]).items():
        print(name, path)
