"""Reading networks, one reader per format: the native HDF5 schema and state dicts in HDF5 (native.py), Keras
(keras.py), ONNX (onnx.py), PyTorch (torch.py), safetensors (safetensors.py); shared helpers in common.py.

`load` detects the layout of any supported file; every problem with a file is a one-line LipgenError naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from ..errors import LipgenError
from ..network import Network
from ..paths import check_output_dir
from . import onnx, safetensors, torch
from .common import IMPORTER_SUFFIXES, LAYOUTS, as_float64, sanitize_name, sha256, validate
from .native import read_hdf5, save

_READERS = {"onnx": onnx.read, "torch": torch.read, "safetensors": safetensors.read}

__all__ = ["IMPORTER_SUFFIXES", "LAYOUTS", "convert", "load", "load_foreign", "sanitize_name", "save", "validate"]


def load(path: str | os.PathLike, *, layers: list[str] | None = None) -> Network:
    """Read a weights file, detecting its layout; `layers` orders/selects the Linear layers of a state dict."""
    path = Path(path)
    src = str(path)
    try:
        path.stat()
    except FileNotFoundError:
        raise LipgenError(f"{src}: no such file") from None
    except OSError as e:
        raise LipgenError(f"{src}: cannot read the file ({e.strerror or e})") from None
    if path.is_dir():
        raise LipgenError(f"{src}: is a directory, not a weights file")
    digest = sha256(path, src)
    if path.suffix.lower() in IMPORTER_SUFFIXES:
        return _read_foreign(path, src, LAYOUTS[path.suffix.lower()], layers, digest)
    return read_hdf5(path, src, layers, digest)


def load_foreign(path: str | os.PathLike, *, layers: list[str] | None = None) -> Network:
    """Read an .onnx, .pt/.pth or .safetensors file as a validated Network named after the file stem.

    `layers` gives the forward order of the Linear layers of a state dict (torch/safetensors only).
    """
    path = Path(path)
    src = str(path)
    layout = LAYOUTS.get(path.suffix.lower())
    if layout is None:
        raise LipgenError(f"{src}: unknown weights format {path.suffix or '(no suffix)'!r}: expected .onnx, .pt, "
                          f".pth or .safetensors")
    return _read_foreign(path, src, layout, layers, sha256(path, src))


def _read_foreign(path: Path, src: str, layout: str, layers: list[str] | None, digest: str) -> Network:
    """The file read by its format's reader, hashed once (digest) and validated once."""
    if layout == "onnx" and layers:
        raise LipgenError(f"{src}: --layers applies only to PyTorch and safetensors state dicts (an ONNX graph "
                          f"fixes its own layer order)")
    found = _READERS[layout](path, src, list(layers) if layers else None)
    net = Network([np.ascontiguousarray(w, dtype=np.float64) for w in found.weights],
                  [np.ascontiguousarray(b, dtype=np.float64) for b in found.biases],
                  name=sanitize_name(path.stem),
                  meta={"layout": layout, "source": src, "source_sha256": digest, "layer_names": found.labels,
                        **found.meta})
    validate(net, source=src)
    return as_float64(net)


def convert(src: str | os.PathLike, dst: str | os.PathLike, *, layers: list[str] | None = None,
            domain_lower=None, domain_upper=None) -> Network:
    """Read any supported weights file and write it in the native lipgen schema; returns what was written.

    A scalar domain bound applies to every input.
    """
    if Path(dst).suffix.lower() in IMPORTER_SUFFIXES:
        raise LipgenError(f"{dst}: the output is a native lipgen HDF5 file: give it an .h5 suffix, not "
                          f"{Path(dst).suffix}")
    if Path(dst).resolve() == Path(src).resolve():
        raise LipgenError(f"{dst}: the output file is the input file")
    _check_replaceable(Path(dst))
    net = load(src, layers=layers)
    if domain_lower is not None:
        net.domain_lower = _bound(domain_lower, net.n_inputs)
    if domain_upper is not None:
        net.domain_upper = _bound(domain_upper, net.n_inputs)
    save(dst, net)
    return net


def _check_replaceable(dst: Path) -> None:
    """Refuse an output that exists and is not a native lipgen weights file (it would be lost), or whose folder
    cannot take it: checked before anything is read or written."""
    if dst.is_dir():
        raise LipgenError(f"-o {dst}: is a directory, not a weights file")
    if dst.exists() or dst.is_symlink():
        try:
            with h5py.File(dst, "r") as f:
                ours = f.attrs.get("lipgen_format") is not None
        except (OSError, ValueError):
            ours = False
        if not ours:
            raise LipgenError(f"-o {dst}: exists and is not a lipgen weights file: not overwritten (remove it first)")
    check_output_dir(dst.parent if str(dst.parent) else Path("."), "-o")


def _bound(value, n: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    return np.full(n, float(a)) if a.ndim == 0 else a
