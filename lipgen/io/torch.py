"""PyTorch state dicts of Linear/ReLU networks, and the layer ordering shared with safetensors files.

A state dict stores no forward order. Layers are ordered by the numbers in their names (`0`, `2`, `4`;
`fc1`, `fc2`; `blocks.0.fc`, `blocks.1.fc`: names alike but for their numbers) and by their shapes chaining
(n_out of one = n_in of the next); when that leaves more than one order, `--layers` must give it.
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import LipgenError
from .common import Imported, first_line, require

_NESTED = ("state_dict", "model_state_dict")
_SEARCH_BUDGET = 200_000  # DFS steps before giving up on proving the order unique
_BATCHNORM = ("running_mean", "running_var", "num_batches_tracked")


def read(path: Path, src: str, layers: list[str] | None) -> Imported:
    torch = require("torch", src, "torch")
    try:
        with warnings.catch_warnings():  # torch warns before refusing a TorchScript archive
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise LipgenError(f"{src}: holds a pickled Python object (a full model?) that torch.load(weights_only="
                          f"True) refuses to run: save model.state_dict() instead") from None
    except RuntimeError as e:
        if "TorchScript" not in str(e):
            raise LipgenError(f"{src}: not a readable PyTorch checkpoint ({first_line(e)})") from None
        raise LipgenError(f"{src}: is a TorchScript archive, not a state dict: save model.state_dict() "
                          f"instead") from None
    except Exception as e:  # torch raises RuntimeError, EOFError, ValueError... for a file it cannot parse
        raise LipgenError(f"{src}: not a readable PyTorch checkpoint ({first_line(e)})") from None
    if isinstance(obj, Mapping):
        obj = next((obj[k] for k in _NESTED if isinstance(obj.get(k), Mapping)), obj)
    if not isinstance(obj, Mapping):
        raise LipgenError(f"{src}: holds a {type(obj).__name__}, not a state dict: save model.state_dict() instead")
    tensors = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise LipgenError(f"{src}: entry {key!r} is a {type(value).__name__}, not a tensor: expected a state "
                              f"dict (or a checkpoint dict with a 'state_dict' or 'model_state_dict' entry)")
        if value.is_complex():
            raise LipgenError(f"{src}: entry {key!r} has complex dtype {value.dtype}")
        tensors[str(key)] = value.detach().to(torch.float64).numpy()
    found = linear_chain(tensors, src, layers)
    found.meta["torch_version"] = str(torch.__version__)
    return found


def linear_chain(tensors: Mapping[str, np.ndarray], src: str, layers: list[str] | None) -> Imported:
    """The Linear layers of a flat state dict in forward order; every other parameter is refused by name."""
    if not tensors:
        raise LipgenError(f"{src}: no layers (the state dict is empty)")
    weights: dict[str, np.ndarray] = {}
    biases: dict[str, np.ndarray] = {}
    for key, a in tensors.items():
        prefix, _, kind = key.rpartition(".")
        if kind == "weight" and a.ndim == 2:
            weights[prefix] = a
        elif kind == "bias" and a.ndim == 1:
            biases[prefix] = a
        else:
            raise LipgenError(f"{src}: entry {key!r} with shape {tuple(a.shape)} is not a Linear weight or bias"
                              f"{_hint(prefix, a, tensors)}: only Linear layers with ReLU between them are supported")
    for prefix in biases:
        if prefix not in weights:
            raise LipgenError(f"{src}: entry {prefix + '.bias'!r} has no matching 2-D weight {prefix + '.weight'!r}")
    order = _given_order(layers, weights, src) if layers else _infer_order(weights, src)
    meta = {}
    unused = [p for p in weights if p not in order]
    if unused:
        meta["unused_layers"] = unused
    return Imported([weights[p] for p in order],
                    [biases[p] if p in biases else np.zeros(weights[p].shape[0]) for p in order],  # bias=False
                    order, meta)


def _hint(prefix: str, a: np.ndarray, tensors: Mapping[str, np.ndarray]) -> str:
    """Name the kind of layer an unsupported parameter most likely belongs to."""
    if any(f"{prefix}.{k}" in tensors for k in _BATCHNORM):
        return f" (layer {prefix!r} is a BatchNorm)"
    if a.ndim >= 3:
        return f" (layer {prefix!r} looks like a convolution)"
    if a.ndim == 1 and prefix + ".weight" in tensors:
        return f" (layer {prefix!r} looks like a normalisation layer)"
    return ""


def _listing(weights: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{p} ({w.shape[1]}->{w.shape[0]})" for p, w in weights.items())


def _given_order(layers: list[str], weights: Mapping[str, np.ndarray], src: str) -> list[str]:
    order = [name[: -len(".weight")] if name.endswith(".weight") else name for name in layers]
    for name in order:
        if name not in weights:
            raise LipgenError(f"{src}: --layers names {name!r}, which is not a Linear layer of this file; found: "
                              f"{_listing(weights)}")
    dup = next((n for n in order if order.count(n) > 1), None)
    if dup is not None:
        raise LipgenError(f"{src}: --layers names {dup!r} twice")
    return order


def _name_key(name: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """('fc', '') and (1,) for 'fc1': names with the same skeleton are ordered by their numbers."""
    parts = re.split(r"(\d+)", name)
    return tuple(parts[0::2]), tuple(int(p) for p in parts[1::2])


def _infer_order(weights: Mapping[str, np.ndarray], src: str) -> list[str]:
    names = list(weights)
    keys = [_name_key(n) for n in names]
    n = len(names)
    # before[j] = the layers that must come before j: same skeleton, smaller numbers
    before = [{i for i in range(n) if keys[i][0] == keys[j][0] and keys[i][1] < keys[j][1]} for j in range(n)]
    n_in = [weights[p].shape[1] for p in names]
    n_out = [weights[p].shape[0] for p in names]
    found: list[list[int]] = []
    steps = 0

    def extend(order: list[int], used: set[int]) -> bool:
        """Depth-first search for orders; False once the search budget is spent."""
        nonlocal steps
        steps += 1
        if steps > _SEARCH_BUDGET:
            return False
        if len(order) == n:
            found.append(list(order))
            return True
        for j in range(n):
            if j in used or not before[j] <= used or (order and n_in[j] != n_out[order[-1]]):
                continue
            order.append(j)
            used.add(j)
            ok = extend(order, used)
            order.pop()
            used.discard(j)
            if not ok or len(found) > 1:
                return ok
        return True

    complete = extend([], set())
    if complete and len(found) == 1:
        return [names[i] for i in found[0]]
    if complete and not found:
        raise LipgenError(f"{src}: the Linear layers {_listing(weights)} do not chain by shape in any order "
                          f"consistent with their numbering: give --layers NAME,NAME,... in forward order")
    raise LipgenError(f"{src}: cannot tell the forward order of the Linear layers {_listing(weights)}: give "
                      f"--layers NAME,NAME,... in forward order")
