"""softent from Python: the soft-entropy estimator of the C library
(libsoftent) for NumPy arrays and PyTorch tensors, on CPUs and GPUs.

    acc = softent.Accumulator(d=768)
    for z, ids in batches:
        acc.update(z, labels={"token": ids})
    acc.results()   # {"H(Z)": ..., "I(X;Z)/token": ..., "I_corrected/token": ...}

docs/python.md has the whole interface; softent.compat is a drop-in for
soft_h's SoftEntropyAccumulator.
"""
from ._lib import SoftentError
from .accumulator import Accumulator, calibrate
from .model import Model, Tokenizer

__version__ = "0.1.0"
__all__ = ["Accumulator", "calibrate", "Model", "Tokenizer", "SoftentError"]
