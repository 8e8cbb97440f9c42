"""Read and write ReLU network weights: the native lipgen schema, Keras .h5 files, PyTorch state dicts in HDF5.

Every layout ends as a validated `Network` (float64, C-contiguous, z = W x + b); every problem with the
file is a one-line LipgenError naming the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from . import atomic
from .errors import LipgenError
from .network import Network

FORMAT = "relu-mlp"
FORMAT_VERSION = 1
IMPORTER_SUFFIXES = (".onnx", ".safetensors", ".pt", ".pth")
ACCEPTED = ("the lipgen native schema (root attribute lipgen_format='relu-mlp', /layers/<k>/weight and bias), "
            "a Keras .h5 model or save_weights file, a PyTorch state dict saved to HDF5 (0.weight, 0.bias, ...), "
            "or an .onnx/.safetensors/.pt/.pth file")
_KERAS_MODEL_CLASSES = ("Sequential", "Functional", "Model")
_STATE_KEY = re.compile(r"^(?:(?P<prefix>.+)\.)?(?P<index>[0-9]+)\.(?P<kind>weight|bias)$")
_LIBVER = ("earliest", "v108")  # fixed on both ends: the bytes written must not depend on the HDF5 build


def sanitize_name(text: str, default: str = "net") -> str:
    """A file-name-safe name: [A-Za-z0-9_.-] only, no '__' (the instance-name separator), at most 60 chars."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(text))
    name = re.sub(r"_+", "_", name).strip("_.-")
    return name[:60].rstrip("_.-") or default


@dataclass
class _Parts:
    """What a layout reader found, before it becomes a Network."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    labels: list[str]
    name: str | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- load

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
    digest = _sha256(path)
    if path.suffix.lower() in IMPORTER_SUFFIXES:
        return _load_imported(path, layers, digest)
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
    return _as_float64(net)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except PermissionError:
        raise LipgenError(f"{path}: cannot read the file (permission denied)") from None
    except OSError as e:
        raise LipgenError(f"{path}: cannot read the file ({e.strerror or e})") from None
    return h.hexdigest()


def _load_imported(path: Path, layers, digest: str) -> Network:
    suffix = path.suffix.lower()
    try:
        from .importers import load_model
    except ImportError as e:
        if e.name in (None, "lipgen.importers", "lipgen"):
            raise LipgenError(f"{path}: the {suffix} format is not supported yet") from None
        raise LipgenError(f"{path}: reading {suffix} files needs the Python package {e.name!r} "
                          f"(pip install {e.name})") from None
    net = load_model(path, layers=layers)
    net.name = sanitize_name(net.name or path.stem)
    net.meta.setdefault("layout", suffix.lstrip("."))
    net.meta.setdefault("source", str(path))
    net.meta.setdefault("source_sha256", digest)
    validate(net, source=str(path))
    return _as_float64(net)


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
    numbered = isinstance(f.get("layers"), h5py.Group) and all(k.isdigit() for k in f["layers"].keys())
    hint = " (a /layers group without the root attribute lipgen_format='relu-mlp')" if numbered else ""
    raise LipgenError(f"{src}: unknown layout{hint}; the root holds: {seen or 'nothing'}; expected {ACCEPTED}")


def _text(value) -> str:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _array(obj, what: str, src: str) -> np.ndarray:
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


# native schema

def _read_native(f: h5py.File, src: str, layers) -> _Parts:
    fmt = _text(f.attrs["lipgen_format"])
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
        weights.append(_array(g["weight"], f"/layers/{n}/weight", src))
        biases.append(_array(g["bias"], f"/layers/{n}/bias", src))
    lower = upper = None
    if "domain" in f:
        d = f["domain"]
        if not isinstance(d, h5py.Group) or "lower" not in d or "upper" not in d:
            raise LipgenError(f"{src}: /domain needs both datasets lower and upper")
        lower, upper = _array(d["lower"], "/domain/lower", src), _array(d["upper"], "/domain/upper", src)
    name = _text(f.attrs["name"]) if "name" in f.attrs else None
    return _Parts(weights, biases, [f"/layers/{n}" for n in order], name=name, lower=lower, upper=upper)


# Keras

def _keras_list(group, name: str) -> list[str]:
    """A list-of-strings attribute as Keras writes it, possibly split in chunks name0, name1, ..."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, k = [], 0
        while f"{name}{k}" in group.attrs:
            chunks.append(group.attrs[f"{name}{k}"])
            k += 1
    # Keras writes an empty float array for a layer without weights
    return [_text(v) for c in chunks for v in np.atleast_1d(np.asarray(c)).tolist()]


def _kernel_bias(g: h5py.Group, label: str, src: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The (n_out, n_in) matrix and bias of a Dense layer group; anything else is rejected."""
    wnames = _keras_list(g, "weight_names")
    for wn in wnames:
        if not isinstance(g.get(wn), h5py.Dataset):
            raise LipgenError(f"{src}: layer {label}: weight {wn!r} is listed in weight_names but missing")
    base = {wn: wn.rsplit("/", 1)[-1].split(":")[0] for wn in wnames}
    kernel = next((wn for wn in wnames if base[wn] == "kernel"), wnames[0] if wnames else None)
    bias = next((wn for wn in wnames if base[wn] == "bias"), None)
    if bias is None and len(wnames) == 2:
        bias = wnames[1]
    extra = [wn for wn in wnames if wn not in (kernel, bias)]
    if kernel is None or extra or g[kernel].ndim != 2 or (bias is not None and g[bias].ndim != 1):
        shapes = ", ".join(f"{base[wn]} {tuple(g[wn].shape)}" for wn in wnames) or "none"
        raise LipgenError(f"{src}: layer {label} is not a Dense layer (weights: {shapes}); only Dense layers "
                          f"are supported")
    k = _array(g[kernel], f"layer {label} kernel", src)
    b = _array(g[bias], f"layer {label} bias", src) if bias is not None else None
    return np.ascontiguousarray(k.T), b  # Keras stores the kernel as (n_in, n_out)


def _activation_name(a) -> str:
    if a is None:
        return "linear"
    if isinstance(a, dict):  # a serialized activation object
        a = (a.get("config") or {}).get("name") or a.get("class_name")
    return str(a).lower()


def _node_names(obj) -> set[str]:
    """Names of the layers feeding a Keras node, in the Keras 2 ([[name, i, j, {}]]) or 3 (keras_history) form."""
    if isinstance(obj, dict):
        if "keras_history" in obj:
            return {obj["keras_history"][0]}
        return set().union(*(_node_names(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int) and isinstance(obj[2], int):
            return {obj[0]}
        return set().union(*(_node_names(v) for v in obj)) if obj else set()
    return set()


def _check_chain(conf: dict, layer_cfgs: list, src: str) -> None:
    """A Functional model is accepted only as a plain chain: one input, one output, each layer fed by the last."""
    for key in ("input_layers", "output_layers"):
        names = _node_names(conf.get(key, []))
        if len(names) > 1:
            raise LipgenError(f"{src}: Keras model with several {key.split('_')[0]}s ({', '.join(sorted(names))}) "
                              f"is not supported: only a chain of layers")
    prev = None
    for layer in layer_cfgs:
        name = _layer_name(layer)
        feeds = _node_names(layer.get("inbound_nodes", []))
        if prev is not None and feeds != {prev}:
            raise LipgenError(f"{src}: layer {name!r} ({layer.get('class_name')}) takes its input from "
                              f"{', '.join(sorted(feeds)) or 'nothing'}, not from the previous layer {prev!r}: "
                              f"only a chain of layers is supported")
        prev = name


def _layer_name(layer: dict) -> str:
    return str((layer.get("config") or {}).get("name") or layer.get("name") or "?")


def _keras_plan(layer_cfgs: list, src: str) -> list[dict]:
    """The Dense layers of a Keras config in order, each with its activation; unsupported layers rejected."""
    dense: list[dict] = []
    last = None  # the last layer that is not an identity
    for layer in layer_cfgs:
        cls, cfg, name = layer.get("class_name"), layer.get("config") or {}, _layer_name(layer)
        what = f"layer {name!r} ({cls})"
        if cls in ("InputLayer", "Dropout"):
            continue
        if cls == "Flatten":
            if dense:
                raise LipgenError(f"{src}: {what} after a Dense layer is not supported (Flatten only before the "
                                  f"first Dense)")
            continue
        if cls == "Dense":
            act = _activation_name(cfg.get("activation"))
            if act not in ("relu", "linear"):
                raise LipgenError(f"{src}: {what} has activation {act!r}: only relu (hidden layers) and linear "
                                  f"(last layer) are supported")
            if dense and dense[-1]["act"] != "relu":
                raise LipgenError(f"{src}: layer {dense[-1]['name']!r} (Dense) is a hidden layer with activation "
                                  f"linear: hidden layers must be relu")
            dense.append({"name": name, "act": act, "use_bias": cfg.get("use_bias", True), "via": None})
        elif cls in ("Activation", "ReLU"):
            if cls == "Activation":
                act = _activation_name(cfg.get("activation"))
                if act == "linear":
                    continue
                if act != "relu":
                    raise LipgenError(f"{src}: {what} has activation {act!r}: only relu is supported")
            else:
                odd = [k for k in ("max_value", "negative_slope", "threshold") if cfg.get(k) not in (None, 0)]
                if odd:
                    raise LipgenError(f"{src}: {what} with {odd[0]}={cfg[odd[0]]} is not a plain ReLU")
            if last is None or last["cls"] != "Dense":
                raise LipgenError(f"{src}: {what} must directly follow a linear Dense layer")
            # relu(relu(z)) = relu(z): a ReLU after a relu Dense changes nothing
            dense[-1]["act"], dense[-1]["via"] = "relu", name
        else:
            raise LipgenError(f"{src}: {what} is not supported: only Dense (relu hidden, linear last), InputLayer, "
                              f"Flatten, Dropout, Activation('relu') and ReLU layers")
        last = {"cls": cls, "name": name}
    if not dense:
        raise LipgenError(f"{src}: no layers (the Keras model has no Dense layer)")
    if dense[-1]["act"] != "linear":
        via = f" (from layer {dense[-1]['via']!r})" if dense[-1]["via"] else ""
        raise LipgenError(f"{src}: layer {dense[-1]['name']!r} (Dense) is the last layer but has activation "
                          f"relu{via}: the output layer must be linear")
    return dense


def _read_keras(f: h5py.File, src: str, layers) -> _Parts:
    try:
        config = json.loads(_text(f.attrs["model_config"]))
    except ValueError:
        raise LipgenError(f"{src}: the Keras model_config attribute is not valid JSON") from None
    cls = config.get("class_name") if isinstance(config, dict) else None
    if cls not in _KERAS_MODEL_CLASSES:
        raise LipgenError(f"{src}: Keras model class {cls!r} is not supported (Sequential or Functional only)")
    conf = config.get("config")
    if conf is not None and not isinstance(conf, (list, dict)):
        raise LipgenError(f"{src}: the Keras model_config's config is a {type(conf).__name__}, not a table")
    layer_cfgs = conf if isinstance(conf, list) else (conf or {}).get("layers") or []  # old Keras: a bare list
    if not isinstance(layer_cfgs, list) or not all(isinstance(x, dict) for x in layer_cfgs):
        raise LipgenError(f"{src}: the Keras model_config's layers are not a list of layer tables")
    if cls != "Sequential":
        _check_chain(conf, layer_cfgs, src)
    plan = _keras_plan(layer_cfgs, src)
    mw = f.get("model_weights")
    if not isinstance(mw, h5py.Group):
        raise LipgenError(f"{src}: Keras model file without a model_weights group")
    weights, biases = [], []
    for d in plan:
        if d["name"] not in mw:
            raise LipgenError(f"{src}: no weights for layer {d['name']!r} in model_weights")
        w, b = _kernel_bias(mw[d["name"]], repr(d["name"]), src)
        if b is None:
            if d["use_bias"]:
                raise LipgenError(f"{src}: layer {d['name']!r} (Dense) has use_bias=true but no bias weight")
            b = np.zeros(w.shape[0])
        weights.append(w)
        biases.append(b)
    meta = {"keras_version": _text(f.attrs.get("keras_version", "?"))}
    return _Parts(weights, biases, [d["name"] for d in plan], meta=meta)


def _read_keras_weights(f: h5py.File, src: str, layers) -> _Parts:
    weights, biases, labels = [], [], []
    for name in _keras_list(f, "layer_names"):
        g = f.get(name)
        if not isinstance(g, h5py.Group):
            raise LipgenError(f"{src}: layer {name!r} is listed in layer_names but has no group")
        if not _keras_list(g, "weight_names"):
            continue  # Dropout, Flatten, InputLayer, Activation: nothing stored
        w, b = _kernel_bias(g, repr(name), src)
        weights.append(w)
        biases.append(np.zeros(w.shape[0]) if b is None else b)
        labels.append(name)
    if not weights:
        raise LipgenError(f"{src}: no layers (the Keras weights file holds no Dense weights)")
    meta = {"activations": "assumed relu after every Dense layer but the last, linear last (a Keras weights-only "
                           "file stores no model config)"}
    return _Parts(weights, biases, labels, meta=meta)


# PyTorch state dict

def _read_state_dict(f: h5py.File, src: str, layers) -> _Parts:
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
        w = _array(f[f"{p}.weight"], f"{p}.weight", src)
        weights.append(w)
        # Linear(bias=False) stores no bias
        biases.append(_array(f[f"{p}.bias"], f"{p}.bias", src) if f"{p}.bias" in f
                      else np.zeros(w.shape[0] if w.ndim else 0))
    return _Parts(weights, biases, prefixes)


_READERS = {"native": _read_native, "keras": _read_keras, "keras_weights": _read_keras_weights,
            "state_dict": _read_state_dict}


# ------------------------------------------------------------------------------------------- validate

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


def _as_float64(net: Network) -> Network:
    f64 = lambda a: None if a is None else np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    net.weights = [f64(w) for w in net.weights]
    net.biases = [f64(b) for b in net.biases]
    net.domain_lower, net.domain_upper = f64(net.domain_lower), f64(net.domain_upper)
    return net


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
    net = _as_float64(net)
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
