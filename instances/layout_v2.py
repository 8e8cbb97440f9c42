"""The layout of lipgen-v2: v1's items (referred to, never copied), l2 -> l-inf and margin (logit difference)
instances of the trained nets, the v2 nets of networks.V2_SPECS, and the family `split`: leaves of the split tree
on a few hard problems.

    python instances/layout_v2.py            # print the plan's counts
    python instances/layout_v2.py --build ITEM_KEY --into DIR   # build one new item (both bound kinds)

A v2 instance is either v1's file (its path in v2's lists is `../v1/instances/NAME.mps.gz`, its network stays
in v1's folder) or a new file under v2/instances/. A new file byte-identical to one v1 holds is dropped and
referred to instead (dedupe_against_v1), so no file is ever held twice.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import layout as v1  # noqa: E402
import networks as nets  # noqa: E402

VERSION = "v2"
LIBRARY = f"lipgen-{VERSION}"
LIB = HERE / VERSION
V1_PREFIX = os.path.relpath(v1.LIB, LIB)  # "../v1": v1's files as v2's lists name them
NEW_NORMS = (("2", "inf"),)  # v1 already has 1, 2, inf, 1->inf, inf->2
MARGIN_NORMS = (("1", "1"), ("2", "2"), ("inf", "inf"))  # one output: the output norm is |.|
SPLIT_FAMILY = "split"
# the hard problems whose split leaves v2 holds (v1 publishes all of them as open), and the tree's size
SPLIT_SOURCES = (("digits-64-32-32-10", "data", "inf", "inf"), ("lipbab-10-15-10-3", "box", "inf", "inf"),
                 ("lipbab-10-15-10-3", "box", "2", "2"))
SPLIT_NODES, SPLIT_LEAVES = 200, 8
# built into v2/large/ and published without their files (as v1's large ones): digits-64-128-128-10's
# instances compress to about 0.8 MB each (v1's rule: over 400 kB); digits-64-64-64-64-10's to 0.3 MB, but its
# 72 files would hold 21 MB, half of v2's new files, and lie beyond the free solvers' size limits
LARGE_NETWORKS = ("digits-64-128-128-10", "digits-64-64-64-64-10")


@dataclass(frozen=True)
class Item:
    """One generate call of v2: v1's fields plus an optional margin 'I,J' and where the files come from."""

    network: str
    domain: str
    alpha: str
    beta: str
    encoding: str
    folder: str
    margin: str | None = None
    origin: str = VERSION  # "v1": v1's files, referred to

    @property
    def key(self) -> str:
        base = f"{self.network}/{self.domain}/{v1.norm_tag(self.alpha, self.beta)}/{self.encoding}"
        return base + (f"/margin{self.margin.replace(',', '-')}" if self.margin else "")


def margins(spec: nets.NetSpec, catalog: dict, label: str) -> str | None:
    """The logit difference of a domain: a test ball's own class against the next one (mod the classes), the
    data box's classes 0 and 1; None for one-output networks."""
    n_out = spec.widths[-1]
    if n_out < 2:
        return None
    ball = next((b for b in catalog.get(spec.name, {}).get("balls", []) if b["label"] == label), None)
    c = ball["class"] if ball else 0
    return f"{c},{(c + 1) % n_out}"


def new_items(spec: nets.NetSpec, catalog: dict, norms: tuple) -> list[Item]:
    out = []
    folder = v1.LARGE if spec.name in LARGE_NETWORKS else v1.COMMITTED
    for label in v1.domains_labels(spec, catalog):
        out += [Item(spec.name, label, a, b, "bigm", folder) for a, b in norms]
        m = margins(spec, catalog, label) if spec.family == "trained" else None
        if m:
            out += [Item(spec.name, label, a, b, "bigm", folder, margin=m) for a, b in MARGIN_NORMS]
    return out


def plan(catalog: dict | None = None) -> list[Item]:
    """Every item of v2, v1's first (origin v1), in a fixed order."""
    catalog = catalog if catalog is not None else nets.load_catalog()
    out = [Item(i.network, i.domain, i.alpha, i.beta, i.encoding, i.folder, origin="v1") for i in v1.plan(catalog)]
    for spec in nets.SPECS:
        if spec.family == "trained":
            out += new_items(spec, catalog, NEW_NORMS)
    for spec in nets.V2_SPECS:
        out += new_items(spec, catalog, v1.NORMS + NEW_NORMS)
    return out


def split_family(lib: Path | None = None, sources: tuple = SPLIT_SOURCES, nodes: int = SPLIT_NODES,
                 leaves: int = SPLIT_LEAVES) -> list[Path]:
    """The family `split`: for each hard problem of `sources` (network, domain, alpha, beta), lipgen's split tree
    runs `nodes` bounded nodes (a node budget, no clock: the tree and its leaves repeat), then its `leaves` open
    nodes of largest bound become leaf instances in lib/split/, as `lipgen split --leaf-solver` writes them: the
    upper-bound problem over the node's sub-box, the sidecar's `split` table naming the tree's digest, the node
    and its fixed phases. -> the instance files."""
    from lipgen.run.split_leaves import write_leaf
    from lipgen.split.tree import Tree

    folder = (LIB if lib is None else lib) / SPLIT_FAMILY
    catalog = nets.load_catalog()
    out = []
    for network, domain, alpha, beta in sources:
        box = v1.domains(nets.BY_NAME[network], catalog)[domain]
        tree = Tree(v1.load_network(network), box, alpha, beta)
        tree.run(node_budget=nodes, time_budget=float("inf"))
        for bound, node in tree.open_nodes(leaves):
            out.append(drop_settings(write_leaf(tree, folder, bound, node, folder=folder, gzip=True).path))
    return out


def instance_dirs() -> list[Path]:
    """The folders that hold v2's instance files and sidecars (v1's own folder included), as far as built."""
    return [d for d in (LIB / "instances", LIB / SPLIT_FAMILY, v1.LIB / "instances") if d.is_dir()]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_sums(path: Path) -> dict[str, str]:
    """A SHA256SUMS file (`sha256sum` format: 64 hex digits, two spaces, path) -> {path: digest}."""
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise ValueError(f"{path}, line {n}: not a SHA256SUMS line: {line!r}")
        if name in out:
            raise ValueError(f"{path}, line {n}: {name} listed twice")
        out[name] = digest
    return out


def render_sums(sums: dict[str, str]) -> str:
    return "".join(f"{d}  {p}\n" for p, d in sorted(sums.items()))


def v1_files() -> dict[str, str]:
    """v1's instance files as v2 names them (`../v1/instances/NAME.mps.gz`) -> digest."""
    return {f"{V1_PREFIX}/{p}": d for p, d in read_sums(v1.LIB / "SHA256SUMS").items()}


def dedupe_against_v1(paths: list[Path], lib: Path = LIB) -> dict[Path, str]:
    """Drop every new file whose name and bytes v1 already holds; -> {dropped file: v1's path as v2 names it}."""
    by_name = {Path(p).name: (p, d) for p, d in v1_files().items()}
    dropped = {}
    for p in paths:
        held = by_name.get(p.name)
        if held and sha256(p) == held[1]:
            dropped[p] = held[0]
            p.unlink()
    return dropped


def build_item(item: Item, outdir: Path) -> list[Path]:
    """Generate both bound kinds of one new item into `outdir` (the margin folded into the network)."""
    from lipgen.instance import generate
    from lipgen.io import covector

    if item.origin != VERSION:
        raise ValueError(f"{item.key} is v1's: refer to its files, never rebuild them")
    spec = nets.BY_NAME[item.network]
    net = covector.apply(v1.load_network(item.network), margin=item.margin)
    box = v1.domains(spec, nets.load_catalog())[item.domain]
    mode = recorded_modes().get((net.name, v1.norm_tag(item.alpha, item.beta), box.tag(), item.encoding), "auto")
    written = generate(net, box, outdir, alpha=item.alpha, beta=item.beta, encoding=item.encoding, mode=mode,
                       gzip=True)
    return [drop_settings(g.path) for g in written]


@functools.cache  # read once per build, not once per item
def recorded_modes() -> dict[tuple[str, str, str, str], str]:
    """(network, norms, domain tag, encoding) -> the mode v2 was published with (metadata.csv's `mode`). v2 stays as
    published: its build pins these modes instead of asking `--mode auto`, whose rule has changed since (l1 inputs
    now go forward); `auto` for an item v2 does not have."""
    import csv

    path = LIB / "metadata.csv"
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {(r["network"], r["norms"], r["domain"], r["encoding"]): r["mode"] for r in csv.DictReader(fh)
                if r["origin"] == VERSION and r["mode"] in ("forward", "backward")}


def drop_settings(instance: Path) -> Path:
    """Remove the settings files generate wrote beside an instance (lipgen jobs writes them where needed)."""
    for extra in instance.parent.glob(instance.name.removesuffix(v1.INSTANCE_SUFFIX) + ".*"):
        if extra.suffix not in (".gz", ".json"):
            extra.unlink()
    return instance


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", action="append", default=[], metavar="KEY")
    p.add_argument("--into", type=Path)
    args = p.parse_args(argv)
    items = plan()
    if args.build:
        known = {i.key: i for i in items}
        for key in args.build:
            for path in build_item(known[key], args.into or LIB / known[key].folder):
                print(path)
        return 0
    new = [i for i in items if i.origin == VERSION]
    print(f"{len(items)} items: {len(items) - len(new)} v1 (referred to), {len(new)} new "
          f"({sum(bool(i.margin) for i in new)} margin); {2 * len(items)} instances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
