"""Import ReLU networks from ONNX graphs, PyTorch state dicts (.pt/.pth) and safetensors files.

Each reader returns the affine layers in forward order; `load_model` turns them into a validated float64
`Network`. The heavy libraries (onnx, torch, safetensors) are optional extras imported only when needed.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LipgenError
from ..network import Network

LAYOUTS = {".onnx": "onnx", ".pt": "torch", ".pth": "torch", ".safetensors": "safetensors"}
_EXTRA = {"onnx": "onnx", "torch": "torch", "safetensors": "safetensors"}


@dataclass
class Imported:
    """What a reader found: (n_out, n_in) weights and biases in forward order, one label per layer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    labels: list[str]
    meta: dict = field(default_factory=dict)


def require(module: str, src: str, layout: str):
    """Import an optional dependency, or say which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pkg = module.split(".")[0]
        raise LipgenError(f"{src}: reading {layout} files needs the Python package {pkg!r} (pip install {pkg}, "
                          f"or pip install 'lipgen[{_EXTRA[layout]}]')") from None


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def load_model(path: str | os.PathLike, *, layers: list[str] | None = None) -> Network:
    """Read an .onnx, .pt/.pth or .safetensors file as a validated Network named after the file stem.

    `layers` gives the forward order of the Linear layers of a state dict (torch/safetensors only).
    """
    from ..weights import sanitize_name, validate

    path = Path(path)
    src = str(path)
    layout = LAYOUTS.get(path.suffix.lower())
    if layout is None:
        raise LipgenError(f"{src}: unknown model format {path.suffix or '(no suffix)'!r}: expected .onnx, .pt, "
                          f".pth or .safetensors")
    digest = _sha256(path, src)
    if layout == "onnx":
        if layers:
            raise LipgenError(f"{src}: --layers applies only to PyTorch and safetensors state dicts (an ONNX graph "
                              f"fixes its own layer order)")
        from .onnx_model import read
    elif layout == "torch":
        from .torch_model import read
    else:
        from .safetensors_model import read
    found = read(path, src, list(layers) if layers else None)
    net = Network([np.ascontiguousarray(w, dtype=np.float64) for w in found.weights],
                  [np.ascontiguousarray(b, dtype=np.float64) for b in found.biases],
                  name=sanitize_name(path.stem),
                  meta={"layout": layout, "source": src, "source_sha256": digest, "layer_names": found.labels,
                        **found.meta})
    validate(net, source=src)
    return net


def convert(src: str | os.PathLike, dst: str | os.PathLike, *, layers: list[str] | None = None,
            domain_lower=None, domain_upper=None) -> Network:
    """Read any supported weights file and write it in the native lipgen schema; returns what was written.

    A scalar domain bound applies to every input.
    """
    from ..weights import IMPORTER_SUFFIXES, load, save

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
    from ..paths import check_output_dir

    if dst.is_dir():
        raise LipgenError(f"-o {dst}: is a directory, not a weights file")
    if dst.exists() or dst.is_symlink():
        try:
            import h5py

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


def _sha256(path: Path, src: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        raise LipgenError(f"{src}: no such file") from None
    except IsADirectoryError:
        raise LipgenError(f"{src}: is a directory, not a model file") from None
    except OSError as e:
        raise LipgenError(f"{src}: cannot read the file ({e.strerror or e})") from None
    return h.hexdigest()
