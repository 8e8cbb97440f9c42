"""Instance file names: the stem that says what an instance is, its sidecar next to it."""

from __future__ import annotations

from pathlib import Path

from ..domain import Box
from ..formulation import Spec
from ..network import Network

NETWORK_DIR = "networks"

MANIFEST = "manifest.json"


def norm_tag(alpha: str, beta: str) -> str:
    return f"L{alpha}" if alpha == beta else f"L{alpha}to{beta}"


def encoding_tag(spec: Spec) -> str:
    """`bigm` or `quadratic`, with `-bwd` for backward mode (spec.mode resolved)."""
    return spec.encoding + ("-bwd" if spec.mode == "backward" else "")


def instance_stem(network: Network, box: Box, spec: Spec) -> str:
    """e.g. `mynet__L2__box-1a2b3c4d__upper__bigm` (forward) or `...__upper__bigm-bwd` (backward)."""
    return "__".join([network.name, norm_tag(spec.alpha, spec.beta), box.tag(), spec.bound, encoding_tag(spec)])


def network_copy_name(network: Network) -> str:
    return f"{NETWORK_DIR}/{network.name}-{network.digest()[:12]}.h5"


def sidecar_for(instance: str | Path) -> Path:
    """The sidecar that sits next to an instance file."""
    p = Path(instance)
    return p.with_name(instance_stem_of(p.name) + ".json")


def instance_stem_of(name: str) -> str:
    """File name without its instance suffixes (.mps, .lp, .gz)."""
    name = Path(name).name
    for suffix in (".gz", ".mps", ".lp"):
        name = name.removesuffix(suffix)
    return name
