"""Time lipgen's model build and file writing for networks of growing size (is the cost per nonzero flat?).

Usage: python benchmarks/generate_speed.py [--out DIR] [--gzip]   (prints a Markdown table; see README.md)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from lipgen.bounds import interval_bounds
from lipgen.domain import Box
from lipgen.formulation import Spec, build
from lipgen.network import Network
from lipgen.writers import write_model

SIZES = [(784, [256, 256], 10), (784, [1024, 1024], 10), (100, [2000, 2000, 2000], 10)]


def network(n_in: int, hidden: list[int], n_out: int, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    dims = [n_in] + hidden + [n_out]
    ws = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    bs = [rng.normal(scale=0.1, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(ws, bs, name="bench")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temporary directory)")
    ap.add_argument("--gzip", action="store_true", help="write .mps.gz / .lp.gz")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="lipgen-speed-"))
    gz = ".gz" if args.gzip else ""
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"| network | bound | vars | rows | nonzeros | build (s) | MPS{gz} (s) | MPS MB | MPS text MB/s "
          f"| MPS ns/nonzero | LP{gz} (s) | LP MB | LP text MB/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n_in, hidden, n_out in SIZES:
        net = network(n_in, hidden, n_out)
        box = Box(np.zeros(n_in), np.ones(n_in))  # most neurons unstable: the largest models
        bounds = interval_bounds(net, box.lower, box.upper)
        label = f"{n_in}-{'-'.join(map(str, hidden))}-{n_out}"
        for kind in ("upper", "lower"):
            t0 = time.perf_counter()
            form = build(net, box.lower, box.upper, Spec("inf", "inf", kind), bounds=bounds)
            t1 = time.perf_counter()
            mps = out / f"{label}_{kind}.mps{gz}"
            mps_w = write_model(form.model, mps)
            t2 = time.perf_counter()
            lp = out / f"{label}_{kind}.lp{gz}"
            lp_w = write_model(form.model, lp)
            t3 = time.perf_counter()
            st = form.model.stats()
            print(f"| {label} | {kind} | {st['variables']} | {st['constraints']} | {st['nonzeros']} | {t1 - t0:.2f} "
                  f"| {t2 - t1:.2f} | {mps_w.size / 1e6:.1f} | {mps_w.text_size / 1e6 / (t2 - t1):.0f} "
                  f"| {1e9 * (t2 - t1) / st['nonzeros']:.0f} | {t3 - t2:.2f} | {lp_w.size / 1e6:.1f} "
                  f"| {lp_w.text_size / 1e6 / (t3 - t2):.0f} |", flush=True)
            if args.out is None:
                mps.unlink()
                lp.unlink()
    if args.out is None:
        out.rmdir()


if __name__ == "__main__":
    main()
