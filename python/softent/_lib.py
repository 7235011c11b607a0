"""The C library through ctypes: its structs, its functions' prototypes,
and one place that turns a failed status into a Python exception.

ctypes, not cffi or a C extension: it is in every Python, needs no
compiler or Python headers at install time (the package stays pure Python
and installs offline with Debian's pip), and each call moves a whole batch,
so the per-call cost (microseconds) is nothing beside the work.  The struct
layouts below mirror include/softent.h; tests/test_python.py compares them
field by field with offsetof() from a compiled C program.
"""
import ctypes
import ctypes.util
import os

c_int64, c_uint64, c_int, c_double, c_char_p = ctypes.c_int64, ctypes.c_uint64, ctypes.c_int, ctypes.c_double, ctypes.c_char_p
P = ctypes.POINTER


class Params(ctypes.Structure):
    _fields_ = [("m", c_int64), ("seed", c_uint64), ("calibration", c_int), ("eps", c_double), ("weighting", c_int),
                ("min_count", c_int64), ("null_perms", c_int), ("null_seed", c_uint64), ("max_memory", c_int64),
                ("per_value", c_int), ("correction", c_int), ("null_sums", c_int), ("bootstrap", c_int),
                ("bootstrap_seed", c_uint64), ("level", c_double), ("null_groups", c_int), ("null_reservoir", c_int64),
                ("spill_dir", c_char_p), ("product", c_int)]


class Summary(ctypes.Structure):
    _fields_ = [("m", c_int64), ("d", c_int64), ("eps", c_double), ("rows", c_int64), ("skipped", c_int64),
                ("H", c_double), ("n_labelsets", c_int), ("bootstrap", c_int), ("H_lo", c_double), ("H_hi", c_double)]


class Measures(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("arity", c_int), ("n_values", c_int64), ("n_kept_values", c_int64),
                ("n_stored", c_int64), ("rows", c_int64), ("H", c_double), ("H_cond", c_double), ("mi", c_double),
                ("regularity", c_double), ("correction", c_int), ("mi_corrected", c_double), ("H_curve", c_double),
                ("H_cond_curve", c_double), ("mi_curve", c_double), ("curve_levels", c_int), ("mi_taylor", c_double),
                ("null_perms", c_int), ("null_scaled", c_int64), ("mi_null_mean", c_double), ("mi_null_sd", c_double),
                ("mi_null_corrected", c_double), ("p_value", c_double), ("bootstrap", c_int), ("H_lo", c_double),
                ("H_hi", c_double), ("mi_lo", c_double), ("mi_hi", c_double), ("mi_corrected_lo", c_double),
                ("mi_corrected_hi", c_double), ("mi_corrected_fixed_sd", c_double)]


class ModelConfig(ctypes.Structure):
    _fields_ = [("arch", ctypes.c_char * 32), ("n_layers", c_int), ("d_model", c_int), ("n_heads", c_int), ("n_kv_heads", c_int),
                ("head_dim", c_int), ("d_ff", c_int), ("vocab_size", c_int), ("max_positions", c_int)]


# softent_hidden_fn: (layer, h [n, d], n, d, user) -> nonzero to stop
HIDDEN_FN = ctypes.CFUNCTYPE(c_int, c_int, P(ctypes.c_float), c_int64, c_int64, ctypes.c_void_p)

CALIBRATIONS = {"exact": 0, "bound": 1, "leading": 2, "fixed": 3}
WEIGHTINGS = {"prob": 0, "uniform": 1}
PRODUCTS = {"f32": 0, "bf16": 1}
CORRECTIONS = {"curve": 0, "null": 1, "none": 2, "taylor": 3}
CORRECTION_NAMES = {v: k for k, v in CORRECTIONS.items()}
NO_LABEL = -(2 ** 63)
MAX_ARITY = 4


def _find():
    """$SOFTENT_LIBRARY, else the copy installed beside this module, else
    the system's (make install)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get("SOFTENT_LIBRARY"), os.path.join(here, "libsoftent.so.0")):
        if path and os.path.exists(path):
            return path
    return ctypes.util.find_library("softent") or "libsoftent.so.0"


def _load():
    path = _find()
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"softent: cannot load the C library ({e}); build it (make) and install this package again "
                          "(pip install --no-build-isolation ./python), or point SOFTENT_LIBRARY at libsoftent.so.0") from None


lib = _load()
_VOIDP = ctypes.c_void_p
_PROTOTYPES = {
    "softent_last_error": (c_char_p, []),
    "softent_default_params": (Params, []),
    "softent_calibrate": (c_int, [c_int, c_int64, c_int64, P(c_double)]),
    "softent_acc_new": (c_int, [P(_VOIDP), P(Params), c_int64, P(ctypes.c_float)]),
    "softent_acc_free": (None, [_VOIDP]),
    "softent_acc_add_labelset": (c_int, [_VOIDP, c_char_p, c_int, P(c_int)]),
    "softent_acc_count": (c_int, [_VOIDP, c_int, P(c_int64), c_int64]),
    "softent_acc_count_groups": (c_int, [_VOIDP, P(c_int64), c_int64]),
    "softent_acc_append_labels": (c_int, [_VOIDP, P(P(c_int64)), P(c_int64), c_int64]),
    "softent_acc_add": (c_int, [_VOIDP, P(ctypes.c_float), c_int64, c_int64]),
    "softent_acc_add_probs": (c_int, [_VOIDP, P(ctypes.c_float), c_int64, c_int64]),
    "softent_acc_finish": (c_int, [_VOIDP]),
    "softent_acc_summary": (c_int, [_VOIDP, P(Summary)]),
    "softent_acc_params": (c_int, [_VOIDP, P(Params)]),
    "softent_acc_refpoints": (P(ctypes.c_float), [_VOIDP]),
    "softent_acc_labelset": (c_int, [_VOIDP, c_int, P(Measures)]),
    "softent_acc_value": (c_int, [_VOIDP, c_int, c_int64, P(c_int64), P(c_int64), P(c_double)]),
    "softent_acc_memory": (c_int64, [_VOIDP]),
    "softent_acc_save": (c_int, [_VOIDP, c_char_p]),
    "softent_acc_load": (c_int, [P(_VOIDP), c_char_p]),
    "softent_acc_merge": (c_int, [_VOIDP, _VOIDP]),
    "softent_acc_set_first_row": (c_int, [_VOIDP, c_int64]),
    "softent_acc_serialize": (c_int, [_VOIDP, P(_VOIDP), P(ctypes.c_size_t)]),
    "softent_acc_absorb": (c_int, [_VOIDP, _VOIDP, ctypes.c_size_t]),
    "softent_acc_replicates": (c_int, [_VOIDP, c_int, c_int, P(c_double)]),
    "softent_interval": (None, [P(c_double), c_int, c_double, c_double, c_double, P(c_double), P(c_double)]),
    "softent_free": (None, [_VOIDP]),
    "softent_analysis_tokenizer_load": (c_int, [P(_VOIDP), c_char_p]),
    "softent_tokenizer_encode": (c_int, [_VOIDP, c_char_p, ctypes.c_size_t, c_int, P(P(ctypes.c_int32)), P(c_int64)]),
    "softent_tokenizer_vocab_size": (c_int64, [_VOIDP]),
    "softent_tokenizer_token": (c_char_p, [_VOIDP, ctypes.c_int32]),
    "softent_tokenizer_free": (None, [_VOIDP]),
    "softent_model_load": (c_int, [P(_VOIDP), c_char_p]),
    "softent_model_free": (None, [_VOIDP]),
    "softent_model_get_config": (c_int, [_VOIDP, P(ModelConfig)]),
    "softent_model_set_compute": (c_int, [_VOIDP, c_int]),
    "softent_model_get_compute": (c_int, [_VOIDP]),
    "softent_model_forward": (c_int, [_VOIDP, P(ctypes.c_int32), c_int64, HIDDEN_FN, _VOIDP, P(ctypes.c_float)]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args


class SoftentError(RuntimeError):
    """A call into the library failed: the library's own one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def check(status, what=""):
    """Raise for a failed status, with softent_last_error()'s detail.
    Bad arguments (SOFTENT_E_INVALID, E_MISMATCH, E_EMPTY) raise ValueError."""
    if status == 0:
        return
    detail = (lib.softent_last_error() or b"").decode("utf-8", "replace")
    message = f"{what}: {detail}" if what else detail
    if status in (1, 6, 9):
        raise ValueError(message)
    if status == 2:
        raise MemoryError(message)
    if status == 3:
        raise OSError(message)
    raise SoftentError(status, message)
