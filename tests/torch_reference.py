"""A plain-PyTorch forward pass for the architectures softent runs, written
from transformers' modeling_<arch>.py (which is not installed here and is
never imported): the oracle of tests/test_forward.py and the baseline of
bench/bench_forward.py.

    hidden, logits = forward(*load(model_dir), tokens, dtype=torch.float64)

hidden is transformers' output_hidden_states: L+1 tensors [n, d], the
embedding output, each block's output, and the last one after the final
norm.  Weights are read from the safetensors files as stored (F32, F16,
BF16) and computed in `dtype`; RoPE's frequencies and angles are float32,
as transformers computes them whatever the model's dtype.

Usage: /usr/bin/python3 tests/torch_reference.py MODEL_DIR TOKENS_FILE OUT_PREFIX
  (raw int32 tokens; writes OUT_PREFIX.hidden.npy and .logits.npy as
  tests/forward_driver does).
"""
import json
import math
import os
import sys

import numpy as np
import torch


# ---- files -------------------------------------------------------------------

def read_safetensors(path):
    """name -> float32 numpy array (exact for F16/BF16)."""
    with open(path, "rb") as f:
        blob = f.read()
    hlen = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + hlen])
    data = memoryview(blob)[8 + hlen:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        raw = data[e["data_offsets"][0]:e["data_offsets"][1]]
        if e["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name}: dtype {e['dtype']}")
        out[name] = a.reshape(e["shape"])
    return out


def load(model_dir):
    """(config dict, {name: float32 numpy array})."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    weights = {}
    for s in shards:
        weights.update(read_safetensors(os.path.join(model_dir, s)))
    return config, weights


# ---- pieces --------------------------------------------------------------------

def rms_norm(x, w, eps):
    # LlamaRMSNorm / Olmo2RMSNorm in full precision: x * rsqrt(mean(x^2) + eps) * w
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_inv_freq(config, head_dim):
    """modeling_rope_utils: default, linear and llama3 inverse frequencies (float32)."""
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    base = params.get("rope_theta", config.get("rope_theta", 10000.0))
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "linear":
        inv_freq = inv_freq / params["factor"]
    elif kind == "llama3":
        factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
        old_context_len = params["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low
        high_freq_wavelen = old_context_len / high
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low) / (high - low)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    elif kind != "default":
        raise ValueError(f"rope type {kind}")
    return inv_freq


def longrope_inv_freq(config, dim, n):
    """_compute_longrope_parameters with transformers' dynamic update: the
    long factors once n exceeds the original context; and the attention
    factor that scales cos and sin."""
    params = config.get("rope_parameters") or config.get("rope_scaling")
    base = config.get("rope_theta", 10000.0)
    original = params.get("original_max_position_embeddings") or config.get("original_max_position_embeddings")
    max_pos = config["max_position_embeddings"]
    factor = max_pos / original if original else params.get("factor")
    original = original or max_pos
    attention = params.get("attention_factor")
    if attention is None:
        attention = math.sqrt(1 + math.log(factor) / math.log(original)) if factor and factor > 1 else 1.0
    ext = torch.tensor(params["long_factor"] if n > original else params["short_factor"], dtype=torch.float32)
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)
    return 1.0 / (ext * pos_freqs), attention


def yarn_inv_freq(config, dim):
    """transformers 5's _compute_yarn_parameters: (inv_freq, attention factor)."""
    params = config.get("rope_parameters") or config.get("rope_scaling")
    base = params.get("rope_theta", config.get("rope_theta", 10000.0))
    original = params.get("original_max_position_embeddings") or config["max_position_embeddings"]
    factor = params.get("factor") or config["max_position_embeddings"] / original

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention = params.get("attention_factor")
    if attention is None:
        ms, ms_all = params.get("mscale"), params.get("mscale_all_dim")
        attention = mscale(factor, ms) / mscale(factor, ms_all) if ms and ms_all else mscale(factor)
    fast, slow = params.get("beta_fast") or 32, params.get("beta_slow") or 1

    def correction_dim(rotations):
        return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low, high = correction_dim(fast), correction_dim(slow)
    if params.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
    extrapolation, interpolation = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp
    return interpolation * (1 - keep) + extrapolation * keep, attention


def dynamic_inv_freq(config, dim, n):
    """_compute_dynamic_ntk_parameters at seq_len n: the base grown once n
    exceeds max_position_embeddings."""
    params = config.get("rope_parameters") or config.get("rope_scaling")
    base = params.get("rope_theta", config.get("rope_theta", 10000.0))
    max_pos, factor = config["max_position_embeddings"], params["factor"]
    seq_len = n if n > max_pos else max_pos
    base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def scaled_inv_freq(config, dim, n):
    """The inverse frequencies of an n-token sequence and the factor on cos and sin."""
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    kind = params.get("rope_type", params.get("type", "default"))
    if kind in ("longrope", "su"):
        return longrope_inv_freq(config, dim, n)
    if kind == "yarn":
        return yarn_inv_freq(config, dim)
    if kind == "dynamic":
        return dynamic_inv_freq(config, dim, n), 1.0
    return rope_inv_freq(config, dim), 1.0


def rope_cos_sin(inv_freq, n, dtype):
    # RotaryEmbedding.forward: float32 angles, emb = cat(freqs, freqs)
    positions = torch.arange(n, dtype=torch.float32)
    freqs = (inv_freq[:, None].float() @ positions[None, :]).transpose(0, 1)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def attention(q, k, v, scale, window=None, softcap=None):
    """eager_attention_forward on [heads, n, hd] q and [kv_heads, n, hd] k, v
    (gemma2's soft-capping of the scores before the mask); returns
    [n, heads * hd]."""
    groups = q.shape[0] // k.shape[0]
    k = k.repeat_interleave(groups, dim=0)  # repeat_kv
    v = v.repeat_interleave(groups, dim=0)
    n = q.shape[1]
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    allowed = j <= i  # causal_mask_function
    if window:
        allowed &= j > i - window  # sliding_window_overlay
    scores = torch.matmul(q, k.transpose(1, 2)) * scale
    if softcap:
        scores = torch.tanh(scores / softcap) * softcap
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, v).transpose(0, 1).reshape(n, -1)


ACT = {
    "silu": torch.nn.functional.silu,
    "gelu": torch.nn.functional.gelu,
    "gelu_pytorch_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    # NewGELUActivation
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "relu": torch.relu,
}


# With forward(..., bf16_products=True) each weight product's input and
# weight are rounded to bf16 first (round to nearest even), as softent's
# SOFTENT_COMPUTE_BF16 rounds them before its float32-accumulating bf16
# matmul; everything else stays in `dtype`.  The lm_head is not such a product.
_bf16_products = False


def product(y, w):
    """y @ w, a weight product."""
    if _bf16_products:
        y, w = (t.to(torch.bfloat16).to(t.dtype) for t in (y, w))
    return y @ w


# ---- architectures -------------------------------------------------------------

def gpt2_forward(config, W, tokens, dtype):
    g = lambda name: W[name] if name in W else W["transformer." + name]  # noqa: E731
    d, heads, eps = config["n_embd"], config["n_head"], config.get("layer_norm_epsilon", 1e-5)
    hd = d // heads
    act = ACT[config.get("activation_function", "gelu_new")]
    n = len(tokens)
    x = g("wte.weight")[tokens] + g("wpe.weight")[torch.arange(n)]
    hidden = [x]
    for l in range(config["n_layer"]):
        p = f"h.{l}."
        ln = lambda y, name: torch.nn.functional.layer_norm(y, (d,), g(p + name + ".weight"), g(p + name + ".bias"), eps)  # noqa: E731
        conv1d = lambda y, name: product(y, g(p + name + ".weight")) + g(p + name + ".bias")  # noqa: E731  Conv1D: x W + b
        qkv = conv1d(ln(x, "ln_1"), "attn.c_attn")
        q, k, v = (t.reshape(n, heads, hd).transpose(0, 1) for t in qkv.split(d, dim=-1))
        scale = 1.0 / math.sqrt(hd) if config.get("scale_attn_weights", True) else 1.0
        if config.get("scale_attn_by_inverse_layer_idx", False):
            scale /= l + 1
        x = x + conv1d(attention(q, k, v, scale), "attn.c_proj")
        x = x + conv1d(act(conv1d(ln(x, "ln_2"), "mlp.c_fc")), "mlp.c_proj")
        hidden.append(x)
    hidden[-1] = torch.nn.functional.layer_norm(x, (d,), g("ln_f.weight"), g("ln_f.bias"), eps)
    lm_head = g("wte.weight") if config.get("tie_word_embeddings", True) else W["lm_head.weight"]
    return hidden, hidden[-1] @ lm_head.T


def sliding_layers(config, arch):
    """Which layers use the sliding window (transformers' layer_types)."""
    L = config["num_hidden_layers"]
    if arch in ("mistral", "phi3"):
        window = config.get("sliding_window")
        return window, [window is not None] * L
    if arch in ("qwen2", "qwen3") and config.get("use_sliding_window", False) and config.get("sliding_window"):
        return config["sliding_window"], [i >= config.get("max_window_layers", L) for i in range(L)]
    if arch == "gemma2":  # layer_types: "sliding_attention" when (i + 1) % 2
        return config.get("sliding_window", 4096), [bool((i + 1) % 2) for i in range(L)]
    if arch == "gemma3_text":  # ... when (i + 1) % sliding_window_pattern
        pattern = config.get("sliding_window_pattern", 6)
        return config.get("sliding_window", 4096), [bool((i + 1) % pattern) for i in range(L)]
    return None, [False] * L


def llama_forward(config, W, tokens, dtype):
    """llama, mistral, qwen2, qwen3, olmo2, gemma."""
    arch = config["model_type"]
    g = lambda name: W["model." + name] if "model." + name in W else W[name]  # noqa: E731
    d, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    hd = config.get("head_dim") or d // heads
    eps = config.get("rms_norm_eps", 1e-5 if arch == "olmo2" else 1e-6)
    gemma = arch in ("gemma", "gemma2", "gemma3_text")
    # GemmaMLP: hidden_activation, else gelu_pytorch_tanh (hidden_act ignored)
    act = ACT[config.get("hidden_activation") or "gelu_pytorch_tanh"] if gemma else ACT[config.get("hidden_act", "silu")]
    if gemma:  # GemmaRMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w)
        plain_norm = rms_norm
        rms_norm_ = lambda x, w, eps: plain_norm(x, 1.0 + w, eps)  # noqa: E731
    else:
        rms_norm_ = rms_norm
    n = len(tokens)
    rot = int(hd * config.get("partial_rotary_factor", 1.0))  # phi3's partial rotation; all of the head else
    inv, scale = scaled_inv_freq(config, rot, n)
    cos, sin = rope_cos_sin(inv, n, dtype)
    if scale != 1.0:  # longrope's and yarn's attention factor
        cos, sin = cos * scale, sin * scale
    if arch == "gemma3_text":  # the sliding layers' rotary embedding: rope_local_base_freq, default RoPE
        local_cos, local_sin = rope_cos_sin(rope_inv_freq({"rope_theta": config.get("rope_local_base_freq", 10000.0)}, rot), n, dtype)
    window, slides = sliding_layers(config, arch)

    def linear(y, name):
        w = g(name + ".weight")
        return product(y, w.T) + (g(name + ".bias") if (("model." + name + ".bias") in W or (name + ".bias") in W) else 0)

    x = g("embed_tokens.weight")[tokens]
    if gemma:  # GemmaModel: the embeddings times sqrt(hidden_size) in the hidden states' dtype
        x = x * torch.tensor(d ** 0.5, dtype=x.dtype)
    hidden = [x]
    for l in range(config["num_hidden_layers"]):
        p = f"layers.{l}."

        def attn(h):
            if arch == "phi3":  # Phi3Attention: qkv_proj's output is q, then k, then v
                qkv = linear(h, p + "self_attn.qkv_proj")
                q, k, v = qkv[..., :heads * hd], qkv[..., heads * hd:(heads + kv_heads) * hd], qkv[..., (heads + kv_heads) * hd:]
            else:
                q, k, v = (linear(h, p + f"self_attn.{t}_proj") for t in "qkv")
            if arch == "olmo2":  # q_norm / k_norm over the whole projection
                q = rms_norm(q, g(p + "self_attn.q_norm.weight"), eps)
                k = rms_norm(k, g(p + "self_attn.k_norm.weight"), eps)
            q = q.reshape(n, heads, hd).transpose(0, 1)
            k = k.reshape(n, kv_heads, hd).transpose(0, 1)
            v = v.reshape(n, kv_heads, hd).transpose(0, 1)
            if arch in ("qwen3", "gemma3_text"):  # per head, before RoPE
                q = rms_norm_(q, g(p + "self_attn.q_norm.weight"), eps)
                k = rms_norm_(k, g(p + "self_attn.k_norm.weight"), eps)
            c, s_ = (local_cos, local_sin) if arch == "gemma3_text" and slides[l] else (cos, sin)
            # apply_rotary_pos_emb on the first rot dimensions, the rest passed through
            q = torch.cat((q[..., :rot] * c + rotate_half(q[..., :rot]) * s_, q[..., rot:]), dim=-1)
            k = torch.cat((k[..., :rot] * c + rotate_half(k[..., :rot]) * s_, k[..., rot:]), dim=-1)
            if arch in ("gemma2", "gemma3_text"):
                out = attention(q, k, v, config.get("query_pre_attn_scalar", 256) ** -0.5, window if slides[l] else None,
                                config.get("attn_logit_softcapping", 50.0 if arch == "gemma2" else None))
            else:
                out = attention(q, k, v, hd ** -0.5, window if slides[l] else None)
            return linear(out, p + "self_attn.o_proj")

        def mlp(h):
            if arch == "phi3":  # Phi3MLP: gate_up_proj's output chunks into gate, up
                gate, up = linear(h, p + "mlp.gate_up_proj").chunk(2, dim=-1)
                return linear(up * act(gate), p + "mlp.down_proj")
            return linear(act(linear(h, p + "mlp.gate_proj")) * linear(h, p + "mlp.up_proj"), p + "mlp.down_proj")

        if arch == "olmo2":
            x = x + rms_norm(attn(x), g(p + "post_attention_layernorm.weight"), eps)
            x = x + rms_norm(mlp(x), g(p + "post_feedforward_layernorm.weight"), eps)
        elif arch in ("gemma2", "gemma3_text"):  # Gemma2DecoderLayer, Gemma3DecoderLayer: a norm before and after each sublayer
            x = x + rms_norm_(attn(rms_norm_(x, g(p + "input_layernorm.weight"), eps)), g(p + "post_attention_layernorm.weight"), eps)
            x = x + rms_norm_(mlp(rms_norm_(x, g(p + "pre_feedforward_layernorm.weight"), eps)), g(p + "post_feedforward_layernorm.weight"), eps)
        else:
            x = x + attn(rms_norm_(x, g(p + "input_layernorm.weight"), eps))
            x = x + mlp(rms_norm_(x, g(p + "post_attention_layernorm.weight"), eps))
        hidden.append(x)
    hidden[-1] = rms_norm_(x, g("norm.weight"), eps)
    lm_head = g("embed_tokens.weight") if config.get("tie_word_embeddings", gemma) else W["lm_head.weight"]
    logits = hidden[-1] @ lm_head.T
    cap = config.get("final_logit_softcapping", 30.0) if arch == "gemma2" else None
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return hidden, logits


def gpt_neox_forward(config, W, tokens, dtype):
    """modeling_gpt_neox: GPTNeoXLayer with GPTNeoXAttention and GPTNeoXMLP."""
    g = lambda name: W["gpt_neox." + name] if "gpt_neox." + name in W else W[name]  # noqa: E731
    has = lambda name: ("gpt_neox." + name) in W or name in W  # noqa: E731
    d, heads = config["hidden_size"], config["num_attention_heads"]
    hd = d // heads
    rot = int(hd * config.get("rotary_pct", config.get("partial_rotary_factor", 0.25)))
    eps = config.get("layer_norm_eps", 1e-5)
    act = ACT[config.get("hidden_act", "gelu")]
    n = len(tokens)
    base = config.get("rotary_emb_base", config.get("rope_theta", 10000))
    # (rope_scaling: linear, the one kind gpt_neox takes)
    cos, sin = rope_cos_sin(rope_inv_freq({"rope_theta": base, "rope_scaling": config.get("rope_scaling")}, rot), n, dtype)

    def linear(y, name):
        return product(y, g(name + ".weight").T) + (g(name + ".bias") if has(name + ".bias") else 0)

    x = g("embed_in.weight")[tokens]
    hidden = [x]
    for l in range(config["num_hidden_layers"]):
        p = f"layers.{l}."
        ln = lambda y, name: torch.nn.functional.layer_norm(y, (d,), g(p + name + ".weight"), g(p + name + ".bias"), eps)  # noqa: E731

        def attn(h):
            qkv = linear(h, p + "attention.query_key_value").reshape(n, heads, 3 * hd).transpose(0, 1)
            q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
            # RoPE on the first rotary_ndims of each head, the rest passed through
            q = torch.cat((q[..., :rot] * cos + rotate_half(q[..., :rot]) * sin, q[..., rot:]), dim=-1)
            k = torch.cat((k[..., :rot] * cos + rotate_half(k[..., :rot]) * sin, k[..., rot:]), dim=-1)
            return linear(attention(q, k, v, hd ** -0.5), p + "attention.dense")

        def mlp(h):
            return linear(act(linear(h, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")

        if config.get("use_parallel_residual", True):
            x = mlp(ln(x, "post_attention_layernorm")) + attn(ln(x, "input_layernorm")) + x
        else:
            x = x + attn(ln(x, "input_layernorm"))
            x = x + mlp(ln(x, "post_attention_layernorm"))
        hidden.append(x)
    hidden[-1] = torch.nn.functional.layer_norm(x, (d,), g("final_layer_norm.weight"), g("final_layer_norm.bias"), eps)
    lm_head = g("embed_in.weight") if config.get("tie_word_embeddings", False) else W["embed_out.weight"]
    return hidden, hidden[-1] @ lm_head.T


def to_torch(weights, dtype):
    return {name: torch.from_numpy(np.array(a)).to(dtype) for name, a in weights.items()}


@torch.no_grad()
def forward(config, weights, tokens, dtype=torch.float64, bf16_products=False):
    """weights: numpy arrays (converted here) or tensors already in dtype."""
    global _bf16_products
    _bf16_products = bf16_products
    try:
        return _forward(config, weights, tokens, dtype)
    finally:
        _bf16_products = False


def _forward(config, weights, tokens, dtype):
    if weights and isinstance(next(iter(weights.values())), np.ndarray):
        weights = to_torch(weights, dtype)
    tokens = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    arch = config["model_type"]
    if arch == "gpt2":
        return gpt2_forward(config, weights, tokens, dtype)
    if arch in ("llama", "mistral", "qwen2", "qwen3", "olmo2", "gemma", "gemma2", "gemma3_text", "phi3"):
        return llama_forward(config, weights, tokens, dtype)
    if arch == "gpt_neox":
        return gpt_neox_forward(config, weights, tokens, dtype)
    raise ValueError(f"model_type {arch}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: torch_reference.py MODEL_DIR TOKENS_FILE OUT_PREFIX")
    config, weights = load(sys.argv[1])
    tokens = np.fromfile(sys.argv[2], dtype="<i4")
    hidden, logits = forward(config, weights, tokens)
    np.save(sys.argv[3] + ".hidden.npy", torch.cat(hidden).float().numpy())
    np.save(sys.argv[3] + ".logits.npy", logits.float().numpy())
