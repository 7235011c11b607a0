"""softent's GGUF support (include/softent_gguf.h) against llama.cpp itself:
every supported block type dequantised bit for bit as libggml-base's own
dequantize_row_* (blocks made by ggml's quantize_row_*_ref, and random
blocks), F16/BF16 as ggml's row converters; files written by llama.cpp's
gguf-py (every metadata type, arrays, tensors of every supported type)
read back to the values written; every validation rule refusing a hostile
file with a message, never a crash (tests/gguf_driver.c runs the reader,
so the ASan build checks it too); GGUF models (written as llama.cpp's
converter writes them, q/k permuted) running to the hidden states of the
safetensors model of the same weights (gptneox's regrouped
query_key_value too, and its states against llama.cpp's), and analyze on one equal to analyze
on that directory; the tokenizers restated from the metadata equal to the
llama.cpp vocabularies' Hugging Face test vectors.

Needs the npm fixtures (scripts/install-npm-fixtures.sh): the prebuilt
libggml-base.so and the llama.cpp source's gguf-py."""
import ctypes
import json
import os
import struct
import subprocess
import sys
import unicodedata

import numpy as np

from common import BUILD, Fail, main, run_process, tmp

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA = os.path.join(HERE, "npm", "llama.cpp")
GGML_BASE = os.path.join(HERE, "npm", "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-base.so")
sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
import gguf  # noqa: E402

DRIVER = os.path.join(BUILD, "tests", "gguf_driver")
# type: (ggml's number, elements a block, bytes a block, offsets of the block's f16 scales)
BLOCKS = {"q4_0": (2, 32, 18, [0]), "q4_1": (3, 32, 20, [0, 2]), "q5_0": (6, 32, 22, [0]), "q5_1": (7, 32, 24, [0, 2]),
          "q8_0": (8, 32, 34, [0]), "q2_K": (10, 256, 84, [80, 82]), "q3_K": (11, 256, 110, [108]),
          "q4_K": (12, 256, 144, [0, 2]), "q5_K": (13, 256, 176, [0, 2]), "q6_K": (14, 256, 210, [208])}


def ggml():
    lib = ctypes.CDLL(GGML_BASE)
    for name in BLOCKS:
        for f in (f"quantize_row_{name}_ref", f"dequantize_row_{name}"):
            getattr(lib, f).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
            getattr(lib, f).restype = None
    for f in ("ggml_fp16_to_fp32_row", "ggml_bf16_to_fp32_row"):
        getattr(lib, f).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    return lib


def driver(*args, ok=True):
    return run_process([DRIVER, *map(str, args)], "gguf_driver " + " ".join(map(str, args)), ok=ok)


def softent_dequantize(type_id, blocks):
    src, out = tmp("blocks.bin"), tmp("blocks.f32")
    blocks.tofile(src)
    driver("--dequantize", type_id, src, out)
    return np.fromfile(out, dtype=np.float32)


def same_bits(what, got, want):
    g, w = got.view(np.uint32), want.view(np.uint32)
    if g.shape != w.shape:
        raise Fail(f"{what}: {g.shape} values vs {w.shape}")
    bad = np.flatnonzero((g != w) & ~(np.isnan(got) & np.isnan(want)))
    if len(bad):
        i = bad[0]
        raise Fail(f"{what}: {len(bad)} of {len(g)} values differ from ggml's, first at {i}: {got[i]!r} vs {want[i]!r}")


def check_dequantization_equals_ggml_bit_for_bit():
    lib = ggml()
    rng = np.random.default_rng(0)
    for name, (type_id, qk, size, scales) in BLOCKS.items():
        n_blocks = 64
        n = n_blocks * qk
        # blocks from ggml's quantiser, on values of many scales and signs
        x = (rng.standard_normal(n) * np.repeat(10.0 ** rng.uniform(-3, 2, n // 32), 32)).astype(np.float32)
        q = np.zeros(n_blocks * size, dtype=np.uint8)
        getattr(lib, f"quantize_row_{name}_ref")(x.ctypes.data, q.ctypes.data, n)
        # and random bytes with finite f16 scales: every bit pattern of the quants
        r = rng.integers(0, 256, n_blocks * size, dtype=np.uint8).reshape(n_blocks, size)
        for off in scales:
            r[:, off:off + 2] = np.frombuffer(rng.standard_normal(n_blocks).astype(np.float16).tobytes(), np.uint8).reshape(n_blocks, 2)
        for label, blocks in (("quantized", q), ("random", r.reshape(-1))):
            want = np.zeros(n, dtype=np.float32)
            getattr(lib, f"dequantize_row_{name}")(blocks.ctypes.data, want.ctypes.data, n)
            same_bits(f"{name} ({label} blocks)", softent_dequantize(type_id, blocks), want)
    for name, type_id, fn in (("f16", 1, "ggml_fp16_to_fp32_row"), ("bf16", 30, "ggml_bf16_to_fp32_row")):
        bits = rng.integers(0, 65536, 4096, dtype=np.uint16)
        want = np.zeros(4096, dtype=np.float32)
        getattr(lib, fn)(bits.ctypes.data, want.ctypes.data, 4096)
        same_bits(name, softent_dequantize(type_id, bits.view(np.uint8)), want)


def write_gguf(path, tensors, extra_keys=True):
    w = gguf.GGUFWriter(path, "llama")
    if extra_keys:
        w.add_uint8("t.u8", 200)
        w.add_int8("t.i8", -100)
        w.add_uint16("t.u16", 60000)
        w.add_int16("t.i16", -30000)
        w.add_uint32("t.u32", 4000000000)
        w.add_int32("t.i32", -2000000000)
        w.add_float32("t.f32", 0.1)
        w.add_bool("t.bool", True)
        w.add_string("t.string", "héllo wörld")
        w.add_uint64("t.u64", 2 ** 62 + 1)
        w.add_int64("t.i64", -(2 ** 62) - 3)
        w.add_float64("t.f64", 1 / 3)
        w.add_array("t.ints", [1, -2, 3])
        w.add_array("t.strings", ["a", "", "ünïcode", "x" * 300])
    for name, (arr, qtype) in tensors.items():
        w.add_tensor(name, arr, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tensors_of_every_type(rng):
    out, want = {}, {}
    lib = ggml()
    shape = (3, 512)
    x = rng.standard_normal(shape).astype(np.float32)
    out["f32"], want["f32"] = (x, None), x
    out["f16"], want["f16"] = (x.astype(np.float16), None), x.astype(np.float16).astype(np.float32)
    for name, (type_id, qk, size, _) in BLOCKS.items():
        n = x.size
        q = np.zeros(n // qk * size, dtype=np.uint8)
        getattr(lib, f"quantize_row_{name}_ref")(x.ctypes.data, q.ctypes.data, n)
        deq = np.zeros(n, dtype=np.float32)
        getattr(lib, f"dequantize_row_{name}")(q.ctypes.data, deq.ctypes.data, n)
        out[f"t_{name}"] = (q.reshape(shape[0], -1), gguf.GGMLQuantizationType(type_id))
        want[f"t_{name}"] = deq.reshape(shape)
    return out, want


def check_reads_what_gguf_py_wrote():
    rng = np.random.default_rng(1)
    tensors, want = tensors_of_every_type(rng)
    path, outdir = tmp("every.gguf"), tmp("every_out")
    os.makedirs(outdir, exist_ok=True)
    write_gguf(path, tensors)
    got = json.loads(driver(path, outdir).stdout)
    if got["version"] != 3:
        raise Fail(f"version {got['version']}")
    k = got["keys"]
    expect = {"t.u8": 200, "t.i8": -100, "t.u16": 60000, "t.i16": -30000, "t.u32": 4000000000, "t.i32": -2000000000,
              "t.bool": 1, "t.string": "héllo wörld", "t.u64": 2 ** 62 + 1, "t.i64": -(2 ** 62) - 3, "t.ints": [1, -2, 3],
              "t.strings": ["a", "", "ünïcode", "x" * 300], "general.architecture": "llama"}
    for key, value in expect.items():
        if k[key]["value"] != value:
            raise Fail(f"key {key}: {k[key]['value']!r}, written {value!r}")
    if abs(k["t.f32"]["value"] - np.float32(0.1)) > 0 or abs(k["t.f64"]["value"] - 1 / 3) > 0:
        raise Fail(f"floats {k['t.f32']['value']} {k['t.f64']['value']}")
    for i, t in enumerate(got["tensors"]):
        w = want[t["name"]]
        if t["ne"] != [w.shape[1], w.shape[0]]:
            raise Fail(f"{t['name']}: ne {t['ne']}, want {[w.shape[1], w.shape[0]]} (ggml's order)")
        same_bits(t["name"], np.fromfile(os.path.join(outdir, f"{i}.f32"), dtype=np.float32).reshape(w.shape), w)


def header(n_tensors, n_kv, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def tensor_info(name, dims, type_id, offset):
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", type_id, offset)


def pad(b, align=32):
    return b + b"\0" * ((-len(b)) % align)


def write(name, data):
    path = tmp(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def refuse(name, data, *words):
    p = driver(write(name + ".gguf", data), ok=False)
    if p.returncode != 1:
        raise Fail(f"{name}: exit {p.returncode}, want 1 with a message; stderr {p.stderr[-300:]!r}")
    for w in words:
        if w not in p.stderr:
            raise Fail(f"{name}: message {p.stderr.strip()!r} does not mention {w!r}")


def check_hostile_files_are_refused():
    one = tensor_info("w", [32], 0, 0)
    ok = pad(header(1, 0) + one) + b"\0" * 128
    driver(write("ok.gguf", ok))
    refuse("magic", b"GGUX" + ok[4:], "not a GGUF")
    refuse("v1", header(1, 0, version=1) + ok[24:], "version 1")
    refuse("v4", header(1, 0, version=4) + ok[24:], "version 4")
    refuse("short", ok[:10], "too short")
    refuse("many_keys", header(0, 10 ** 12) + b"\0" * 64, "keys")
    refuse("many_tensors", header(10 ** 12, 0) + b"\0" * 64, "tensors")
    refuse("long_key", header(0, 1) + struct.pack("<Q", 10 ** 15) + b"k", "claims")
    refuse("bad_value_type", header(0, 1) + gstr("k") + struct.pack("<I", 13) + b"\0" * 8, "'k'", "value type 13")
    refuse("nested", header(0, 1) + gstr("k") + struct.pack("<IIQ", 9, 9, 1) + b"\0" * 16, "array of arrays")
    refuse("long_array", header(0, 1) + gstr("k") + struct.pack("<IIQ", 9, 5, 10 ** 12) + b"\0" * 16, "'k'", "elements")
    refuse("long_string_array", header(0, 1) + gstr("k") + struct.pack("<IIQ", 9, 8, 2) + gstr("a") + struct.pack("<Q", 10 ** 9), "'k'", "claims")
    dup = header(0, 2) + gstr("k") + struct.pack("<IB", 0, 1) + gstr("k") + struct.pack("<IB", 0, 2)
    refuse("dup_key", dup, "'k'", "twice")
    refuse("alignment", header(0, 1) + gstr("general.alignment") + struct.pack("<II", 4, 24), "power of two")
    refuse("alignment_type", header(0, 1) + gstr("general.alignment") + struct.pack("<IQ", 10, 32), "u32")
    refuse("dims", pad(header(1, 0) + tensor_info("w", [1] * 5, 0, 0)) + b"\0" * 64, "'w'", "5 dimensions")
    refuse("overflow", pad(header(1, 0) + tensor_info("w", [2 ** 32, 2 ** 32], 0, 0)) + b"\0" * 64, "'w'", "overflows")
    refuse("u64_dim", pad(header(1, 0) + tensor_info("w", [2 ** 63], 0, 0)) + b"\0" * 64, "'w'", "overflows")
    refuse("unknown_type", pad(header(1, 0) + tensor_info("w", [32], 99, 0)) + b"\0" * 64, "'w'", "type 99")
    refuse("block", pad(header(1, 0) + tensor_info("w", [33], 8, 0)) + b"\0" * 64, "'w'", "Q8_0", "32-element blocks")
    refuse("misaligned", pad(header(1, 0) + tensor_info("w", [8], 0, 4)) + b"\0" * 64, "'w'", "alignment")
    refuse("past_end", pad(header(1, 0) + tensor_info("w", [64], 0, 0)) + b"\0" * 100, "'w'", "past the end")
    refuse("offset_past_end", pad(header(1, 0) + tensor_info("w", [8], 0, 2 ** 62)) + b"\0" * 64, "'w'", "past the end")
    driver(write("two.gguf", pad(header(2, 0) + tensor_info("a", [16], 0, 0) + tensor_info("b", [16], 0, 64)) + b"\0" * 128))
    refuse("overlap", pad(header(2, 0) + tensor_info("a", [16], 0, 0) + tensor_info("b", [16], 0, 32)) + b"\0" * 128, "overlap")
    refuse("dup_tensor", pad(header(2, 0) + tensor_info("a", [8], 0, 0) + tensor_info("a", [8], 0, 32)) + b"\0" * 128, "'a'", "twice")
    refuse("long_name", pad(header(1, 0) + tensor_info("x" * 64, [8], 0, 0)) + b"\0" * 64, "1 to 63 bytes")
    # an unsupported type opens (its metadata is readable) but is refused by name when read
    iq = write("iq.gguf", pad(header(1, 0) + tensor_info("w", [256], 16, 0)) + b"\0" * 128)
    driver(iq)
    p = driver(iq, tmp(""), ok=False)
    if p.returncode != 1 or "IQ2_XXS" not in p.stderr or "'w'" not in p.stderr:
        raise Fail(f"reading an IQ2_XXS tensor: exit {p.returncode}, {p.stderr.strip()!r}")
    # every prefix of a valid file is refused cleanly
    path = tmp("every.gguf")
    if not os.path.exists(path):
        write_gguf(path, {"w": (np.ones((2, 32), np.float32), None)})
    data = open(path, "rb").read()
    for cut in list(range(0, min(len(data), 400), 7)) + [len(data) - 33]:  # (the last 31 bytes may be padding)
        p = driver(write("cut.gguf", data[:cut]), ok=False)
        if p.returncode != 1:
            raise Fail(f"a file cut at {cut} of {len(data)} bytes: exit {p.returncode}, {p.stderr[-200:]!r}")


HF_TO_GGUF = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight",
              "rope_freqs.weight": "rope_freqs.weight"}
BLOCK = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
         "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def gguf_name(hf):
    if hf in HF_TO_GGUF:
        return HF_TO_GGUF[hf]
    _, _, layer, rest = hf.split(".", 3)
    for k, v in BLOCK.items():
        if rest == k or rest.startswith(k + "."):
            return f"blk.{layer}.{v}{rest[len(k):]}"
    raise ValueError(hf)


def llama_permute(w, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rows (j, j + hd/2) interleaved."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_unpermute(w, heads):
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def quantize(lib, name, w):
    """w's rows through ggml's quantize_row_<name>_ref: (block bytes, the values ggml gives back)."""
    type_id, qk, size, _ = BLOCKS[name]
    x = np.ascontiguousarray(w, dtype=np.float32)
    q = np.zeros(x.size // qk * size, dtype=np.uint8)
    getattr(lib, f"quantize_row_{name}_ref")(x.ctypes.data, q.ctypes.data, x.size)
    back = np.zeros(x.size, dtype=np.float32)
    getattr(lib, f"dequantize_row_{name}")(q.ctypes.data, back.ctypes.data, x.size)
    return q.reshape(w.shape[0], -1), back.reshape(w.shape), gguf.GGMLQuantizationType(type_id)


NPM_BINS = os.path.join(HERE, "npm", "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64")


def check_hidden_states_equal_llama_cpp():
    """Every block's output and the final norm's, softent's against llama.cpp's
    own (l_out-N and result_norm through cb_eval, KV cache and attention in
    float32): 1e-4 relative for F32 GGUF files, as the issue asks.  For
    Q8_0 llama.cpp's CPU backend quantises the activations to Q8_0 too
    before each product, softent multiplies the dequantised weights in
    float32; the states then differ by that activation rounding (1 to 8 %
    at worst on these small random models), bounded here at 1e-1; the exact
    check of what softent reads from a quantised file is the
    safetensors comparison above."""
    sys.path.insert(0, HERE)
    import make_models
    exe = oracle_program("llama_states")
    rng = np.random.default_rng(6)
    tokens = rng.integers(0, 299, 48)
    tokens.astype("<i4").tofile(tmp("llama_tokens.bin"))
    models = {"llama": make_models.llama_family("llama", 12, kv_heads=2), "qwen2": make_models.llama_family("qwen2", 5),
              "llama3": make_models.MODELS["llama"][0](), "olmo2": make_models.llama_family("olmo2", 7, kv_heads=2),
              "gpt2": make_models.gpt2(seed=9),
              # rows of 256 and 512 for the K-quants' 256-value blocks
              "llama-wide": make_models.llama_family("llama", 13, d=256, heads=4, kv_heads=2, ff=512),
              "phi3": make_models.MODELS["phi3"][0](), **gemma_models(make_models),
              # yarn: base 100 and an original context of 512 put the ramp (half-dimensions 1 to 8) inside
              # the head's 8 (llama.cpp's qwen2 has no head_dim of its own, so the fixture's 32 would not
              # load, and reads no yarn_beta_fast: it takes 32, as here)
              "qwen2-yarn": make_models.llama_family("qwen2", 15, extra={
                  "rope_theta": 100.0, "max_position_embeddings": 2048,
                  "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 512}})}
    worst = {}
    for arch, (config, tensors) in models.items():
        # gpt2 and gemma: llama.cpp takes GELU from an F16 table (as for gptneox below), transformers' tanh form exactly
        # (2.8e-4 and 1.7e-4 seen).
        # F16: llama.cpp rounds the activations to F16 for the product too (1e-3 seen); a K-quant's to Q8_K,
        # one scale a 256 values where Q8_0 has one a 32, so coarser (5e-2 seen; what softent reads of a K-quant
        # file is checked exactly against the safetensors model in check_gguf_models_equal_their_safetensors)
        quants = ((None, 3e-3 if arch == "gpt2" else 1e-3 if arch.startswith("gemma") else 1e-4), ("q8_0", 1e-1))
        if arch == "llama-wide":
            quants = ((None, 1e-4), ("f16", 1e-2), ("q4_K", 1e-1), ("q6_K", 1e-1))
        for quant, tol in quants:
            path = tmp(f"oracle-{arch}-{quant}.gguf")
            write_gguf_model(path, config, tensors, quant, tokenizer=True)
            p = run_process([exe, NPM_BINS, path, tmp("llama_tokens.bin"), tmp("llama")], f"llama_states {path}")
            L, d, n = map(int, p.stdout.split())
            theirs = np.fromfile(tmp("llama.f32"), dtype=np.float32).reshape(L + 1, n, d)
            ours = hidden_states(path, tokens).reshape(L + 1, n, d)
            for l in range(L + 1):
                # llama.cpp's l_out-(L-1) comes before the final norm; transformers' last state after it
                mine = ours[l + 1] if l < L - 1 else ours[L] if l == L else None
                if mine is None:
                    continue
                err = np.abs(theirs[l] - mine).max() / np.abs(mine).max()
                worst[f"{arch} {quant or 'F32'}"] = max(err, worst.get(f"{arch} {quant or 'F32'}", 0))
                if not err < tol:
                    what = "the final norm" if l == L else f"block {l}"
                    raise Fail(f"{arch} {quant or 'F32'}: {what}'s output differs from llama.cpp's by {err:.2e} relative (tolerance {tol})")
    print("  worst relative difference from llama.cpp: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


def oracle_program(name):
    """tests/oracle/NAME.c built against the prebuilt libllama and the
    headers of the same llama.cpp source (once)."""
    exe = tmp(name)
    if not os.path.exists(exe):
        libs = [os.path.join(NPM_BINS, n) for n in ("libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so")]
        subprocess.run(["cc", "-O1", "-I", os.path.join(LLAMA, "include"), "-I", os.path.join(LLAMA, "ggml", "include"),
                        os.path.join(HERE, "oracle", name + ".c"), "-o", exe, *libs, "-Wl,-rpath," + NPM_BINS], check=True)
    return exe


def check_tokenizers_equal_llama_tokenize_on_a_megabyte():
    """The restated vocabularies on the tokenizer tests' >= 1 MB corpus of
    this machine's text (tests/make_corpus.py), a document a line: softent's
    ids equal llama_tokenize's for every line.  llama.cpp leaves out the
    NFC normalizer of qwen2's, mpt's and command-r's tokenizer.json, so it is given the
    text in NFC for those (softent's NFC is checked against Hugging Face's
    in test_tokenizer)."""
    corpus = megabyte_corpus()
    with open(corpus, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    with open(tmp("megabyte_nfc.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(unicodedata.normalize("NFC", l) for l in lines))
    exe = oracle_program("llama_tokenize")
    # Lines where llama.cpp departs from Hugging Face, left out for the
    # vocabularies concerned (and compared against Hugging Face's own
    # tokenizer elsewhere, or by hand: docs/gguf.md).  llama.cpp's WordPiece
    # drops the spacing and enclosing marks (Mc, Me) and Hangul's vowel and
    # final jamo of the NFD text, which BertNormalizer keeps (it strips Mn
    # only); DeepSeek Coder's split [一-龥ࠀ-一가-퟿]+ spans U+0800..U+4E00,
    # spaces such as U+2009 included, which llama.cpp's regex engine does
    # not isolate.
    def wpm_departs(line):
        return any(unicodedata.category(c) in ("Mc", "Me") or "\u1100" <= c <= "\u11ff" for c in unicodedata.normalize("NFD", line))
    def wide_space(line):
        return any("\u0800" <= c <= "\u4e00" and c.isspace() for c in line)
    # SentencePiece (llama.cpp's Unigram) strips the ends of a text and
    # takes the longest rule of the charsmap; Hugging Face keeps a last
    # space as "\u2581" and takes a grapheme cluster's shortest rule, so
    # lines with spaces or format characters at either end, or with
    # combining marks, are left out for nomic-bert-moe
    def ugm_departs(line):
        return (line != line.strip() or any(unicodedata.category(c)[0] == "M" for c in line) or
                (line and "Cf" in (unicodedata.category(line[0]), unicodedata.category(line[-1]))))
    departs = {"bert-bge": wpm_departs, "deepseek-coder": wide_space, "nomic-bert-moe": ugm_departs}
    for name in sorted(RESTATED | {"nomic-bert-moe"}):
        kept = [not departs[name](l) for l in lines] if name in departs else [True] * len(lines)
        vocab = os.path.join(LLAMA, "models", f"ggml-vocab-{name}.gguf")
        theirs = run_process([exe, NPM_BINS, vocab, tmp("megabyte_nfc.txt") if name in NFC_VOCABS else corpus],
                             f"llama_tokenize {name}").stdout.split("\n")
        ours = run_process([os.path.join(BUILD, "softent"), "tokenize", vocab, corpus, "--no-special"], f"softent tokenize {name}").stdout.split("\n")
        if len(ours) != len(theirs):
            raise Fail(f"{name}: {len(ours)} lines of ids vs llama.cpp's {len(theirs)}")
        bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b and kept[i]]
        if bad:
            raise Fail(f"{name}: {len(bad)} of {len(lines)} lines differ from llama_tokenize, the first {lines[bad[0]][:60]!r}")
        if sum(kept) < len(lines) * (0.6 if name == "nomic-bert-moe" else 0.9):
            raise Fail(f"{name}: only {sum(kept)} of {len(lines)} lines were compared")


def bert_tokenizer_json(vocab_gguf, path):
    """BERT's tokenizer.json for a llama.cpp "bert" vocabulary, restated here
    from convert_hf_to_gguf.py's phantom-space rule with gguf-py (not by
    softent): "\u2581w" was "w", "[...]" itself, any other t was "##t"."""
    r = gguf.GGUFReader(vocab_gguf)
    f = r.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode() for i in f.data]
    vocab = {t if t.startswith("[") and t.endswith("]") else t[1:] if t.startswith("\u2581") else "##" + t: i for i, t in enumerate(toks)}
    def token(key):
        return toks[int(r.fields[key].parts[r.fields[key].data[0]][0])]
    cls, sep, unk = token("tokenizer.ggml.cls_token_id"), token("tokenizer.ggml.seperator_token_id"), token("tokenizer.ggml.unknown_token_id")
    types = r.fields["tokenizer.ggml.token_type"]
    added = [{"id": i, "content": toks[i], "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for i, k in enumerate(types.data) if int(types.parts[k][0]) == 3]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
          "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "TemplateProcessing", "pair": [],
                             "single": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": sep, "type_id": 0}}],
                             "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in (cls, sep)}},
          "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
          "model": {"type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(tj, out, ensure_ascii=False)


def check_wordpiece_tokens_by_type():
    """A "bert" vocabulary as today's converter writes it: control tokens as
    they are (<unk> without brackets), "\u2581" before word starts, a
    user-defined token stored "\u2581foo": its text is "foo", it matches as
    an added token, and <unk> stands for what the vocabulary cannot spell."""
    path = tmp("wpm-types.gguf")
    w = gguf.GGUFWriter(path, "bert")
    tokens = ["<pad>", "<unk>", "<cls>", "<sep>", "\u2581hello", "s", "\u2581foo", "\u2581,"]
    w.add_tokenizer_model("bert")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3, 3, 1, 1, 4, 1])
    w.add_unk_token_id(1)
    w.add_uint32("tokenizer.ggml.cls_token_id", 2)  # what the bert converter writes (gguf-py has no helper for it)
    w.add_sep_token_id(3)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    text = tmp("wpm-types.txt")
    with open(text, "w") as f:
        f.write("Hellos, xfoo foo qq\n")
    got = run_process([os.path.join(BUILD, "softent"), "tokenize", path, text], "softent tokenize wpm-types.gguf").stdout.split()
    # [CLS] hello ##s , [UNK](x) foo foo [UNK](qq) [SEP]: an added token matches inside a word too, as in HF
    if got != ["2", "4", "5", "7", "1", "6", "6", "1", "3"]:
        raise Fail(f"'Hellos, xfoo foo qq' gave {got}, want 2 4 5 7 1 6 6 1 3")


# GGUF value types: numpy dtype of the fixed-size ones (GGUF's numbering)
GGUF_SCALARS = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1", 10: "<u8", 11: "<i8", 12: "<f8"}


def gguf_metadata(path):
    """A GGUF file's metadata, read straight from the format (v2/v3): scalars
    as numbers, strings as str, arrays of numbers as numpy arrays, arrays of
    strings as lists.  gguf-py builds an object per array element and takes
    half a minute over a 250,000-token vocabulary; this takes a second."""
    data = np.fromfile(path, dtype=np.uint8)
    buf, at = data.tobytes(), 24
    if buf[:4] != b"GGUF":
        raise Fail(f"{path}: not a GGUF file")
    n_kv = struct.unpack_from("<Q", buf, 16)[0]
    def string():
        nonlocal at
        n = struct.unpack_from("<Q", buf, at)[0]
        at += 8 + n
        return buf[at - n:at].decode()
    def value(kind):
        nonlocal at
        if kind == 8:
            return string()
        if kind == 9:
            elem, count = struct.unpack_from("<IQ", buf, at)
            at += 12
            if elem == 8:
                return [string() for _ in range(count)]
            a = np.frombuffer(buf, dtype=GGUF_SCALARS[elem], count=count, offset=at)
            at += a.nbytes
            return a
        v = np.frombuffer(buf, dtype=GGUF_SCALARS[kind], count=1, offset=at)[0]
        at += np.dtype(GGUF_SCALARS[kind]).itemsize
        return v.item()
    meta = {}
    for _ in range(n_kv):
        key = string()
        kind = struct.unpack_from("<I", buf, at)[0]
        at += 4
        meta[key] = value(kind)
    return meta


def unigram_tokenizer_json(vocab_gguf, path):
    """XLM-R's tokenizer.json (Precompiled and Replace("  +", " "),
    Metaspace, Unigram, <s> ... </s>) for the llama.cpp "t5" vocabulary
    of nomic-bert-moe, restated here from the file's metadata (gguf_metadata):
    its pieces, scores and SentencePiece charsmap."""
    import base64
    meta = gguf_metadata(vocab_gguf)
    toks = meta["tokenizer.ggml.tokens"]
    scores = [float(x) for x in meta["tokenizer.ggml.scores"]]
    types = [int(x) for x in meta["tokenizer.ggml.token_type"]]
    charsmap = meta["tokenizer.ggml.precompiled_charsmap"].astype(np.uint8).tobytes()
    def token_id(key):
        return int(meta[key])
    # the converter pads the vocabulary to the model's size with unused [PADn] pieces, which the
    # tokenizer.json does not have: the trailing ones are left out
    while types and types[-1] == 5:
        toks, scores, types = toks[:-1], scores[:-1], types[:-1]
    bos, eos = token_id("tokenizer.ggml.bos_token_id"), token_id("tokenizer.ggml.eos_token_id")
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
                            "special": True} for i, (t, k) in enumerate(zip(toks, types)) if k == 3],
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
              {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
          "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
          "post_processor": {"type": "TemplateProcessing", "pair": [],
                             "single": [{"SpecialToken": {"id": toks[bos], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": toks[eos], "type_id": 0}}],
                             "special_tokens": {toks[i]: {"id": toks[i], "ids": [i], "tokens": [toks[i]]} for i in (bos, eos)}},
          "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
          "model": {"type": "Unigram", "unk_id": token_id("tokenizer.ggml.unknown_token_id"),
                    "vocab": [[t, x] for t, x in zip(toks, scores)], "byte_fallback": False}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)


def megabyte_corpus():
    """The tokenizer tests' corpus of this machine's text (tests/make_corpus.py),
    made once: 1 MB, a fifth of it in the sanitizer build (the same code,
    five times slower)."""
    corpus = tmp("megabyte.txt")
    if not os.path.exists(corpus):
        size = 200000 if "asan" in BUILD else 1000000
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_corpus.py"), corpus, "--size", str(size)], check=True, capture_output=True)
    return corpus


def equals_hugging_face_on_a_megabyte(vocab, tokenizer_json, oracles):
    """softent on the GGUF vocabulary and on tokenizer_json (restated from it
    independently) against Hugging Face running tokenizer_json (oracles:
    hf_tokenize.mjs flags, "--rust" for the Rust library, none for the JS
    port), with and without special tokens: every line's ids equal."""
    corpus = megabyte_corpus()
    ours_of = {}
    for oracle in oracles:
        for special in ((), ("--no-special",)):
            theirs = run_process(["node", os.path.join(HERE, "hf_tokenize.mjs"), tokenizer_json, corpus, *oracle, *special],
                                 f"node tests/hf_tokenize.mjs {' '.join(oracle)}").stdout
            for source in (vocab, tokenizer_json):
                if (source, special) not in ours_of:
                    ours_of[source, special] = run_process([os.path.join(BUILD, "softent"), "tokenize", source, corpus, *special],
                                                           f"softent tokenize {source}").stdout
                ours = ours_of[source, special]
                if ours != theirs:
                    a, b = ours.split("\n"), theirs.split("\n")
                    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
                    raise Fail(f"{os.path.basename(source)} {' '.join(special)}: {len(bad)} of {len(b)} lines differ from Hugging Face's "
                               f"({' '.join(oracle) or 'JavaScript'}), the first line {bad[0] if bad else min(len(a), len(b))}")


def check_unigram_equals_hugging_face_on_a_megabyte():
    """nomic-bert-moe's vocabulary (llama.cpp's "t5": Unigram, 250,000
    pieces, a SentencePiece charsmap), restated by softent from the GGUF
    metadata, against Hugging Face's Rust library running the tokenizer.json
    restated independently (unigram_tokenizer_json), on the tokenizer
    tests' corpus, with and without <s>/</s>: every line equal, softent's
    on that tokenizer.json too.  (llama_tokenize differs where SentencePiece
    and Hugging Face do: see check_tokenizers_equal_llama_tokenize_on_a_megabyte.)"""
    tj = tmp("nomic-tokenizer.json")
    unigram_tokenizer_json(os.path.join(LLAMA, "models", "ggml-vocab-nomic-bert-moe.gguf"), tj)
    equals_hugging_face_on_a_megabyte(os.path.join(LLAMA, "models", "ggml-vocab-nomic-bert-moe.gguf"), tj, [("--rust",)])


def check_wordpiece_equals_hugging_face_on_a_megabyte():
    """The bge vocabulary (llama.cpp's "bert"), restated by softent from the
    GGUF metadata, against Hugging Face's Rust library and JavaScript port
    running the tokenizer.json restated independently (bert_tokenizer_json),
    on the tokenizer tests' corpus, with and without [CLS]/[SEP]: every
    line's ids equal, softent's on that tokenizer.json too."""
    tj = tmp("bge-tokenizer.json")
    bert_tokenizer_json(os.path.join(LLAMA, "models", "ggml-vocab-bert-bge.gguf"), tj)
    equals_hugging_face_on_a_megabyte(os.path.join(LLAMA, "models", "ggml-vocab-bert-bge.gguf"), tj, [("--rust",), ()])


FIXTURE_MERGES = ["Ġ t", "h e"]  # a fixture tokenizer's merges (llama.cpp needs some)


def add_fixture_tokenizer(w):
    """The fixtures' byte-level BPE (tests/common.py), BOS 299 added in front."""
    from common import bytes_to_unicode
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)] + ["Ġt", "he"] + [f"<unused{i}>" for i in range(258, 299)] + ["<|bos|>"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_merges(FIXTURE_MERGES)
    w.add_token_types([1] * 258 + [5] * 41 + [3])
    w.add_bos_token_id(299)
    w.add_add_bos_token(True)


NEOX_NAMES = {"gpt_neox.embed_in.weight": "token_embd.weight", "gpt_neox.final_layer_norm": "output_norm",
              "embed_out.weight": "output.weight"}
NEOX_BLOCK = {"input_layernorm": "attn_norm", "attention.query_key_value": "attn_qkv", "attention.dense": "attn_output",
              "post_attention_layernorm": "ffn_norm", "mlp.dense_h_to_4h": "ffn_up", "mlp.dense_4h_to_h": "ffn_down"}


def neox_gguf_name(hf):
    for k, v in NEOX_NAMES.items():
        if hf == k or hf.startswith(k + "."):
            return v + hf[len(k):]
    _, _, layer, rest = hf.split(".", 3)
    for k, v in NEOX_BLOCK.items():
        if rest.startswith(k + "."):
            return f"blk.{layer}.{v}{rest[len(k):]}"
    raise ValueError(hf)


def write_neox_gguf(path, config, tensors, quant=None):
    """A gptneox GGUF as convert_hf_to_gguf.py's GPTNeoXModel writes it:
    query_key_value's rows (and bias) regrouped from [heads, 3, head_size]
    to [3, heads, head_size].  Returns the transformers-layout weights the
    file holds."""
    d, heads = config["hidden_size"], config["num_attention_heads"]
    hd = d // heads
    w = gguf.GGUFWriter(path, "gptneox")
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(d)
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_rope_dimension_count(int(config["rotary_pct"] * hd))
    w.add_head_count(heads)
    w.add_parallel_residual(config.get("use_parallel_residual", True))
    w.add_layer_norm_eps(config["layer_norm_eps"])
    w.add_rope_freq_base(config.get("rotary_emb_base", 10000))
    add_fixture_tokenizer(w)

    def regroup(hf, t, back=False):
        if ".query_key_value." not in hf:
            return t
        shape = (3, heads, hd) if back else (heads, 3, hd)
        return t.reshape(*shape, *t.shape[1:]).swapaxes(0, 1).reshape(t.shape)

    return write_tensors(w, tensors, quant, neox_gguf_name, regroup)


def check_gpt_neox_gguf():
    """gptneox GGUF files (F32 and Q8_0; parallel and sequential residual)
    run to the hidden states of the safetensors model of the weights they
    hold (the regrouped query_key_value put back), and, in F32, to
    llama.cpp's own.  Against llama.cpp the bound is 3e-3, not 1e-4:
    llama.cpp's GELU is the tanh approximation read from an F16 table,
    transformers' gpt_neox "gelu" is exact (erf), and that difference is
    carried through the layers (4e-4 is seen); a misread layout differs by
    order 1."""
    sys.path.insert(0, HERE)
    import make_models
    exe = oracle_program("llama_states")
    tokens = np.random.default_rng(7).integers(0, 299, 40)
    tokens.astype("<i4").tofile(tmp("neox_tokens.bin"))
    models = {"parallel": make_models.gpt_neox(8, n_layers=3),
              "sequential": make_models.gpt_neox(9, extra={"use_parallel_residual": False, "rotary_pct": 0.5})}
    for tag, (config, tensors) in models.items():
        for quant in (None, "q8_0"):
            name = f"neox-{tag}-{quant or 'f32'}"
            held = write_neox_gguf(tmp(name + ".gguf"), config, tensors, quant)
            make_models.write_model(tmp(name), config, held, "F32")
            ours = hidden_states(tmp(name + ".gguf"), tokens)
            want = hidden_states(tmp(name), tokens)
            err = np.abs(ours - want).max() / np.abs(want).max()
            if not err < 1e-6:
                raise Fail(f"{name}: hidden states differ from the safetensors model of the same weights by {err:.2e} (relative)")
            if quant:
                continue
            p = run_process([exe, NPM_BINS, tmp(name + ".gguf"), tmp("neox_tokens.bin"), tmp("neox")], f"llama_states {name}")
            L, d, n = map(int, p.stdout.split())
            theirs = np.fromfile(tmp("neox.f32"), dtype=np.float32).reshape(L + 1, n, d)
            ours = ours.reshape(L + 1, n, d)
            worst = 0.0
            for l in list(range(L - 1)) + [L]:
                mine = ours[l + 1] if l < L - 1 else ours[L]
                err = np.abs(theirs[l] - mine).max() / np.abs(mine).max()
                worst = max(worst, err)
                if not err < 3e-3:
                    raise Fail(f"{name}: {'the final norm' if l == L else f'block {l}'}'s output differs from llama.cpp's by {err:.2e}")
            print(f"  {name}: worst relative difference from llama.cpp {worst:.1e}")


def llama3_rope_factors(config):
    """rope_freqs.weight as convert_hf_to_gguf.py's LlamaModel writes it for
    llama3 scaling: per frequency, 1 (short wavelengths), the factor (long
    ones), or the blend between."""
    import math
    rs = config["rope_scaling"]
    dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    freqs = 1.0 / (config.get("rope_theta", 10000.0) ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def add_shape(w, config):
    """The metadata every llama-like converter writes: layers, widths, heads
    (and their width, when the config gives it), epsilon."""
    w.add_block_count(config["num_hidden_layers"])
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config["num_key_value_heads"])
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    if "head_dim" in config:
        w.add_key_length(config["head_dim"])
        w.add_value_length(config["head_dim"])


def write_gguf_model(path, config, tensors, quant=None, tokenizer=False):
    """A GGUF file as llama.cpp's converter writes this model (q/k permuted
    for llama), 2-D weights in `quant` when given; returns the transformers-
    layout float32 weights the file holds (what softent must recover)."""
    arch = config["model_type"]
    if arch == "gpt2":
        return write_gguf_gpt2(path, config, tensors, quant, tokenizer)
    if arch == "phi3":
        return write_gguf_phi3(path, config, tensors, quant, tokenizer)
    if arch.startswith("gemma"):
        return write_gguf_gemma(path, config, tensors, quant, tokenizer)
    w = gguf.GGUFWriter(path, arch)
    add_shape(w, config)
    w.add_rope_freq_base(config["rope_theta"])
    scaling = config.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        tensors = dict(tensors, **{"rope_freqs.weight": llama3_rope_factors(config)})
    elif scaling and scaling.get("rope_type", scaling.get("type")) == "yarn":
        # as TextModel.set_gguf_parameters writes it
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(scaling["factor"])
        w.add_rope_scaling_orig_ctx_len(scaling["original_max_position_embeddings"])
        for key, add in (("beta_fast", w.add_rope_scaling_yarn_beta_fast), ("beta_slow", w.add_rope_scaling_yarn_beta_slow),
                         ("attention_factor", w.add_rope_scaling_yarn_attn_factor)):
            if key in scaling:
                add(scaling[key])
    elif scaling:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(scaling["factor"])
    if tokenizer:  # True: the fixtures' BPE; or a function that adds one to the writer
        (tokenizer if callable(tokenizer) else add_fixture_tokenizer)(w)

    def permute(hf, t, back=False):
        if arch != "llama" or not (".q_proj." in hf or ".k_proj." in hf):
            return t
        heads = config["num_attention_heads"] if ".q_proj." in hf else config["num_key_value_heads"]
        return llama_unpermute(t, heads) if back else llama_permute(t, heads)

    return write_tensors(w, tensors, quant, gguf_name if arch != "olmo2" else converter_names(gguf.MODEL_ARCH.OLMO2, config), permute)


def write_gguf_gpt2(path, config, tensors, quant=None, tokenizer=False):
    """GPT2Model of convert_hf_to_gguf: its metadata, the tensors under
    gguf-py's names, the Conv1D weights ([in, out]) transposed to [out, in]."""
    w = gguf.GGUFWriter(path, "gpt2")
    w.add_block_count(config["n_layer"])
    w.add_context_length(config["n_positions"])
    w.add_embedding_length(config["n_embd"])
    w.add_feed_forward_length(4 * config["n_embd"])
    w.add_head_count(config["n_head"])
    w.add_layer_norm_eps(config["layer_norm_epsilon"])
    if tokenizer:
        (tokenizer if callable(tokenizer) else add_fixture_tokenizer)(w)
    conv1d = (".c_attn.weight", ".c_proj.weight", ".c_fc.weight")
    def transpose(hf, t, back=False):
        return np.ascontiguousarray(t.T) if hf.endswith(conv1d) else t
    names = converter_names(gguf.MODEL_ARCH.GPT2, {"num_hidden_layers": config["n_layer"]})
    return write_tensors(w, tensors, quant, names, transpose)


def write_gguf_gemma(path, config, tensors, quant=None, tokenizer=False):
    """GemmaModel, Gemma2Model and Gemma3Model of llama.cpp's converter: their
    metadata (no query_pre_attn_scalar: llama.cpp takes head_dim outside the
    27B models), each norm's weight stored as 1 + w, no lm_head; gemma3's
    sliding layers as the list of booleans llama.cpp reads (the converter
    writes none and llama.cpp then slides five layers in six), its global
    layers' linear RoPE scaling and its sliding ones' base."""
    model_type = config["model_type"]
    arch = {"gemma": "gemma", "gemma2": "gemma2", "gemma3_text": "gemma3"}[model_type]
    w = gguf.GGUFWriter(path, arch)
    n_layers = config["num_hidden_layers"]
    add_shape(w, config)
    if model_type == "gemma2":
        w.add_attn_logit_softcapping(config["attn_logit_softcapping"])
        w.add_final_logit_softcapping(config["final_logit_softcapping"])
        w.add_sliding_window(config["sliding_window"])
    if model_type == "gemma3_text":
        w.add_rope_freq_base(config["rope_theta"])
        w.add_sliding_window(config["sliding_window"])
        pattern = config["sliding_window_pattern"]
        w.add_sliding_window_pattern([(l + 1) % pattern != 0 for l in range(n_layers)])
        w.add_rope_freq_base_swa(config["rope_local_base_freq"])
        if config.get("rope_scaling"):
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(config["rope_scaling"]["factor"])
    else:
        w.add_rope_freq_base(config["rope_theta"])
    if tokenizer:
        (tokenizer if callable(tokenizer) else add_fixture_tokenizer)(w)
    names = converter_names({"gemma": gguf.MODEL_ARCH.GEMMA, "gemma2": gguf.MODEL_ARCH.GEMMA2, "gemma3": gguf.MODEL_ARCH.GEMMA3}[arch], config)
    def plus_one(hf, t, back=False):
        return t if not hf.endswith("norm.weight") else t - 1 if back else t + 1
    return write_tensors(w, {k: v for k, v in tensors.items() if k != "lm_head.weight"}, quant, names, plus_one)


def gemma_models(make_models):
    """The gemma fixtures, their query_pre_attn_scalar head_dim as a GGUF
    file implies for these (non-27B) models."""
    out = {}
    for name in ("gemma", "gemma2", "gemma3"):
        config, tensors = make_models.MODELS[name][0]()
        if "query_pre_attn_scalar" in config:
            config = dict(config, query_pre_attn_scalar=config["head_dim"])
        out[name] = (config, tensors)
    return out


def write_gguf_phi3(path, config, tensors, quant=None, tokenizer=False):
    """Phi3MiniModel of convert_hf_to_gguf: its metadata (the rotated
    dimensions a head, the original context, sliding window 0), the fused
    qkv and gate/up under gguf-py's names, and longrope's factors as the
    tensors rope_factors_long/short."""
    w = gguf.GGUFWriter(path, "phi3")
    d, heads = config["hidden_size"], config["num_attention_heads"]
    add_shape(w, config)
    w.add_rope_scaling_orig_ctx_len(config["original_max_position_embeddings"])
    w.add_rope_dimension_count(int(config.get("partial_rotary_factor", 1.0) * d) // heads)
    w.add_rope_freq_base(config["rope_theta"])
    w.add_sliding_window(0)
    if tokenizer:
        (tokenizer if callable(tokenizer) else add_fixture_tokenizer)(w)
    scaling = config.get("rope_scaling")
    if scaling:
        import math
        scale = config["max_position_embeddings"] / config["original_max_position_embeddings"]
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(config["original_max_position_embeddings"])) if scale > 1 else 1.0)
        w.add_tensor("rope_factors_long.weight", np.asarray(scaling["long_factor"], dtype=np.float32))
        w.add_tensor("rope_factors_short.weight", np.asarray(scaling["short_factor"], dtype=np.float32))
    return write_tensors(w, tensors, quant, converter_names(gguf.MODEL_ARCH.PHI3, config), lambda hf, t, back=False: t)


def converter_names(arch, config):
    """HF name -> GGUF name as llama.cpp's converter maps them (gguf-py's
    TensorNameMap for the architecture)."""
    names = gguf.get_tensor_name_map(arch, config["num_hidden_layers"])
    def name_of(hf):
        name = names.get_name(hf, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ValueError(f"gguf-py has no name for {hf}")
        return name
    return name_of


def write_tensors(w, tensors, quant, name_of, reorder):
    """tensors into the writer w under name_of(hf), rows reordered as the
    converter does (reorder(hf, t); back=True undoes it), 2-D weights in
    `quant` (a ggml block type, "f16" or "bf16") when given; the file is written
    and closed.  Returns the transformers-layout float32 weights the file
    holds."""
    lib = ggml()
    held = {}
    for hf, t in tensors.items():
        t = np.asarray(t, dtype=np.float32)
        stored = reorder(hf, t)
        if quant == "f16" and t.ndim == 2:
            half = np.ascontiguousarray(stored.astype(np.float16))
            w.add_tensor(name_of(hf), half)
            held[hf] = reorder(hf, half.astype(np.float32), back=True)
        elif quant == "bf16" and t.ndim == 2:
            sys.path.insert(0, HERE)
            import make_models
            bits = make_models.to_bf16_bits(stored).reshape(stored.shape)
            w.add_tensor(name_of(hf), bits, raw_dtype=gguf.GGMLQuantizationType.BF16)
            held[hf] = reorder(hf, (bits.astype(np.uint32) << 16).view(np.float32), back=True)
        elif quant and t.ndim == 2:
            blocks, back, qtype = quantize(lib, quant, stored)
            w.add_tensor(name_of(hf), blocks, raw_dtype=qtype)
            held[hf] = reorder(hf, back, back=True)
        else:
            w.add_tensor(name_of(hf), np.ascontiguousarray(stored))
            held[hf] = t
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return held


def hidden_states(model, tokens):
    tok, out = tmp("tokens.bin"), tmp("fwd")
    np.asarray(tokens, dtype="<i4").tofile(tok)
    run_process([os.path.join(BUILD, "tests", "forward_driver"), model, tok, out], f"forward_driver {model}")
    return np.load(out + ".hidden.npy")


def check_gguf_models_equal_their_safetensors():
    """A GGUF model (F32, BF16, Q8_0, Q4_0; F16 and the K-quants on a model
    of 256-wide rows) runs to the same hidden states as
    the safetensors directory of the weights it holds (the quantised ones as
    ggml dequantises them), for llama (GQA, biases, linear RoPE scaling:
    q/k un-permuted), qwen2 and olmo2.  The BF16 pair is stored BF16 on both sides,
    so that both take the same products by default (bf16 where the CPU has
    the units: docs/models.md), the llama file's q/k rows reordered too."""
    sys.path.insert(0, HERE)
    import make_models
    rng = np.random.default_rng(4)
    tokens = rng.integers(0, make_models.VOCAB, 40)
    models = {"llama": make_models.llama_family("llama", 11, kv_heads=2, attention_bias=True, mlp_bias=True,
                                                extra={"rope_scaling": {"type": "linear", "factor": 2.0}}),
              "qwen2": make_models.llama_family("qwen2", 5, extra={"rope_theta": 1000000.0}),
              # post-sublayer norms and full-width q/k norms, by the converter's names
              "olmo2": make_models.llama_family("olmo2", 7, kv_heads=2, extra={"rope_theta": 500000.0}),
              # Conv1D weights stored transposed
              "gpt2": make_models.gpt2(seed=8),
              # rows of 256 and 512: the K-quants' blocks
              "llama-wide": make_models.llama_family("llama", 14, d=256, heads=4, kv_heads=2, ff=512),
              # fused qkv and gate/up, RoPE on 3/4 of each head, longrope (the long factors past 32 tokens)
              "phi3": make_models.MODELS["phi3"][0](),
              # llama3 scaling: the file holds the converter's rope_freqs.weight instead
              "llama3": make_models.MODELS["llama"][0](),
              # norms stored 1 + w; gemma2's soft-capping and sliding window; gemma3's q/k norms, sliding
              # layers by the file's pattern with their own RoPE base, and linear scaling on the global one
              **gemma_models(make_models),
              # yarn's factor, original context and beta_fast from the metadata
              "qwen2-yarn": make_models.MODELS["qwen2-yarn"][0]()}
    for arch, (config, tensors) in models.items():
        for quant in (None, "bf16", "q8_0", "q4_0") if arch != "llama-wide" else ("q4_K", "q5_K", "q6_K", "q3_K", "q2_K", "f16"):
            tag = f"{arch}-{quant or 'f32'}"
            held = write_gguf_model(tmp(tag + ".gguf"), config, tensors, quant)
            held.pop("rope_freqs.weight", None)
            make_models.write_model(tmp(tag), config, held, "BF16" if quant == "bf16" else "F32",
                                    dtypes={k: "F32" for k, v in held.items() if v.ndim < 2})
            want, got = hidden_states(tmp(tag), tokens), hidden_states(tmp(tag + ".gguf"), tokens)
            err = np.abs(got - want).max() / np.abs(want).max()
            # llama3: the factors' float32 rounding moves the angles by about 1e-7 relative
            if not err < (1e-5 if arch == "llama3" else 1e-6):
                raise Fail(f"{tag}: hidden states differ from the safetensors model of the same weights by {err:.2e} (relative)")


def check_analyze_a_gguf_model():
    """softent analyze MODEL.gguf (weights Q8_0, tokenizer from the metadata)
    gives the numbers analyze gives on the safetensors directory of the
    weights it holds with the equivalent tokenizer.json."""
    sys.path.insert(0, HERE)
    import make_models
    from common import bytes_to_unicode, run, write_bos_bpe_tokenizer
    config, tensors = make_models.llama_family("llama", 12, kv_heads=2)
    gg = tmp("analyze.gguf")
    held = write_gguf_model(gg, config, tensors, "q8_0", tokenizer=True)
    d = tmp("analyze_dir")
    make_models.write_model(d, config, held, "F32")
    b2u = bytes_to_unicode()
    write_bos_bpe_tokenizer(d, {b2u[b]: b for b in range(256)} | {"Ġt": 256, "he": 257}, FIXTURE_MERGES, 299)
    with open("/usr/share/common-licenses/GPL-3") as f:
        lines = [" ".join(l.split()) for l in f if len(l.split()) >= 3][:30]
    with open(tmp("gguf_corpus.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    results = []
    for model in (d, gg):
        out = tmp(os.path.basename(model) + "_out")
        run("analyze", model, tmp("gguf_corpus.txt"), "--out", out, "--ngrams", "1,2", "--bins", 16, "--max-length", 48, "--quiet")
        with open(os.path.join(out, "analysis.json")) as f:
            results.append(json.load(f))
    a, b = results
    if a["corpus"]["token_stream_fnv1a64"] != b["corpus"]["token_stream_fnv1a64"]:
        raise Fail("the GGUF's tokenizer gives other tokens than the tokenizer.json")
    for la, lb in zip(a["layers"], b["layers"]):
        for oa, ob in zip(la["orders"], lb["orders"]):
            if abs(oa["I_in"] - ob["I_in"]) > 1e-6 or abs(oa["I_out"] - ob["I_out"]) > 1e-6:
                raise Fail(f"layer {la['layer']} n={oa['n']}: GGUF {ob['I_in']}, {ob['I_out']} vs {oa['I_in']}, {oa['I_out']}")


# the vocabularies whose tokenizer.json softent restates, and those of them with an NFC normalizer
RESTATED = {"gpt-2", "llama-bpe", "qwen2", "mpt", "starcoder", "refact", "falcon", "command-r", "llama-spm", "phi-3", "bert-bge",
            "deepseek-llm", "deepseek-coder", "qwen35", "gemma-4"}
# restated, but without test vectors: they must load and encode (nomic-bert-moe, Unigram, is
# checked against the Rust library and llama_tokenize on the megabyte corpus)
UNTESTED = {"baichuan", "nomic-bert-moe"}
NFC_VOCABS = {"qwen2", "mpt", "command-r"}


def check_tokenizers_match_the_vocabularies_test_vectors():
    """Every models/ggml-vocab-*.gguf: those softent restates encode each
    .inp text to its .out ids (made by Hugging Face tokenizers); the others
    are refused naming their tokenizer model or pre-tokenizer."""
    models = os.path.join(LLAMA, "models")
    tokenize = os.path.join(BUILD, "tests", "tokenize_driver")
    seen = set()
    for f in sorted(os.listdir(models)):
        if not (f.startswith("ggml-vocab-") and f.endswith(".gguf")):
            continue
        name, path = f[len("ggml-vocab-"):-len(".gguf")], os.path.join(models, f)
        seen.add(name)
        if name in UNTESTED:
            run_process([tokenize, path, os.devnull, "--no-special"], f"tokenize_driver {f}")
            continue
        if name not in RESTATED:
            p = run_process([tokenize, path, os.devnull, "--no-special"], f"tokenize_driver {f}", ok=False)
            if p.returncode != 1 or not ("tokenizer model" in p.stderr or "pre-tokenizer" in p.stderr or "tokenizer.ggml.pre" in p.stderr):
                raise Fail(f"{f}: softent does not restate it, so it must be refused by name; got exit {p.returncode}, {p.stderr.strip()!r}")
            continue
        with open(path + ".inp", encoding="utf-8") as fi, open(path + ".out") as fo:
            texts = fi.read().split("\n__ggml_vocab_test__\n")[:-1]
            want = fo.read().split("\n")[:len(texts)]
        files = []
        for i, text in enumerate(texts):  # one file a text (texts hold newlines), one driver run a vocabulary
            files.append(tmp(f"text-{i}.txt"))
            with open(files[-1], "wb") as ft:
                ft.write(text.encode())
        lines = run_process([tokenize, path, *files, "--no-special"], f"tokenize_driver {f}").stdout.split("\n")
        for text, ids, got in zip(texts, want, lines):
            if got.split() != ids.split():
                raise Fail(f"{f}: {text[:40]!r} gives {got[:80]}, Hugging Face {ids[:80]}")
        if len(lines) < len(texts):
            raise Fail(f"{f}: {len(lines)} lines of ids for {len(texts)} texts")
    if not RESTATED <= seen:
        raise Fail(f"vocabularies {sorted(RESTATED - seen)} are missing from {models}")
    # hostile tokenizer metadata: an empty pre-tokenizer name (once an endless loop), a token with a NUL
    def kv_str(key, value):
        return gstr(key) + struct.pack("<I", 8) + gstr(value)
    tokens = gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + gstr("a") + gstr(b"b\0c")
    # SentencePiece pieces "a", "aa", ... whose splits all exist (merges growing
    # as the cube of the length): a piece past 1024 bytes is refused, not built
    pieces = [b"a" * k for k in range(1, 1100, 7)]
    spm = (gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, len(pieces)) + b"".join(gstr(w) for w in pieces)
           + gstr("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, len(pieces)) + struct.pack(f"<{len(pieces)}f", *([0.0] * len(pieces))))
    for name, data, words in (("empty_pre", header(0, 2) + kv_str("tokenizer.ggml.model", "gpt2") + kv_str("tokenizer.ggml.pre", ""), ["pre-tokenizer"]),
                              ("nul_token", header(0, 3) + kv_str("tokenizer.ggml.model", "gpt2") + kv_str("tokenizer.ggml.pre", "gpt-2") + tokens,
                               ["token 1", "NUL"]),
                              ("long_piece", header(0, 3) + kv_str("tokenizer.ggml.model", "llama") + spm, ["1024 bytes"])):
        try:
            p = subprocess.run([tokenize, write(name + ".gguf", data), os.devnull], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise Fail(f"{name}: the tokenizer did not return in 60 s") from None
        if p.returncode != 1 or not all(w in p.stderr for w in words):
            raise Fail(f"{name}: exit {p.returncode}, {p.stderr.strip()!r}; want a refusal mentioning {words}")


if __name__ == "__main__":
    main(globals())
