"""Keras HDF5 files: a whole model (`model.save`, Sequential or Functional of Dense + ReLU, last layer linear) or
its weights alone (`save_weights`)."""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..errors import LipgenError
from .hdf5 import Parts, attr_text, float_array

_KERAS_MODEL_CLASSES = ("Sequential", "Functional", "Model")


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
    return [attr_text(v) for c in chunks for v in np.atleast_1d(np.asarray(c)).tolist()]


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
    k = float_array(g[kernel], f"layer {label} kernel", src)
    b = float_array(g[bias], f"layer {label} bias", src) if bias is not None else None
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


def read_keras(f: h5py.File, src: str, layers) -> Parts:
    try:
        config = json.loads(attr_text(f.attrs["model_config"]))
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
    meta = {"keras_version": attr_text(f.attrs.get("keras_version", "?"))}
    return Parts(weights, biases, [d["name"] for d in plan], meta=meta)


def read_keras_weights(f: h5py.File, src: str, layers) -> Parts:
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
    return Parts(weights, biases, labels, meta=meta)
