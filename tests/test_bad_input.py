"""Bad input gets a one-line error that names the file and the problem, and
a nonzero exit; never a crash (the sanitizer build runs this too) and never
a number."""
import numpy as np

import common
from common import Fail, main, run, save_npy, tmp, write_tmp


def good():
    z = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    return save_npy("good.npy", z), save_npy("good_y.npy", np.arange(50) % 5)


def expect_error(args, *words, code=None):
    common.expect_error(args, *words, code=code, results="results")


write = write_tmp


def check_truncated_npy():
    z, _ = good()
    blob = open(z, "rb").read()
    expect_error(["estimate", write("trunc.npy", blob[:-100])], "trunc.npy", "truncated")
    expect_error(["estimate", write("trunc_header.npy", blob[:40])], "trunc_header.npy", "header")


def check_corrupt_npy():
    z, _ = good()
    blob = open(z, "rb").read()
    expect_error(["estimate", write("magic.npy", b"XNUMPY" + blob[6:])], "magic.npy", "not a .npy")
    expect_error(["estimate", write("dict.npy", blob[:10] + b"{'nonsense': 1}".ljust(len(blob) - 10 - 1600) + b"\n" + blob[-1600:])],
                 "dict.npy", "header")
    expect_error(["estimate", write("garbage.npy", bytes(range(256)) * 4)], "garbage.npy")


def check_wrong_dtype():
    expect_error(["estimate", save_npy("ints.npy", np.ones((10, 4), dtype=np.int32))], "ints.npy", "int32")
    expect_error(["estimate", save_npy("u8.npy", np.ones((10, 4), dtype=np.uint8))], "u8.npy", "dtype")
    expect_error(["estimate", save_npy("c64.npy", np.ones((10, 4), dtype=np.complex64))], "c64.npy", "dtype")
    expect_error(["estimate", save_npy("be.npy", np.ones((10, 4), dtype=">f4"))], "be.npy", "dtype")
    z, _ = good()
    expect_error(["estimate", z, "--labels", "x=" + save_npy("float_labels.npy", np.ones(50))], "float_labels.npy", "int")


def check_wrong_rank():
    expect_error(["estimate", save_npy("one_d.npy", np.ones(10, dtype=np.float32))], "one_d.npy", "2-D")
    expect_error(["estimate", save_npy("three_d.npy", np.ones((2, 3, 4), dtype=np.float32))], "three_d.npy", "2-D")
    expect_error(["estimate", save_npy("fortran.npy", np.asfortranarray(np.ones((5, 4), dtype=np.float32)))], "fortran.npy", "Fortran")
    z, _ = good()
    expect_error(["estimate", z, "--labels", "x=" + save_npy("labels3d.npy", np.ones((50, 2, 2), dtype=np.int64))], "labels3d.npy")


def check_label_length():
    z, _ = good()
    expect_error(["estimate", z, "--labels", "y=" + save_npy("short.npy", np.arange(49))], "short.npy", "49 labels", "50 rows")
    csv = write("labels.csv", b"label\n1\n2\nthree\n")
    expect_error(["estimate", z, "--labels", "y=" + csv], "labels.csv", "3 labels", "50 rows")


def check_empty_files():
    z, _ = good()
    expect_error(["estimate", write("empty.npy", b"")], "empty.npy", "empty")
    expect_error(["estimate", save_npy("norows.npy", np.ones((0, 4), dtype=np.float32))], "norows.npy", "no rows")
    expect_error(["estimate", z, "--labels", "y=" + write("empty_labels.npy", b"")], "empty_labels.npy", "empty")
    expect_error(["estimate", write("empty.csv", b"")], "empty.csv")
    expect_error(["estimate", tmp("does-not-exist.npy")], "does-not-exist.npy", "cannot open")


def check_all_zero_rows():
    expect_error(["estimate", save_npy("zeros.npy", np.zeros((20, 4), dtype=np.float32))], "zeros.npy", "no usable rows")
    nan = np.full((20, 4), np.nan, dtype=np.float32)
    expect_error(["estimate", save_npy("nans.npy", nan)], "nans.npy", "no usable rows")


def check_dimension_and_bins():
    expect_error(["estimate", save_npy("d1.npy", np.ones((20, 1), dtype=np.float32))], "d1.npy", "d >= 2")
    z, _ = good()
    expect_error(["estimate", z, "--bins", 1], "--bins", code=2)
    expect_error(["calibrate", "--dim", 1, "--bins", 100], "d")
    expect_error(["calibrate", "--dim", 64, "--bins", 1], "m")
    expect_error(["estimate", z, "--refpoints", save_npy("w1.npy", np.ones((1, 8), dtype=np.float32))], "2")
    expect_error(["estimate", z, "--refpoints", save_npy("wd.npy", np.ones((4, 7), dtype=np.float32))], "wd.npy", "dimension")


def check_unknown_flags_and_values():
    z, y = good()
    expect_error(["estimate", z, "--frobnicate"], "--frobnicate", code=2)
    expect_error(["estimate", z, "--calibration", "warm"], "warm", code=2)
    expect_error(["estimate", z, "--null", "-3"], "--null", code=2)
    expect_error(["estimate", z, "--labels", "novalue"], "NAME=PATH", code=2)
    expect_error(["estimate", z, "--optimality", "a,b", "--labels", "y=" + y], "a,b", code=2)
    expect_error(["frobnicate"], "frobnicate", code=2)
    expect_error(["estimate"], "no embedding file", code=2)


def check_statistics_options():
    """--bootstrap 1, --null out of range, --groups of the wrong length or
    without --bootstrap, --correction null without a null, a bad --level:
    each a clear error, never a run that prints NaN."""
    z, y = good()
    n = len(np.load(y))
    for b in ("1", "-2", "many"):
        expect_error(["estimate", z, "--labels", "y=" + y, "--bootstrap", b], "--bootstrap", code=2)
    for r in ("-1", "100001", "1e9"):
        expect_error(["estimate", z, "--labels", "y=" + y, "--null", r], "--null", code=2)
    for level in ("0", "1", "1.5", "x"):
        expect_error(["estimate", z, "--labels", "y=" + y, "--bootstrap", 50, "--level", level], "--level", code=2)
    expect_error(["estimate", z, "--labels", "y=" + y, "--correction", "null"], "null", "--null")
    expect_error(["estimate", z, "--labels", "y=" + y, "--correction", "sideways"], "sideways", code=2)
    short = save_npy("bad_groups.npy", np.arange(n - 3, dtype=np.int64))
    expect_error(["estimate", z, "--labels", "y=" + y, "--bootstrap", 50, "--groups", short], "bad_groups.npy", str(n))
    expect_error(["estimate", z, "--labels", "y=" + y, "--groups", short], "--groups", "--bootstrap", code=2)
    expect_error(["estimate", z, "--labels", "y=" + y, "--bootstrap", 50, "--save-state", tmp("b.state")], "--bootstrap", "state", code=2)


def check_min_count_that_leaves_nothing():
    """A min-count above every count: the table says the corrected I is
    unknown and the JSON holds null, never NaN."""
    z, y = good()
    p = run("estimate", z, "--labels", "y=" + y, "--min-count", 10 ** 9, "--bootstrap", 20, "--json", tmp("mc.json"))
    text = open(tmp("mc.json")).read()
    if "NaN" in text or "nan" in p.stdout.lower():
        raise Fail(f"min-count leaving nothing printed NaN:\n{p.stdout}")


def check_safetensors_errors():
    expect_error(["estimate", write("bad.safetensors", b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")], "bad.safetensors")
    expect_error(["estimate", write("huge.safetensors", b"\xff" * 16)], "huge.safetensors")
    text = b'{"a": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}'
    path = write("short.safetensors", len(text).to_bytes(8, "little") + text + b"\0" * 10)
    expect_error(["estimate", path], "short.safetensors", "truncated")
    expect_error(["estimate", path, "--tensor", "b"], "short.safetensors", "truncated")  # refused whole, whatever is asked
    whole = write("whole.safetensors", len(text).to_bytes(8, "little") + text + b"\0" * 64)
    expect_error(["estimate", whole, "--tensor", "b"], "whole.safetensors", "'b'")


def check_memory_limit():
    z, y = good()
    expect_error(["estimate", z, "--labels", "y=" + y, "--null", 1000, "--max-memory", 1], "--max-memory")


main(globals())
