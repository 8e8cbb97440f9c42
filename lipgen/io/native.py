"""HDF5 weights: the native lipgen schema (read and written) and PyTorch state dicts in HDF5; Keras files are
read by keras.py. `read_hdf5` detects the layout.

Every layout ends as a validated `Network` (float64, C-contiguous, z = W x + b); every problem with the
file is a one-line LipgenError naming the file.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path

import h5py
import numpy as np

from .. import atomic
from ..errors import LipgenError
from ..network import Network
from .common import as_float64, sanitize_name, validate
from .hdf5 import Parts, attr_text, float_array
from .keras import read_keras, read_keras_weights

FORMAT = "relu-mlp"
FORMAT_VERSION = 1
ACCEPTED = ("the lipgen native schema (root attribute lipgen_format='relu-mlp', /layers/<k>/weight and bias), "
            "a Keras .h5 model or save_weights file, a PyTorch state dict saved to HDF5 (0.weight, 0.bias, ...), "
            "or an .onnx/.safetensors/.pt/.pth file")
_STATE_KEY = re.compile(r"^(?:(?P<prefix>.+)\.)?(?P<index>[0-9]+)\.(?P<kind>weight|bias)$")
_LIBVER = ("earliest", "v108")  # fixed on both ends: the bytes written must not depend on the HDF5 build


# ----------------------------------------------------------------------------------------------- load

def _detect(f: h5py.File, src: str) -> str:
    attrs = f.attrs
    if "lipgen_format" in attrs:
        return "native"
    if "model_config" in attrs:
        return "keras"
    if "layer_names" in attrs or "layer_names0" in attrs:
        return "keras_weights"
    keys = list(f.keys())
    if any(k.endswith(".weight") for k in keys):
        return "state_dict"
    if not keys and not len(attrs):
        raise LipgenError(f"{src}: no layers (the HDF5 file is empty)")
    seen = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
    numbered = isinstance(f.get("layers"), h5py.Group) and all(k.isdigit() for k in f["layers"])
    hint = " (a /layers group without the root attribute lipgen_format='relu-mlp')" if numbered else ""
    raise LipgenError(f"{src}: unknown layout{hint}; the root holds: {seen or 'nothing'}; expected {ACCEPTED}")


# native schema

def _read_native(f: h5py.File, src: str, layers) -> Parts:
    fmt = attr_text(f.attrs["lipgen_format"])
    if fmt != FORMAT:
        raise LipgenError(f"{src}: lipgen_format {fmt!r} is not supported (expected {FORMAT!r})")
    version = f.attrs.get("lipgen_format_version")
    try:
        version_ok = int(np.asarray(version).reshape(())) == FORMAT_VERSION
    except (TypeError, ValueError):
        version_ok = False
    if not version_ok:
        shown = version.tolist() if isinstance(version, (np.ndarray, np.generic)) else version
        raise LipgenError(f"{src}: lipgen_format_version {shown!r} is not supported (this lipgen reads "
                          f"version {FORMAT_VERSION})")
    group = f.get("layers")
    if not isinstance(group, h5py.Group) or not len(group):
        raise LipgenError(f"{src}: no layers (the native schema needs /layers/0/weight, /layers/0/bias, ...)")
    names = list(group.keys())
    bad = [n for n in names if not re.fullmatch(r"[0-9]+", n)]
    if bad:
        raise LipgenError(f"{src}: unexpected entry /layers/{bad[0]} (layer groups are named 0, 1, 2, ...)")
    order = sorted(names, key=int)
    indices = [int(n) for n in order]
    if len(set(indices)) != len(indices):
        raise LipgenError(f"{src}: layer numbering has duplicates: {', '.join(order)}")
    missing = sorted(set(range(indices[-1] + 1)) - set(indices))
    if missing:
        raise LipgenError(f"{src}: gap in the layer numbering: no /layers/{missing[0]} "
                          f"(found {', '.join(order)})")
    weights, biases = [], []
    for n in order:
        g = group[n]
        for part in ("weight", "bias"):
            if not isinstance(g, h5py.Group) or part not in g:
                raise LipgenError(f"{src}: /layers/{n} has no {part} dataset")
        weights.append(float_array(g["weight"], f"/layers/{n}/weight", src))
        biases.append(float_array(g["bias"], f"/layers/{n}/bias", src))
    lower = upper = None
    if "domain" in f:
        d = f["domain"]
        if not isinstance(d, h5py.Group) or "lower" not in d or "upper" not in d:
            raise LipgenError(f"{src}: /domain needs both datasets lower and upper")
        lower, upper = float_array(d["lower"], "/domain/lower", src), float_array(d["upper"], "/domain/upper", src)
    name = attr_text(f.attrs["name"]) if "name" in f.attrs else None
    return Parts(weights, biases, [f"/layers/{n}" for n in order], name=name, lower=lower, upper=upper)


# PyTorch state dict

def _read_state_dict(f: h5py.File, src: str, layers) -> Parts:
    keys = list(f.keys())
    if layers:
        prefixes = list(layers)
        for p in prefixes:
            if f"{p}.weight" not in f:
                raise LipgenError(f"{src}: no dataset {p + '.weight'!r} for layer {p!r} given by --layers")
    else:
        found: dict[int, str] = {}
        groups = set()
        for k in keys:
            m = _STATE_KEY.match(k)
            if m is None:
                if k.endswith((".weight", ".bias")):
                    names = ", ".join(sorted(x.rsplit(".", 1)[0] for x in keys if x.endswith(".weight")))
                    raise LipgenError(f"{src}: cannot tell the order of the layers {names}: give --layers "
                                      f"NAME,NAME,... in forward order")
                raise LipgenError(f"{src}: entry {k!r} is not a Linear weight or bias: only state dicts of "
                                  f"torch.nn.Sequential(Linear, ReLU, ..., Linear) are supported")
            groups.add(m["prefix"])
            p = f"{m['prefix']}.{m['index']}" if m["prefix"] else m["index"]
            if found.setdefault(int(m["index"]), p) != p:
                raise LipgenError(f"{src}: two entries for layer index {m['index']}: {found[int(m['index'])]} "
                                  f"and {p}")
        if len(groups) > 1:
            raise LipgenError(f"{src}: state dict mixes prefixes {', '.join(sorted(map(str, groups)))}: give "
                              f"--layers NAME,NAME,... in forward order")
        prefixes = [found[i] for i in sorted(found)]
        for p in prefixes:
            if f"{p}.weight" not in f:
                raise LipgenError(f"{src}: layer {p!r} has a bias but no weight ({p}.weight)")
    weights, biases = [], []
    for p in prefixes:
        w = float_array(f[f"{p}.weight"], f"{p}.weight", src)
        weights.append(w)
        # Linear(bias=False) stores no bias
        biases.append(float_array(f[f"{p}.bias"], f"{p}.bias", src) if f"{p}.bias" in f
                      else np.zeros(w.shape[0] if w.ndim else 0))
    return Parts(weights, biases, prefixes)


_READERS = {"native": _read_native, "keras": read_keras, "keras_weights": read_keras_weights,
            "state_dict": _read_state_dict}


def read_hdf5(path: Path, src: str, layers: list[str] | None, digest: str) -> Network:
    """The network in an HDF5 weights file of any of the layouts above (digest: the file's SHA-256)."""
    if not h5py.is_hdf5(path):
        raise LipgenError(f"{src}: not an HDF5 file (expected {ACCEPTED})")
    try:
        with h5py.File(path, "r") as f:
            layout = _detect(f, src)
            if layers and layout != "state_dict":
                raise LipgenError(f"{src}: --layers applies only to PyTorch state dicts, this file has the "
                                  f"{layout} layout")
            parts = _READERS[layout](f, src, layers)
    except OSError as e:
        raise LipgenError(f"{src}: cannot read the HDF5 file ({e})") from None
    net = Network(parts.weights, parts.biases, name=sanitize_name(parts.name or path.stem),
                  domain_lower=parts.lower, domain_upper=parts.upper,
                  meta={"layout": layout, "source": src, "source_sha256": digest, "layer_names": parts.labels,
                        **parts.meta})
    validate(net, source=src)
    return as_float64(net)


# ----------------------------------------------------------------------------------------------- save

def save(path: str | os.PathLike, network: Network, *, domain_lower=None, domain_upper=None) -> None:
    """Write the native schema atomically and deterministically (same network -> same bytes).

    The name is not stored: a saved file is named by its file stem, so renaming the file renames the network.
    """
    net = dataclasses.replace(
        network,
        domain_lower=network.domain_lower if domain_lower is None else domain_lower,
        domain_upper=network.domain_upper if domain_upper is None else domain_upper,
        meta=dict(network.meta))
    validate(net, source=str(path))
    net = as_float64(net)
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver=_LIBVER, track_order=False) as f:
        f.attrs["lipgen_format"] = FORMAT
        f.attrs["lipgen_format_version"] = np.int64(FORMAT_VERSION)
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            g = f.create_group(f"layers/{k}", track_order=False)
            g.create_dataset("weight", data=w, track_times=False)
            g.create_dataset("bias", data=b, track_times=False)
        if net.domain_lower is not None:
            g = f.create_group("domain", track_order=False)
            g.create_dataset("lower", data=net.domain_lower, track_times=False)
            g.create_dataset("upper", data=net.domain_upper, track_times=False)
    try:
        atomic.write_bytes(path, buf.getvalue())
    except OSError as e:
        raise LipgenError(f"{path}: cannot write the weights file ({e.strerror or e})") from None
