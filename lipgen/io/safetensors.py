"""safetensors files holding a Linear/ReLU state dict (same key conventions as PyTorch), read without torch."""

from __future__ import annotations

from pathlib import Path

from ..errors import LipgenError
from .common import Imported, first_line, require
from .torch import linear_chain


def read(path: Path, src: str, layers: list[str] | None) -> Imported:
    safetensors = require("safetensors", src, "safetensors")
    numpy_io = require("safetensors.numpy", src, "safetensors")
    try:
        tensors = numpy_io.load_file(str(path))
    except TypeError as e:  # a dtype numpy lacks (bfloat16, float8): only torch can widen it
        tensors = _via_torch(path, src, e)
    except (safetensors.SafetensorError, OSError, ValueError) as e:
        raise LipgenError(f"{src}: not a readable safetensors file ({first_line(e)})") from None
    return linear_chain(tensors, src, layers)


def _via_torch(path: Path, src: str, err: TypeError) -> dict:
    try:
        import torch
        from safetensors.torch import load_file
    except ImportError:
        raise LipgenError(f"{src}: holds tensors numpy cannot read ({first_line(err)}): pip install torch to "
                          f"read them") from None
    return {k: v.to(torch.float64).numpy() for k, v in load_file(str(path)).items()}
