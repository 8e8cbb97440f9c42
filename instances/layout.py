"""The layout of the instance library lipgen-v1: its folders, networks, domains, norms and the generate calls
(items) it is made of. build.py builds it, values.py and readme.py describe it; all three read it from here."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import networks as nets
import numpy as np

from lipgen.domain import Box
from lipgen.instance import MANIFEST, norm_tag
from lipgen.io import load
from lipgen.network import Network

HERE = Path(__file__).resolve().parent
VERSION = "v1"

LIBRARY = f"lipgen-{VERSION}"

LIB = HERE / VERSION

COMMITTED = "instances"  # folders under LIB

LARGE = "large"

NORMS = (("1", "1"), ("2", "2"), ("inf", "inf"), ("1", "inf"), ("inf", "2"))

QUADRATIC_NORMS = (("1", "1"), ("2", "2"), ("inf", "inf"))


# the bilinear encoding (the paper's original form, nonconvex MIQCQP) only for the smallest networks on their main
# domain: it exists to compare encodings, and beyond a few dozen neurons no solver gets far with it
QUADRATIC_NETWORKS = ("iris-4-8-3", "lipbab-4-5-5-3", "lipmip-depth1", "lipmip-width10", "wine-13-16-3")


# instances of these networks compress to over 400 kB each: built on demand (v1/large/), not committed
LARGE_NETWORKS = ("lipmip-width80", "lipmip-width160")

INSTANCE_SUFFIX = ".mps.gz"


@dataclass(frozen=True)
class Item:
    """One call of generate: both bound kinds of network x domain x norms x encoding."""

    network: str
    domain: str  # label: data | box | ball | test<i>-r<radius>
    alpha: str
    beta: str
    encoding: str
    folder: str  # COMMITTED or LARGE

    @property
    def key(self) -> str:
        return f"{self.network}/{self.domain}/{norm_tag(self.alpha, self.beta)}/{self.encoding}"


def network_path(name: str) -> Path:
    return nets.NETWORK_DIR / f"{name}.h5"


def load_network(name: str) -> Network:
    """The network with a path-independent source (the sidecars must not depend on where the repository lies)."""
    net = load(network_path(name))
    net.meta["source"] = f"instances/networks/{name}.h5"
    return net


def domains(spec: nets.NetSpec, catalog: dict) -> dict[str, Box]:
    """label -> Box: the domain stored in the file, then the catalog's balls around test points."""
    net = load_network(spec.name)
    main = {"trained": "data", "wide": "ball"}.get(spec.family, "box")
    out = {main: Box(net.domain_lower, net.domain_upper, "network", {"source": net.meta["source"]})}
    for b in catalog[spec.name].get("balls", []):
        meta = {"center": f"instances/networks/catalog.json: {spec.name}, test point {b['test_index']}",
                "radius": b["radius"]}
        if b.get("clip"):
            meta["clip"] = f"{b['clip'][0]!r},{b['clip'][1]!r}"
        out[b["label"]] = Box(np.array(b["lower"]), np.array(b["upper"]), "ball", meta)
    return out


def plan(catalog: dict | None = None) -> list[Item]:
    """Every generate call of the library, in a fixed order."""
    catalog = catalog if catalog is not None else nets.load_catalog()
    items = []
    for spec in nets.SPECS:
        folder = COMMITTED if spec.committed and spec.name not in LARGE_NETWORKS else LARGE
        labels = list(domains_labels(spec, catalog))
        for label in labels:
            for a, b in NORMS:
                items.append(Item(spec.name, label, a, b, "bigm", folder))
        if spec.name in QUADRATIC_NETWORKS:
            for a, b in QUADRATIC_NORMS:
                items.append(Item(spec.name, labels[0], a, b, "quadratic", folder))
    return items


def domains_labels(spec: nets.NetSpec, catalog: dict) -> list[str]:
    main = {"trained": "data", "wide": "ball"}.get(spec.family, "box")
    return [main] + [b["label"] for b in catalog.get(spec.name, {}).get("balls", [])]


def recorded_modes() -> dict[str, str]:
    """Item key -> the mode lipgen-v1 was built with (metadata.csv's `mode`). v1 stays as published: its build pins
    these modes instead of asking `--mode auto`, whose rule has changed since (issue 20)."""
    path = LIB / "metadata.csv"
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {f"{r['network']}/{r['domain_label']}/{r['norms']}/{r['encoding']}": r["mode"]
                for r in csv.DictReader(fh)}


def manifest_entries() -> list[tuple[str, dict]]:
    """(folder, manifest entry) of every instance of the collection, from the folders' manifest.json files (the
    large folder keeps only its manifest in the repository)."""
    out = []
    for folder in (COMMITTED, LARGE):
        path = LIB / folder / MANIFEST
        if path.is_file():
            out += [(folder, e) for e in json.loads(path.read_text())["instances"]]
    return out
