"""The crash classes a mutation campaign found (issue 10), each rebuilt by
hand from the file formats and refused with one clear line, never a crash,
an allocation sized by the file's claims, or exit 0 with NaN:
- npy and safetensors shapes whose products overflow;
- a safetensors file cut inside a tensor that was not asked for, a header
  length off by one (every tensor shifted a byte), a hole in the data;
- accumulator states (checksums recomputed, so only the checks inside
  stand between them and the estimator) declaring d = 1e8, or holding NaN
  sums or negative counts, and two states whose row counts overflow when
  merged;
- configs with absurd sizes, a negative norm epsilon, a denormal rope_theta;
- training states declaring huge widths (with a bad checksum, and with a
  length that does not match);
- a tokenizer.json whose vocabulary holds the id 10^9 (the token table
  would be sized by it);
- a corpus record {"text": "\\u0000abc"}."""
import json
import os
import shutil
import struct

import numpy as np

import make_models
from common import Fail, bytes_to_unicode, expect_error, main, run, save_npy, tmp, write_bos_bpe_tokenizer, write_tmp


def npy_header(descr, shape):
    h = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h


def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def check_overflowing_shapes():
    big = npy_header("<f4", "(4611686018427387904, 4611686018427387904)")
    expect_error(["estimate", write_tmp("h_big.npy", big + b"\0" * 64)], "h_big.npy")
    neg = npy_header("<f4", "(-5, 4)")
    expect_error(["estimate", write_tmp("h_neg.npy", neg + b"\0" * 64)], "h_neg.npy")
    # zero-width rows or strings hold no bytes, so the file's size cannot bound how many are claimed
    flat = npy_header("<f4", "(1099511627776, 0)")
    expect_error(["estimate", write_tmp("h_flat.npy", flat)], "h_flat.npy", "no columns")
    z = save_npy("h_z.npy", np.zeros((4, 2), np.float32))
    empty = npy_header("<U0", "(1099511627776,)")
    expect_error(["estimate", z, "--labels", "y=" + write_tmp("h_u0.npy", empty)], "h_u0.npy", "<U0")
    for shape in ([9223372036854775808, 4], [4294967296, 4294967296], [1e300, 1]):
        st = safetensors({"z": {"dtype": "F32", "shape": shape, "data_offsets": [0, 16]}}, b"\0" * 16)
        expect_error(["estimate", write_tmp("h_shape.safetensors", st)], "h_shape.safetensors", "shape")


def check_lenient_safetensors():
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    header = {"z": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
              "unused": {"dtype": "F32", "shape": [4, 4], "data_offsets": [32, 96]}}
    whole = safetensors(header, a.tobytes() + b"\0" * 64)
    run("estimate", write_tmp("h_whole.safetensors", whole), "--tensor", "z", "--bins", 4)
    expect_error(["estimate", write_tmp("h_cut.safetensors", whole[:-10]), "--tensor", "z"], "h_cut.safetensors", "truncated")
    hole = safetensors({"z": {"dtype": "F32", "shape": [2, 4], "data_offsets": [8, 40]}}, b"\0" * 40)
    expect_error(["estimate", write_tmp("h_hole.safetensors", hole)], "h_hole.safetensors", "hole")
    # a model whose header length is one byte too long reads every tensor a byte late
    path = make_models.make(tmp("h_models"), ["gpt2"])["gpt2"]
    b2u = bytes_to_unicode()
    write_bos_bpe_tokenizer(path, {b2u[b]: b for b in range(256)}, [], 299)
    with open(os.path.join(path, "model.safetensors"), "rb") as f:
        raw = bytearray(f.read())
    n = struct.unpack("<Q", raw[:8])[0]
    raw[:8] = struct.pack("<Q", n + 1)
    raw[8 + n] = ord(" ")  # the first data byte, now inside the header, made JSON whitespace
    shifted = tmp("h_shifted")
    shutil.copytree(path, shifted, dirs_exist_ok=True)
    with open(os.path.join(shifted, "model.safetensors"), "wb") as f:
        f.write(raw)
    corpus = write_tmp("h_corpus.txt", "one two three four five six seven\n" * 3)
    expect_error(["analyze", shifted, corpus, "--out", tmp("x")], "model.safetensors")


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def state_bytes(name, *extra):
    rng = np.random.default_rng(0)
    z, y = save_npy(f"{name}_z.npy", rng.standard_normal((64, 4)).astype(np.float32)), save_npy(f"{name}_y.npy", np.arange(64) % 3)
    path = tmp(f"{name}.state")
    run("estimate", z, "--labels", f"y={y}", "--bins", 4, "--save-state", path, "--quiet", *extra)
    with open(path, "rb") as f:
        return bytearray(f.read())


def resealed(name, raw):
    raw[-8:] = struct.pack("<Q", fnv1a64(bytes(raw[:-8])))
    return write_tmp(name, bytes(raw))


# the state header: magic 8, kind 4, m 8, d 8, seed 8, calibration 4,
# eps 8, weighting 4, min_count 8, null_perms 4, null_seed 8, per_value 4,
# correction 4, bootstrap 4, bootstrap_seed 8, level 8, null_groups 4,
# null_sums 4, null_reservoir 8, product 4; then w [m, d] float32,
# total [m], total_sq [m], rows, skipped, rows_first, rows_end
M, D, HEAD, D_AT = 4, 4, 120, 20
RESERVOIR_AT, PRODUCT_AT = HEAD - 12, HEAD - 4
TOTAL = HEAD + M * D * 4
ROWS = TOTAL + 2 * M * 8


def check_states():
    good = state_bytes("h_s")
    raw = bytearray(good)
    raw[D_AT:D_AT + 8] = struct.pack("<q", 100_000_000)
    expect_error(["report", resealed("h_d.state", raw)], "h_d.state", "corrupt header")
    raw = bytearray(good)
    raw[TOTAL:TOTAL + 8] = struct.pack("<d", float("nan"))
    expect_error(["report", resealed("h_nan.state", raw)], "h_nan.state", "impossible values")
    raw = bytearray(good)
    raw[ROWS:ROWS + 8] = struct.pack("<q", -5)
    expect_error(["report", resealed("h_negrows.state", raw)], "h_negrows.state", "impossible values")
    raw = bytearray(good)
    raw[ROWS:ROWS + 8] = struct.pack("<q", 2**62 + 1)
    expect_error(["report", resealed("h_rowrange.state", raw)], "h_rowrange.state", "row range")
    # a state spans at most 2^48 rows (rows_first and rows_end, after rows and skipped)
    raw[ROWS + 16:ROWS + 32] = struct.pack("<qq", 0, 2**62 + 1)
    expect_error(["report", resealed("h_bigrows.state", raw)], "h_bigrows.state", "row range")
    # the scaled null's sample (20 of the 64 rows) ends the file: its last
    # row's last soft assignment, its capacity in the header
    good = state_bytes("h_sc", "--null", "scaled:20")
    raw = bytearray(good)
    raw[-12:-8] = struct.pack("<f", 2.0)
    expect_error(["report", resealed("h_sc_p.state", raw)], "h_sc_p.state", "corrupt scaled-null sample")
    raw = bytearray(good)
    raw[RESERVOIR_AT:RESERVOIR_AT + 8] = struct.pack("<q", 2**40)
    expect_error(["report", resealed("h_sc_cap.state", raw)], "h_sc_cap.state", "corrupt header")
    raw = bytearray(good)
    raw[RESERVOIR_AT:RESERVOIR_AT + 8] = struct.pack("<q", 10)  # fewer than the 20 rows it holds
    expect_error(["report", resealed("h_sc_few.state", raw)], "h_sc_few.state", "corrupt scaled-null sample")
    raw = bytearray(good)
    raw[PRODUCT_AT:PRODUCT_AT + 4] = struct.pack("<i", 7)  # no such product
    expect_error(["report", resealed("h_product.state", raw)], "h_product.state", "corrupt header")


def check_valid_files_still_load():
    """The bounds refuse what cannot be, not what is: a taylor state with a
    null (whose permutations carry no squares) loads; a safetensors file
    whose empty tensor shares its offset with a full one loads in either
    header order."""
    raw = state_bytes("h_taylor", "--correction", "taylor", "--null", 5)
    run("report", write_tmp("h_taylor_copy.state", bytes(raw)), "--quiet")
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    for order in (("z", "e"), ("e", "z")):
        entries = {"z": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]},
                   "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}}
        st = safetensors({k: entries[k] for k in order}, a.tobytes())
        run("estimate", write_tmp("h_empty.safetensors", st), "--tensor", "z", "--bins", 4, "--quiet")


def check_configs():
    path = make_models.make(tmp("h_cfg"), ["gpt2", "llama"])
    cases = [("gpt2", {"n_layer": 2147483647}, "limits"), ("gpt2", {"layer_norm_epsilon": -1}, "epsilon"),
             ("llama", {"rms_norm_eps": -1}, "epsilon"), ("llama", {"rope_theta": 1e-320}, "rope_theta"),
             ("llama", {"vocab_size": 2000000000}, "limits")]
    for k, (name, change, words) in enumerate(cases):
        d = tmp(f"h_cfg_{k}")
        shutil.copytree(path[name], d, dirs_exist_ok=True)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        cfg.update(change)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        b2u = bytes_to_unicode()
        write_bos_bpe_tokenizer(d, {b2u[b]: b for b in range(256)}, [], 299)
        expect_error(["analyze", d, write_tmp("h_c.txt", "a b c d e f g h\n"), "--out", tmp("x")], "config.json", words)


def train_state():
    corpus = write_tmp("h_train.txt", "the quick brown fox jumps over the lazy dog\n" * 30)
    run_dir = tmp("h_run")
    shutil.rmtree(run_dir, ignore_errors=True)
    run("train", corpus, "--out", run_dir, "--layers", 1, "--d-model", 16, "--heads", 2, "--context", 16, "--batch", 2,
        "--steps", 2, "--checkpoints", 2, "--quiet")
    with open(os.path.join(run_dir, "train_state.bin"), "rb") as f:
        return corpus, run_dir, bytearray(f.read())


def check_training_states():
    corpus, run_dir, good = train_state()
    state = os.path.join(run_dir, "train_state.bin")
    # the slots follow a 16-byte head; find the d_model slot by its value 16 next to 1 layer, 2 heads
    slots = np.frombuffer(bytes(good[16:16 + 8 * 64]), dtype="<i8")
    idx = [i for i, v in enumerate(slots) if v == 16]
    for i in idx[:3]:
        raw = bytearray(good)
        raw[16 + 8 * i:16 + 8 * i + 8] = struct.pack("<q", 32768)
        with open(state, "wb") as f:
            f.write(raw)
        expect_error(["train", corpus, "--out", run_dir, "--resume"], "train_state.bin")
    with open(state, "wb") as f:
        f.write(good[:-100])
    expect_error(["train", corpus, "--out", run_dir, "--resume"], "train_state.bin")
    with open(state, "wb") as f:
        f.write(good + b"\0")
    expect_error(["train", corpus, "--out", run_dir, "--resume"], "train_state.bin")


def check_sparse_token_ids():
    d = tmp("h_tok")
    os.makedirs(d, exist_ok=True)
    b2u = bytes_to_unicode()
    write_bos_bpe_tokenizer(d, {b2u[b]: b for b in range(255)} | {b2u[255]: 10**9}, [], 299)
    expect_error(["tokenize", d, write_tmp("h_tok.txt", "hello\n")], "tokenizer.json", "token id 1000000000")


def check_nul_in_corpus():
    corpus = write_tmp("h_nul.jsonl", '{"text": "\\u0000abc"}\n{"text": "hello there general kenobi, you are a bold one"}\n')
    p = run("train", corpus, "--out", tmp("h_nul_run"), "--layers", 1, "--d-model", 16, "--heads", 2, "--context", 4,
            "--batch", 1, "--steps", 1, "--checkpoints", 1, "--val-fraction", 0, "--quiet", ok=False)
    if p.returncode not in (0, 1):
        raise Fail(f"train on a NUL record exited {p.returncode}: {p.stderr}")


main(globals())
