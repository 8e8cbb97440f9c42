"""Reading a sidecar back: the JSON next to an instance, and the network, box and problem it names."""

from __future__ import annotations

import json
import math
import re
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
        raise LipgenError(f"{path}: sidecar version {data['sidecar_version']!r} was written by another lipgen "
                          f"(this one reads versions {', '.join(map(str, READABLE_SIDECAR_VERSIONS))}); generate the "
                          "instance again")
    problem = sidecar_problem(data)
    if problem:
        raise LipgenError(f"{path}: not a valid lipgen sidecar: {problem}")
    return data


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _finite(x, positive: bool = False) -> bool:
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    return ok and (x > 0 or not positive)


def _finite_list(x, positive: bool = False) -> bool:
    return isinstance(x, list) and bool(x) and all(_finite(v, positive) for v in x)


def sidecar_problem(d: dict) -> str | None:
    """What is wrong with a sidecar's fields (None when nothing): every field arithmetic uses is checked for type
    and finite range before any number is read back through it."""
    def get(path: str):
        node = d
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        return node

    checks = [
        ("instance", lambda v: isinstance(v, str) and v.endswith((".mps", ".lp", ".mps.gz", ".lp.gz")) and "/" not in v,
         "an instance file name (.mps, .lp, optionally .gz)"),
        ("instance_sha256", lambda v: isinstance(v, str) and _SHA256.fullmatch(v) is not None, "a SHA-256 in hex"),
        ("bound", lambda v: v in ("upper", "lower"), "upper or lower"),
        ("network.name", lambda v: isinstance(v, str) and v != "", "a name"),
        ("network.file", lambda v: isinstance(v, str) and v != "", "a file name"),
        ("network.digest", lambda v: isinstance(v, str) and v != "", "a digest"),
        ("norms.input", lambda v: v in ("1", "2", "inf"), "1, 2 or inf"),
        ("norms.output", lambda v: v in ("1", "2", "inf"), "1, 2 or inf"),
        ("objective_transform", lambda v: v in ("neg", "sqrt_neg"), "neg or sqrt_neg"),
        ("scaling.objective_scale", lambda v: _finite(v, positive=True), "a finite positive number"),
        ("scaling.input_scale", lambda v: _finite_list(v, positive=True), "a list of finite positive numbers"),
        ("scaling.input_center", _finite_list, "a list of finite numbers"),
        ("domain.lower", _finite_list, "a list of finite numbers"),
        ("domain.upper", _finite_list, "a list of finite numbers"),
        ("eps", lambda v: v is None or (_finite(v) and v >= 0), "a finite number >= 0 or null"),
        ("problem_class", lambda v: isinstance(v, str), "a problem class"),
        ("solvers", lambda v: isinstance(v, dict) and all(isinstance(x, dict) for x in v.values()),
         "a table of solvers"),
        ("statistics", lambda v: isinstance(v, dict), "a table of model statistics"),
        ("anchors", lambda v: isinstance(v, dict) and all(x is None or _finite(x) for x in v.values()
                                                           if not isinstance(x, (list, str))),
         "a table of finite numbers"),  # lists: points; strings: names (the Jacobian bound's method)
    ]
    for field, ok, what in checks:
        value = get(field)
        if value is _MISSING:
            return f"no `{field}`"
        if not ok(value):
            return f"`{field}` is {str(value)[:40]!r}, not {what}"
    lower, upper = d["domain"]["lower"], d["domain"]["upper"]
    if len(lower) != len(upper) or any(a > b for a, b in zip(lower, upper)):
        return "`domain` has lower bounds above upper bounds or of another length"
    return None


_MISSING = object()


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
                   bounds_method=sidecar["bounds_method"], jacobian=jacobian_of(sidecar),
                   fixed_signs=bool((sidecar.get("formulation") or {}).get("fixed_signs", False)))


def jacobian_of(sidecar: dict) -> dict | bool:
    """The Jacobian bounds an instance was built with ({"method", "sides"}); False when none (sidecars before
    issue 20 have no `formulation` record: their rows had none)."""
    record = (sidecar.get("formulation") or {}).get("jacobian_bounds")
    if not isinstance(record, dict) or record.get("method") not in ("interval", "linear") \
            or record.get("sides") not in ("forward", "backward", "both"):
        return False
    return {"method": str(record["method"]), "sides": str(record["sides"])}


def rebuild_model(sidecar: dict, network: Network):
    """The instance's Model, rebuilt from its sidecar and network; its statistics must match the sidecar's."""
    model = formulation_of(sidecar, network).model(instance_stem_of(sidecar["instance"]))
    if model.stats() != sidecar["statistics"]:
        raise LipgenError(f"{sidecar['instance']}: the rebuilt instance differs from the sidecar's statistics (made by "
                          "another lipgen version?); generate it again")
    return model
