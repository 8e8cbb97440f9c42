"""Build the instance library lipgen-v1 from the networks of instances/networks/ (made by networks.py).

    python instances/build.py                 # every instance: v1/instances/ (committed) and v1/large/ (not)
    python instances/build.py --no-large      # only the committed ones (a minute or two)
    python instances/build.py --values        # the values from the recorded runs: lipgen-v1.solu, metadata.csv,
                                              # quick.test, benchmark.test, README.md (no instance is rebuilt)
    python instances/build.py --item iris-4-8-3/data/L1/bigm --into /tmp/x   # one item elsewhere, to compare

The instances are network x domain x norms x bound kind (upper, lower) x encoding, written by
lipgen.instance.generate with the defaults of `lipgen generate` (mode auto, linear bounds), gzipped MPS
with their sidecars; re-running gives byte-identical files. The values come only from real runs kept in
v1/runs/ (their result.json files): `lipgen solve` writes them, `lipgen collect` turns them into the .solu
and this script into the metadata; see v1/README.md for the commands.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # the bounds' matrix products single-threaded, as when the library was built
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import networks as nets  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.instance.settings import SUFFIX as SETTINGS_SUFFIX  # noqa: E402
from lipgen.domain import Box  # noqa: E402
from lipgen.instance import MANIFEST, NETWORK_DIR, generate, norm_tag  # noqa: E402
from lipgen.network import Network  # noqa: E402
from lipgen.io import load  # noqa: E402

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


def build_item(item: Item, outdir: Path, cache: dict | None = None) -> list[Path]:
    """Generate both bound kinds of one item into `outdir`; the instance files written (settings files removed)."""
    cache = {} if cache is None else cache
    if item.network not in cache:
        catalog = nets.load_catalog()
        spec = nets.BY_NAME[item.network]
        cache[item.network] = (load_network(item.network), domains(spec, catalog))
    net, doms = cache[item.network]
    written = generate(net, doms[item.domain], outdir, alpha=item.alpha, beta=item.beta, encoding=item.encoding,
                       gzip=True)
    for g in written:
        for suffix in SETTINGS_SUFFIX.values():  # lipgen jobs writes them where needed; the library stays lean
            g.path.with_name(g.path.name.removesuffix(INSTANCE_SUFFIX) + suffix).unlink(missing_ok=True)
    return [g.path for g in written]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(items: list[Item], clean: bool = True, log=print) -> dict[str, list[Path]]:
    """Generate every item into LIB/<folder>; with `clean`, remove the files the plan no longer holds."""
    by_folder: dict[str, list[Item]] = {}
    for it in items:
        by_folder.setdefault(it.folder, []).append(it)
    made: dict[str, list[Path]] = {}
    for folder, group in by_folder.items():
        outdir = LIB / folder
        outdir.mkdir(parents=True, exist_ok=True)
        if clean:
            (outdir / MANIFEST).unlink(missing_ok=True)  # rebuilt from the instances of this run only
        cache: dict = {}
        paths: list[Path] = []
        for i, it in enumerate(group, 1):
            start = time.perf_counter()
            new = build_item(it, outdir, cache)
            paths += new
            log(f"[{folder} {i}/{len(group)}] {it.key}: {', '.join(p.name for p in new)} "
                f"({time.perf_counter() - start:.1f} s)")
        made[folder] = sorted(paths)
        if not clean:
            continue
        keep = {p.name for p in paths} | {p.name.removesuffix(INSTANCE_SUFFIX) + ".json" for p in paths}
        keep |= {MANIFEST}
        copies = {f"{net.name}-{net.digest()[:12]}.h5" for net, _ in cache.values()}
        for f in outdir.iterdir():
            if f.is_file() and f.name not in keep:
                f.unlink()
        for f in (outdir / NETWORK_DIR).iterdir():
            if f.name not in copies:
                f.unlink()
    return made


def manifest_entries() -> list[tuple[str, dict]]:
    """(folder, manifest entry) of every instance of the collection, from the folders' manifest.json files (the
    large folder keeps only its manifest in the repository)."""
    out = []
    for folder in (COMMITTED, LARGE):
        path = LIB / folder / MANIFEST
        if path.is_file():
            out += [(folder, e) for e in json.loads(path.read_text())["instances"]]
    return out


def write_lists_and_sums() -> None:
    """all.test (every instance of the collection) and SHA256SUMS (the instance files), from the manifests."""
    entries = manifest_entries()
    atomic.write_text(LIB / "all.test", "".join(f"{folder}/{e['instance']}\n" for folder, e in entries))
    atomic.write_text(LIB / "SHA256SUMS", "".join(f"{e['sha256']}  {folder}/{e['instance']}\n"
                                                  for folder, e in entries))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-large", action="store_true", help="build only the committed instances")
    parser.add_argument("--only", action="append", default=[], metavar="NETWORK", help="build only these networks")
    parser.add_argument("--values", action="store_true", help="only the values, lists, metadata and README from "
                                                               "the runs in v1/runs (no instance is rebuilt)")
    parser.add_argument("--item", action="append", default=[], metavar="NETWORK/DOMAIN/NORMS/ENCODING",
                        help="build only this item (both bound kinds), e.g. iris-4-8-3/data/L1toinf/bigm")
    parser.add_argument("--into", type=Path, help="with --item: the folder to write into [default: the library's]")
    args = parser.parse_args(argv)
    if args.item:
        known = {it.key: it for it in plan()}
        unknown = [k for k in args.item if k not in known]
        if unknown:
            parser.error(f"no item {unknown[0]!r} in the plan (e.g. {next(iter(known))})")
        cache: dict = {}
        for key in args.item:
            it = known[key]
            for p in build_item(it, args.into or LIB / it.folder, cache):
                print(p)
        return 0
    if args.into:
        parser.error("--into needs --item")
    if not args.values:
        items = [it for it in plan() if (not args.only or it.network in args.only)
                 and not (args.no_large and it.folder == LARGE)]
        build(items, clean=not args.only)
        write_lists_and_sums()
    from values import write_values

    write_values()
    return 0


if __name__ == "__main__":
    sys.exit(main())
