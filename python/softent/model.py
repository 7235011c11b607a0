"""softent's own models and tokenizers from Python: a Hugging Face model
directory or a GGUF file (quantised too) run forward on the CPU by the C
library, as `softent analyze` runs them, every hidden state handed back as
a NumPy array; and the tokenizer of a model (its tokenizer.json, or a GGUF
file's metadata), exact to Hugging Face's.

    tok = softent.Tokenizer("model.gguf")
    model = softent.Model("model.gguf")
    ids = tok.encode("In the beginning")
    states = model.hidden_states(ids)      # [n_layers + 1] arrays [n, d]

The states feed Accumulator.update or LayerAccumulators.add_hidden_states
like PyTorch's; docs/python.md.
"""
import ctypes
import threading

import numpy as np

from . import _lib
from ._lib import check, lib

COMPUTES = {"auto": 0, "float32": 1, "bf16": 2}
_STOP = 0x50F7  # what the callback returns to stop a pass: no status code of the library's
_COMPUTE_NAMES = {1: "float32", 2: "bf16"}


class Tokenizer:
    """path: a tokenizer.json, a model directory holding one, or a .gguf
    file (its tokenizer.ggml.* metadata restated as tokenizer.json)."""

    def __init__(self, path):
        handle = ctypes.c_void_p()
        check(lib.softent_analysis_tokenizer_load(ctypes.byref(handle), str(path).encode()), str(path))
        self._handle, self.path = handle, str(path)
        self._lock = threading.Lock()

    def _h(self):
        if not self._handle:
            raise ValueError("the tokenizer is closed")
        return self._handle

    def encode(self, text, add_special_tokens=True):
        """Token ids (int32 [n]) of a str (UTF-8) or bytes, as Hugging Face's
        tokenizer(text)["input_ids"] gives them."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        ids, n = ctypes.POINTER(ctypes.c_int32)(), ctypes.c_int64()
        check(lib.softent_tokenizer_encode(self._h(), data, len(data), int(bool(add_special_tokens)), ctypes.byref(ids),
                                           ctypes.byref(n)), "encode")
        try:
            return np.ctypeslib.as_array(ids, shape=(n.value,)).copy() if n.value else np.zeros(0, np.int32)
        finally:
            lib.softent_free(ctypes.cast(ids, ctypes.c_void_p))

    @property
    def vocab_size(self):
        return int(lib.softent_tokenizer_vocab_size(self._h()))

    def token(self, i):
        """The vocabulary's spelling of id i (byte-level tokens in GPT-2's
        alphabet), or None."""
        s = lib.softent_tokenizer_token(self._h(), int(i))
        return s.decode("utf-8", "replace") if s is not None else None

    def close(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            lib.softent_tokenizer_free(handle)

    __del__ = close


class Model:
    """A causal language model softent runs (docs/models.md, docs/gguf.md):
    a directory with config.json and safetensors, or a .gguf file.
    compute: "auto" (bf16 products for a bf16 checkpoint where the CPU has
    the units), "float32" or "bf16".  One forward pass at a time."""

    def __init__(self, path, compute="auto"):
        if compute not in COMPUTES:
            raise ValueError(f"compute {compute!r}: use auto, float32 or bf16")
        handle = ctypes.c_void_p()
        check(lib.softent_model_load(ctypes.byref(handle), str(path).encode()), str(path))
        self._handle, self.path = handle, str(path)
        self._lock = threading.Lock()
        check(lib.softent_model_set_compute(handle, COMPUTES[compute]), "compute")
        c = _lib.ModelConfig()
        check(lib.softent_model_get_config(handle, ctypes.byref(c)))
        self.config = {f: (getattr(c, f).decode() if f == "arch" else getattr(c, f)) for f, _ in c._fields_}

    def _h(self):
        if not self._handle:
            raise ValueError("the model is closed")
        return self._handle

    @property
    def compute(self):
        """The products' arithmetic now: "float32" or "bf16"."""
        return _COMPUTE_NAMES[lib.softent_model_get_compute(self._h())]

    def forward(self, ids, on_hidden):
        """Run token ids [n] (positions 0..n-1); on_hidden(layer, h) gets each
        hidden state in turn, h a float32 [n, d] view valid only during the
        call (layer 0 the embeddings, the last after the final norm, as
        transformers' output_hidden_states).  on_hidden returning True stops
        the pass; an exception it raises stops it and is raised here."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if ids.ndim != 1 or len(ids) == 0:
            raise ValueError(f"token ids must be a non-empty 1-D array, got shape {ids.shape}")
        failure = []

        def call(layer, h, n, d, _user):
            try:
                return _STOP if on_hidden(layer, np.ctypeslib.as_array(h, shape=(n, d))) else 0
            except BaseException as e:  # noqa: B902 - carried across the C frame, raised below
                failure.append(e)
                return _STOP

        fn = _lib.HIDDEN_FN(call)
        with self._lock:
            rc = lib.softent_model_forward(self._h(), ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), len(ids), fn, None, None)
        if failure:
            raise failure[0]
        if rc != _STOP:
            check(rc, "forward")

    def hidden_states(self, ids, layers=None):
        """Every hidden state (or those of `layers`) of one sequence, copied:
        a list indexed by layer (None where not asked for) of [n, d] arrays."""
        want = None if layers is None else set(int(l) for l in layers)
        out = [None] * (self.config["n_layers"] + 1)

        def keep(layer, h):
            if want is None or layer in want:
                out[layer] = h.copy()
            return want is not None and layer >= max(want)

        self.forward(ids, keep)
        return out

    def close(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            lib.softent_model_free(handle)

    __del__ = close
