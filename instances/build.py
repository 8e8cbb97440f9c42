"""Build the instance library lipgen-v1 from the networks of instances/networks/ (made by networks.py).

    python instances/build.py                 # every instance: v1/instances/ (committed) and v1/large/ (not)
    python instances/build.py --no-large      # only the committed ones (a minute or two)
    python instances/build.py --values        # the values from the recorded runs: lipgen-v1.solu, metadata.csv,
                                              # quick.test, benchmark.test, README.md (no instance is rebuilt)
    python instances/build.py --item iris-4-8-3/data/L1/bigm --into /tmp/x   # one item elsewhere, to compare

The instances are network x domain x norms x bound kind (upper, lower) x encoding, written by
lipgen.instance.generate with the defaults of `lipgen generate` (linear bounds; the mode each item was published
with, from v1/metadata.csv: v1 was made with the older `auto` rule), gzipped MPS
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
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import networks as nets  # noqa: E402
from layout import (INSTANCE_SUFFIX, LARGE, LIB, Item, domains, load_network, manifest_entries,  # noqa: E402
                    plan, recorded_modes)
from values import write_values  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.instance.settings import SUFFIX as SETTINGS_SUFFIX  # noqa: E402
from lipgen.instance import MANIFEST, NETWORK_DIR, generate  # noqa: E402

def build_item(item: Item, outdir: Path, cache: dict | None = None) -> list[Path]:
    """Generate both bound kinds of one item into `outdir`; the instance files written (settings files removed)."""
    cache = {} if cache is None else cache
    if item.network not in cache:
        catalog = nets.load_catalog()
        spec = nets.BY_NAME[item.network]
        cache[item.network] = (load_network(item.network), domains(spec, catalog))
    net, doms = cache[item.network]
    if "modes" not in cache:
        cache["modes"] = recorded_modes()
    # the mode v1 recorded (v1 stays as published); `auto` for an item v1 does not have
    mode = cache["modes"].get(item.key, "auto")
    written = generate(net, doms[item.domain], outdir, alpha=item.alpha, beta=item.beta, encoding=item.encoding,
                       mode=mode, gzip=True)
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
        link_network_copies(outdir / NETWORK_DIR)
    return made


def link_network_copies(folder: Path) -> None:
    """Each network once in the repository: a copy `NAME-<digest>.h5` that generate wrote, byte-identical to
    instances/networks/NAME.h5, becomes a relative symbolic link to it (the sidecars keep their paths)."""
    for f in sorted(folder.glob("*.h5")):
        source = nets.NETWORK_DIR / f"{f.stem.rsplit('-', 1)[0]}.h5"
        if f.is_symlink() or not source.is_file() or f.read_bytes() != source.read_bytes():
            continue
        f.unlink()
        f.symlink_to(os.path.relpath(source, folder))


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
    write_values()
    return 0


if __name__ == "__main__":
    sys.exit(main())
