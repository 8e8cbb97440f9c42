"""Tiny networks for every test; the exact oracle lives in tests/oracle.py."""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lipgen.network import Network  # noqa: E402
from oracle import regions  # noqa: E402

# (inputs, hidden widths, outputs): 2-4 inputs, up to 16 hidden neurons, 1-3 outputs
SHAPES = [
    (2, [16], 1),
    (2, [6, 5], 1),
    (3, [8], 2),
    (4, [6], 1),
    (2, [5, 4], 3),
    (3, [4, 4, 3], 1),
    (2, [10], 2),
    (4, [5, 3], 2),
]


def random_network(seed: int, n_in: int, hidden: list[int], n_out: int, name: str | None = None) -> Network:
    rng = np.random.default_rng(seed)
    dims = [n_in] + list(hidden) + [n_out]
    weights = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    biases = [rng.normal(scale=0.5, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(weights, biases, name=name or f"rand{seed}")


def tiny_network(case: int) -> Network:
    n_in, hidden, n_out = SHAPES[case]
    return random_network(100 + case, n_in, hidden, n_out, name=f"tiny{case}")


def unit_box(n: int):
    return -np.ones(n), np.ones(n)


@lru_cache(maxsize=None)
def _patterns(case: int):
    net = tiny_network(case)
    return [tuple(map(tuple, p)) for p in regions(net, *unit_box(net.n_inputs))]


def oracle_value(case: int, alpha: str, beta: str) -> float:
    """Exact L of tiny_network(case) on [-1, 1]^n (regions cached per network)."""
    from lipgen.network import operator_norm

    net = tiny_network(case)
    return max(operator_norm(net.jacobian_of_pattern([np.array(s) for s in p]), alpha, beta)
               for p in _patterns(case))


@pytest.fixture
def net_file(tmp_path):
    """Factory: save a network in the native schema and return its path."""
    from lipgen.io import save

    def make(net: Network, name: str | None = None, **kw) -> Path:
        path = tmp_path / f"{name or net.name}.h5"
        save(path, net, **kw)
        return path

    return make


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m lipgen ARGS` as a user would."""
    return subprocess.run([sys.executable, "-m", "lipgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
