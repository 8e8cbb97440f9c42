"""What the HDF5 readers (native.py, keras.py) share: the parts a layout reader finds, and checked reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import h5py
import numpy as np

from ..errors import LipgenError
from .common import MAX_ENTRIES


@dataclass
class Parts:
    """What a layout reader found, before it becomes a Network."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    labels: list[str]
    name: str | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


def attr_text(value) -> str:
    """An HDF5 attribute (bytes, a one-element array, ...) as text."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def float_array(obj, what: str, src: str) -> np.ndarray:
    """A dataset as a float64 C-contiguous array, after checking it holds numbers."""
    if not isinstance(obj, h5py.Dataset):
        raise LipgenError(f"{src}: {what} is not a dataset")
    if obj.dtype.kind not in "iuf":
        raise LipgenError(f"{src}: {what} has non-numeric dtype {obj.dtype}")
    size = math.prod(obj.shape or ())
    if size > MAX_ENTRIES:
        raise LipgenError(f"{src}: {what} has shape {tuple(obj.shape)}, {size:.3g} entries, above the limit "
                          f"{MAX_ENTRIES:.3g} per array")
    return np.asarray(obj[()], dtype=np.float64, order="C")  # not ascontiguousarray: it makes a 0-D array 1-D
