"""Reading a sidecar back: the JSON next to an instance, and the network, box and problem it names."""

from __future__ import annotations

import json
from pathlib import Path

from ..domain import Box
from ..errors import LipgenError
from ..formulation import Spec, prepare
from ..formulation.activation import ActivationProblem
from ..io import load
from ..network import Network
from .naming import instance_stem_of

SIDECAR_VERSION = 3
# versions this lipgen still reads: 2 (library lipgen-v1) lacks the certified sampled anchor, the folding error
# and the conditioning record; its `anchors.sampled_lower` is an uncertified float64 value, read as an estimate
READABLE_SIDECAR_VERSIONS = (2, 3)


def load_sidecar(path: str | Path) -> dict:
    """Read a sidecar, with a clear error when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LipgenError(f"{path}: no such sidecar file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LipgenError(f"{path}: not a lipgen sidecar ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or "sidecar_version" not in data:
        raise LipgenError(f"{path}: not a lipgen sidecar (no sidecar_version)")
    if data["sidecar_version"] not in READABLE_SIDECAR_VERSIONS:
        raise LipgenError(f"{path}: sidecar version {data['sidecar_version']} was written by another lipgen "
                          f"(this one reads versions {', '.join(map(str, READABLE_SIDECAR_VERSIONS))}); generate the "
                          "instance again")
    return data


def network_of(sidecar: dict, sidecar_path: str | Path) -> Network:
    """Load the network copy a sidecar refers to and check it is the same network."""
    path = Path(sidecar_path).parent / sidecar["network"]["file"]
    net = load(path)
    if net.digest() != sidecar["network"]["digest"]:
        raise LipgenError(f"{path}: weights differ from those the instance was made from")
    return net


def box_of(sidecar: dict) -> Box:
    return Box.from_json(sidecar["domain"])


def spec_of(sidecar: dict) -> Spec:
    return Spec(alpha=sidecar["norms"]["input"], beta=sidecar["norms"]["output"], bound=sidecar["bound"],
                eps=sidecar["eps"], encoding=sidecar["encoding"], mode=sidecar["mode"])


def formulation_of(sidecar: dict, network: Network) -> ActivationProblem:
    """The problem an instance was made from, rebuilt from its sidecar and network (same bounds and scaling)."""
    box = box_of(sidecar)
    return prepare(network, box.lower, box.upper, spec_of(sidecar), estimate=sidecar["scaling"]["objective_scale"],
                   bounds_method=sidecar["bounds_method"])


def rebuild_model(sidecar: dict, network: Network):
    """The instance's Model, rebuilt from its sidecar and network; its statistics must match the sidecar's."""
    model = formulation_of(sidecar, network).model(instance_stem_of(sidecar["instance"]))
    if model.stats() != sidecar["statistics"]:
        raise LipgenError(f"{sidecar['instance']}: the rebuilt instance differs from the sidecar's statistics (made by "
                          "another lipgen version?); generate it again")
    return model
