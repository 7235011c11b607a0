#!/usr/bin/env python3
"""Seed corpora for the fuzzers (tests/fuzz/fuzz_*.c): small valid inputs
of every format each parser reads, made from the test fixtures, so that
mutation starts from files that get past the first checks.

usage: tests/fuzz/make-seeds.py OUT_DIR [BUILD_DIR]
  OUT_DIR/<harness>/ gets the seeds; BUILD_DIR/softent (default build)
  makes the accumulator and training states.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import make_models  # noqa: E402
from common import bytes_to_unicode, write_bos_bpe_tokenizer  # noqa: E402


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy_bytes(a):
    import io
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def safetensors_bytes(tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        raw = a.tobytes()
        dt = {np.float32: "F32", np.float16: "F16", np.int64: "I64"}[a.dtype.type]
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def gguf_bytes(keys, tensors, align=32):
    """A GGUF v3 file: keys [(name, type, payload bytes)], tensors [(name,
    dims, ggml type, data bytes)], data aligned as llama.cpp writes it."""
    def gstr(x):
        return struct.pack("<Q", len(x)) + x.encode()
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(keys))
    for name, t, payload in keys:
        out += gstr(name) + struct.pack("<I", t) + payload
    offset, blobs = 0, b""
    for name, dims, t, data in tensors:
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, offset)
        blobs += data + b"\0" * ((-len(data)) % align)
        offset = len(blobs)
    return out + b"\0" * ((-len(out)) % align) + blobs


def main():
    out = sys.argv[1]
    build = sys.argv[2] if len(sys.argv) > 2 else "build"
    softent = os.path.join(build, "softent")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4)).astype(np.float32)
    for name, a in {"f32.npy": z, "f64.npy": z.astype(np.float64), "f16.npy": z.astype(np.float16),
                    "i64.npy": np.arange(6, dtype=np.int64), "i32x2.npy": np.arange(12, dtype=np.int32).reshape(6, 2),
                    "fortran.npy": np.asfortranarray(z)}.items():
        put(out, "fuzz_npy", name, npy_bytes(a))
    put(out, "fuzz_safetensors", "z.safetensors", safetensors_bytes({"z": z}))
    put(out, "fuzz_safetensors", "two.safetensors", safetensors_bytes({"embeddings": z.astype(np.float16), "hidden": z}))
    # configs and a tokenizer from the forward tests' fixture models
    models = make_models.make(os.path.join(out, ".models"), None)
    for name, path in models.items():
        with open(os.path.join(path, "config.json"), "rb") as f:
            put(out, "fuzz_config", f"{name}.json", f.read())
    b2u = bytes_to_unicode()
    tok_dir = os.path.join(out, ".tok")
    os.makedirs(tok_dir, exist_ok=True)
    write_bos_bpe_tokenizer(tok_dir, {b2u[b]: b for b in range(256)} | {"Ġt": 256, "he": 257}, ["Ġ t", "h e"], 299)
    with open(os.path.join(tok_dir, "tokenizer.json"), "rb") as f:
        put(out, "fuzz_tokenizer", "bpe.json", f.read())
    put(out, "fuzz_tokenizer", "unigram.json", json.dumps({
        "version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"},
        "post_processor": None, "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": True,
                                          "vocab": [["<unk>", 0], ["\u2581a", -1], ["b", -2], ["<0x63>", -3], ["ab", -1.5]]}}).encode())
    # SentencePiece's charsmap, from a real vocabulary where the npm fixtures are installed
    charsmap = os.path.join(HERE, "..", "npm", "llama.cpp", "models", "ggml-vocab-nomic-bert-moe.gguf")
    if os.path.exists(charsmap):
        import base64
        sys.path.insert(0, os.path.join(HERE, "..", "npm", "llama.cpp", "gguf-py"))
        import gguf
        f = gguf.GGUFReader(charsmap).fields["tokenizer.ggml.precompiled_charsmap"]
        blob = bytes(np.concatenate([f.parts[i] for i in f.data]).astype(np.uint8))
        put(out, "fuzz_tokenizer", "precompiled.json", json.dumps({
            "version": "1.0", "added_tokens": [], "pre_tokenizer": None, "post_processor": None,
            "normalizer": {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(blob).decode()},
            "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["a", -1]]}}).encode())
    put(out, "fuzz_tokenizer", "wordpiece.json", json.dumps({
        "version": "1.0", "added_tokens": [{"id": 0, "content": "[UNK]", "special": True, "normalized": False}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 8,
                  "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3, "##b": 4, "ab": 5, "\u4e2d": 6}}}).encode())
    put(out, "fuzz_corpus", "lines.txt", "one document\nanother one, with words\n\n third\r\n")
    put(out, "fuzz_corpus", "docs.jsonl", '{"text": "a document"}\n{"text": "another", "id": 2}\n\n{"body": "x"}\n')
    put(out, "fuzz_preference", "strings.jsonl", '{"prompt": "Q: why?", "chosen": " because", "rejected": " no"}\n'
        '{"prompt": "x ", "chosen": "y", "rejected": "zz"}\n')
    put(out, "fuzz_preference", "chat.jsonl", json.dumps({"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                                                         "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go"}]}) + "\n")
    put(out, "fuzz_preference", "prefix.jsonl", '{"chosen": "Human: a Assistant: b", "rejected": "Human: a Assistant: c"}\n')
    rnd = np.random.default_rng(3)
    keys = [("general.architecture", 8, struct.pack("<Q", 5) + b"llama"), ("llama.block_count", 4, struct.pack("<I", 2)),
            ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
            ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + b"".join(struct.pack("<Q", len(w)) + w for w in (b"a", b"bc", b"\xc3\xa9"))),
            ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, 1, 3))]
    q4k = bytearray(rnd.integers(0, 256, 144, dtype=np.uint8).tobytes())
    q4k[0:4] = np.array([0.01, 0.002], np.float16).tobytes()
    tensors = [("token_embd.weight", [32, 2], 0, rnd.standard_normal(64).astype(np.float32).tobytes()),
               ("blk.0.attn_q.weight", [32], 8, np.float16(0.05).tobytes() + rnd.integers(-127, 128, 32, dtype=np.int8).tobytes()),
               ("blk.0.ffn_up.weight", [256], 12, bytes(q4k)),
               ("blk.0.attn_norm.weight", [16], 1, np.ones(16, np.float16).tobytes())]
    put(out, "fuzz_gguf", "small.gguf", gguf_bytes(keys, tensors))
    vocab = (b"a", b"b", b"c", b"bc", b"<s>")
    tok_keys = [k for k in keys if not k[0].startswith("tokenizer.")] + [
        ("tokenizer.ggml.model", 8, struct.pack("<Q", 4) + b"gpt2"), ("tokenizer.ggml.pre", 8, struct.pack("<Q", 5) + b"gpt-2"),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(vocab)) + b"".join(struct.pack("<Q", len(w)) + w for w in vocab)),
        ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(vocab)) + struct.pack("<5i", 1, 1, 1, 1, 3)),
        ("tokenizer.ggml.merges", 9, struct.pack("<IQ", 8, 1) + struct.pack("<Q", 3) + b"b c"),
        ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 4)), ("tokenizer.ggml.add_bos_token", 7, b"\x01")]
    put(out, "fuzz_gguf", "tokenizer.gguf", gguf_bytes(tok_keys, tensors[:1]))
    # a SentencePiece vocabulary: pieces, their scores, byte pieces, the unknown one
    spm = ("<unk>".encode(), b"<s>", b"<0x41>", "\u2581".encode(), b"a", b"b", "\u2581a".encode(), b"ab", "\u2581ab".encode())
    spm_keys = [k for k in keys if not k[0].startswith("tokenizer.")] + [
        ("tokenizer.ggml.model", 8, struct.pack("<Q", 5) + b"llama"),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(spm)) + b"".join(struct.pack("<Q", len(w)) + w for w in spm)),
        ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, len(spm)) + struct.pack(f"<{len(spm)}f", 0, 0, 0, -1, -2, -3, -4, -5, -6)),
        ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(spm)) + struct.pack(f"<{len(spm)}i", 2, 3, 6, 1, 1, 1, 1, 1, 1)),
        ("tokenizer.ggml.unknown_token_id", 4, struct.pack("<I", 0)),
        ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)), ("tokenizer.ggml.add_bos_token", 7, b"\x01")]
    put(out, "fuzz_gguf", "spm.gguf", gguf_bytes(spm_keys, tensors[:1]))
    # a WordPiece vocabulary as llama.cpp's converter stores it ("\u2581" word starts, bare continuations)
    wpm = (b"[PAD]", b"[UNK]", b"[CLS]", b"[SEP]", "\u2581a".encode(), b"b", "\u2581ab".encode(), "\u2581,".encode())
    wpm_keys = [k for k in keys if not k[0].startswith("tokenizer.")] + [
        ("tokenizer.ggml.model", 8, struct.pack("<Q", 4) + b"bert"),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(wpm)) + b"".join(struct.pack("<Q", len(w)) + w for w in wpm)),
        ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(wpm)) + struct.pack(f"<{len(wpm)}i", 3, 3, 3, 3, 1, 1, 1, 1)),
        ("tokenizer.ggml.unknown_token_id", 4, struct.pack("<I", 1)),
        ("tokenizer.ggml.cls_token_id", 4, struct.pack("<I", 2)), ("tokenizer.ggml.seperator_token_id", 4, struct.pack("<I", 3))]
    put(out, "fuzz_gguf", "wpm.gguf", gguf_bytes(wpm_keys, tensors[:1]))
    put(out, "fuzz_gguf", "empty.gguf", gguf_bytes([], []))
    put(out, "fuzz_csv", "labels.csv", "id,label,other\n0,3,a\n1,4,b\n2,3,\"c,d\"\n")
    put(out, "fuzz_csv", "labels.tsv", "label\tx\n1\t2\n3\t4\n")
    # an accumulator state and a training state, made by softent itself
    tmp = os.path.join(out, ".tmp")
    os.makedirs(tmp, exist_ok=True)
    zf, yf = os.path.join(tmp, "z.npy"), os.path.join(tmp, "y.npy")
    np.save(zf, rng.standard_normal((300, 8)).astype(np.float32))
    np.save(yf, rng.integers(0, 5, 300))
    # a shard's state holds deferred curve readings, a scaled null's its sample
    for extra, name in (([], "plain.state"), (["--null", "3"], "null.state"), (["--correction", "taylor"], "taylor.state"),
                        (["--shard", "1/2"], "shard.state"), (["--null", "scaled:6"], "scaled.state")):
        state = os.path.join(out, "fuzz_state")
        os.makedirs(state, exist_ok=True)
        subprocess.run([softent, "estimate", zf, "--labels", f"y={yf}", "--bins", "8", "--save-state",
                        os.path.join(state, name), "--quiet", *extra], check=True, capture_output=True)
    corpus = os.path.join(tmp, "c.txt")
    with open(corpus, "w") as f:
        f.write("the quick brown fox jumps over the lazy dog\n" * 40)
    run = os.path.join(tmp, "run")
    subprocess.run([softent, "train", corpus, "--out", run, "--layers", "1", "--d-model", "16", "--heads", "2",
                    "--context", "16", "--batch", "2", "--steps", "2", "--checkpoints", "2", "--quiet"],
                   check=True, capture_output=True)
    with open(os.path.join(run, "train_state.bin"), "rb") as f:
        put(out, "fuzz_train_state", "tiny.bin", f.read())


if __name__ == "__main__":
    main()
