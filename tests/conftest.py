"""Fixtures; the shared helpers (networks, oracle, reference writers) live in tests/helpers/."""

from __future__ import annotations

from pathlib import Path

import pytest

from lipgen.io import save
from lipgen.network import Network


@pytest.fixture
def net_file(tmp_path):
    """Factory: save a network in the native schema and return its path."""

    def make(net: Network, name: str | None = None, **kw) -> Path:
        path = tmp_path / f"{name or net.name}.h5"
        save(path, net, **kw)
        return path

    return make


def pytest_collection_modifyitems(items):
    """The tiers: a test not marked solver, slurm or slow is `fast` (pytest -m fast)."""
    for item in items:
        if not any(item.get_closest_marker(name) for name in ("solver", "slurm", "slow")):
            item.add_marker(pytest.mark.fast)
