"""What every weights reader shares: the reader's result, optional imports, names, hashing, validation.

The foreign readers (onnx.py, torch.py, safetensors.py) return the affine layers in forward order as an
`Imported`; `lipgen.io.load` turns them into a validated float64 `Network`. The heavy libraries (onnx,
torch, safetensors) are optional extras imported only when needed (`require`).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
import numpy as np

from ..errors import LipgenError
from ..paths import file_sha256
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


IMPORTER_SUFFIXES = (".onnx", ".safetensors", ".pt", ".pth")


def sanitize_name(text: str, default: str = "net") -> str:
    """A file-name-safe name: [A-Za-z0-9_.-] only, no '__' (the instance-name separator), at most 60 chars."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(text))
    name = re.sub(r"_+", "_", name).strip("_.-")
    return name[:60].rstrip("_.-") or default


MAX_ENTRIES = 200_000_000  # per weight array (1.6 GB in float64): a claimed 2e6 x 2e6 matrix is refused, not allocated
MAX_MAGNITUDE = 1e100  # weights, biases and domain bounds: products over layers and boxes stay finite in float64
MAX_PRODUCT_EXP = 150  # the product of the layers' scales (an estimate of L) stays within 1e+-150
MIN_MAGNITUDE = 1e-300  # nonzero entries below it are (nearly) subnormal: float64 arithmetic on them is not exact
# (trained networks hold entries of 1e-102; whether the scaled instance stays readable is checked at generation)


def magnitude_problem(a) -> str | None:
    """Why the entries of `a` are out of lipgen's range (None when they are not)."""
    mag = np.abs(np.asarray(a, dtype=np.float64))
    big = np.flatnonzero(mag > MAX_MAGNITUDE)
    if big.size:
        return f"an entry of magnitude {mag.flat[big[0]]:.3g}, above the limit {MAX_MAGNITUDE:g}"
    tiny = np.flatnonzero((mag > 0) & (mag < MIN_MAGNITUDE))
    if tiny.size:
        return (f"a nonzero entry of magnitude {mag.flat[tiny[0]]:.3g}, below the limit {MIN_MAGNITUDE:g} "
                "(set it to 0 or rescale the network)")
    return None


def validate(network: Network, *, source: str | None = None) -> None:
    """Raise LipgenError at the first problem: no layers, bad shapes or dtypes, NaN/Inf, a bad stored domain."""
    src = source or network.meta.get("source") or f"network {network.name!r}"
    ws, bs = list(network.weights), list(network.biases)
    if not ws:
        raise LipgenError(f"{src}: no layers")
    if len(ws) != len(bs):
        raise LipgenError(f"{src}: {len(ws)} weight matrices but {len(bs)} bias vectors")
    names = network.meta.get("layer_names") or []
    label = (lambda k: f"layer {k} ({names[k]})") if len(names) == len(ws) else (lambda k: f"layer {k}")
    for k, (w, b) in enumerate(zip(ws, bs)):
        w, b = np.asarray(w), np.asarray(b)
        for part, a in (("weight", w), ("bias", b)):
            if a.dtype.kind not in "iuf":
                raise LipgenError(f"{src}: {label(k)}: {part} has non-numeric dtype {a.dtype}")
        if w.ndim != 2:
            raise LipgenError(f"{src}: {label(k)}: weight has shape {w.shape}, expected a 2-D (n_out, n_in) "
                              f"matrix (only dense/Linear layers are supported)")
        if 0 in w.shape:
            raise LipgenError(f"{src}: {label(k)}: empty layer, weight has shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise LipgenError(f"{src}: {label(k)}: bias length mismatch, bias has shape {b.shape} but the weight "
                              f"{w.shape} has {w.shape[0]} rows")
        if k and w.shape[1] != np.shape(ws[k - 1])[0]:
            prev = np.shape(ws[k - 1])
            raise LipgenError(f"{src}: shape mismatch: {label(k)} weight {w.shape} takes {w.shape[1]} inputs but "
                              f"{label(k - 1)} weight {prev} gives {prev[0]} outputs")
        for part, a in (("weight", w), ("bias", b)):
            if not np.all(np.isfinite(a)):
                bad = "NaN" if np.isnan(a).any() else "Inf"
                raise LipgenError(f"{src}: {label(k)}: {part} contains {bad} values")
            if why := magnitude_problem(a):
                raise LipgenError(f"{src}: {label(k)}: {part} has {why}")
    reach = sum(np.log10(float(np.abs(w).max()) * max(np.shape(w))) for w in ws if np.any(w))
    if abs(reach) > MAX_PRODUCT_EXP:
        raise LipgenError(f"{src}: the layers' largest weights multiply to about 1e{reach:.0f}, beyond the range "
                          f"lipgen handles (1e-{MAX_PRODUCT_EXP} to 1e{MAX_PRODUCT_EXP}): rescale the layers")
    lo, up = network.domain_lower, network.domain_upper
    if lo is None and up is None:
        return
    if lo is None or up is None:
        raise LipgenError(f"{src}: stored domain needs both lower and upper")
    lo, up = np.asarray(lo), np.asarray(up)
    n = ws[0].shape[1]
    for part, a in (("lower", lo), ("upper", up)):
        if a.dtype.kind not in "iuf":
            raise LipgenError(f"{src}: stored domain {part} has non-numeric dtype {a.dtype}")
        if a.shape != (n,):
            raise LipgenError(f"{src}: stored domain {part} has shape {a.shape}, wrong dimension: the network "
                              f"has {n} inputs")
        if not np.all(np.isfinite(a)):
            raise LipgenError(f"{src}: stored domain {part} has NaN/Inf values")
    bad = np.flatnonzero(lo > up)
    if bad.size:
        i = int(bad[0])
        raise LipgenError(f"{src}: stored domain lower > upper at input {i} ({lo[i]:g} > {up[i]:g})")


def as_float64(net: Network) -> Network:
    f64 = lambda a: None if a is None else np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    net.weights = [f64(w) for w in net.weights]
    net.biases = [f64(b) for b in net.biases]
    net.domain_lower, net.domain_upper = f64(net.domain_lower), f64(net.domain_upper)
    return net


def sha256(path, src: str | None = None) -> str:
    """SHA-256 of a weights file's bytes; a one-line LipgenError when it cannot be read."""
    return file_sha256(path, src, what="weights file")
