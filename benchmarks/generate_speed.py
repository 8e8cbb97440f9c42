"""Time instance generation (bounds, model build, MPS/LP rendering) for networks of growing size.

Usage: python benchmarks/generate_speed.py [--out DIR]   (prints a Markdown table; see REPORT.md)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lipgen.bounds import interval_bounds
from lipgen.domain import Box
from lipgen.formulation import Spec, build
from lipgen.network import Network
from lipgen.writers import render_model

SIZES = [(784, [256, 256], 10), (784, [1024, 1024], 10), (100, [2000, 2000, 2000], 10)]


def network(n_in: int, hidden: list[int], n_out: int, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    dims = [n_in] + hidden + [n_out]
    ws = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    bs = [rng.normal(scale=0.1, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(ws, bs, name="bench")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    print("| network | bound | vars | rows | nonzeros | build (s) | MPS (s) | LP (s) | MPS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n_in, hidden, n_out in SIZES:
        net = network(n_in, hidden, n_out)
        # a small ball around a point keeps most neurons stable, as in robustness certification
        box = Box(np.full(n_in, 0.49), np.full(n_in, 0.51))
        bounds = interval_bounds(net, box.lower, box.upper)
        for kind in ("upper", "lower"):
            t0 = time.perf_counter()
            form = build(net, box.lower, box.upper, Spec("inf", "inf", kind), bounds=bounds)
            t1 = time.perf_counter()
            mps = render_model(form.model, "mps")
            t2 = time.perf_counter()
            render_model(form.model, "lp")
            t3 = time.perf_counter()
            st = form.model.stats()
            label = f"{n_in}-{'-'.join(map(str, hidden))}-{n_out}"
            print(f"| {label} | {kind} | {st['variables']} | {st['constraints']} | {st['nonzeros']} | {t1 - t0:.2f} "
                  f"| {t2 - t1:.2f} | {t3 - t2:.2f} | {len(mps) / 1e6:.1f} |", flush=True)
            if args.out:
                (args.out / f"{label}_{kind}.mps").write_bytes(mps)


if __name__ == "__main__":
    main()
