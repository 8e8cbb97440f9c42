"""The split tree's state as one file (`tree.npz`), written atomically, so `lipgen split --resume` continues after a
kill without redoing finished work.

The file is an uncompressed .npz: the open nodes as arrays (boxes as two (n_open, n_inputs) float64 matrices, their
bounds, idents, depths, parents' bounds, and every fixed phase as one (n_phases, 3) int32 table with per-node
offsets) plus `meta`, a JSON text holding what identifies the problem (the network's digest, the domain's digest,
the norms, the tree options) and the certified values and counters. Closed nodes are not stored: they only ever
contribute `closed_upper`, kept as a number. Floats go through .npz and JSON's repr unchanged, so a resumed tree
makes exactly the decisions the uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .. import atomic
from ..domain import Box
from ..errors import LipgenError
from ..network import Network
from .node import Node
from .tree import STATS, Tree, TreeOptions

STATE = "tree.npz"
VERSION = 1


def identity(network: Network, box: Box, alpha: str, beta: str, options: TreeOptions) -> dict:
    """What a saved state must match to be resumed: the same problem and the same tree rule."""
    return {"network": network.digest(), "network_name": network.name, "domain": box.digest(),
            "norms": [str(alpha), str(beta)], "options": options.to_dict()}


def tree_digest(tree: Tree) -> str:
    """16 hex chars naming the tree's problem and rule: every leaf instance's sidecar records it."""
    text = json.dumps(identity(tree.network, tree.box, tree.alpha, tree.beta, tree.options), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_bytes(tree: Tree, extra: dict | None = None) -> bytes:
    """The tree as .npz bytes (module docstring); `extra`: the driver's own JSON (rounds, times, ...)."""
    entries = sorted(tree.heap, key=lambda h: (h[0], h[1]))  # heap order is not canonical; this is
    nodes: list[Node] = [h[2] for h in entries]
    n = len(tree.root_lower)
    phases = [np.asarray(nd.phases, dtype=np.int32).reshape(-1, 3) for nd in nodes]
    meta = {"version": VERSION, **identity(tree.network, tree.box, tree.alpha, tree.beta, tree.options),
            "stats": tree.stats, "lower": tree.lower, "closed_upper": tree.closed_upper, "ident": tree.ident,
            "started": tree.started, "status": tree.status, "seconds": tree.seconds, "mode": tree.mode,
            "point": None if tree.point is None else [float(v) for v in tree.point],
            "partial": {str(k): v for k, v in sorted(tree.partial.items())}, "extra": extra or {}}
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, allow_nan=False).encode(), dtype=np.uint8),
        "lower": np.array([nd.lower for nd in nodes], dtype=np.float64).reshape(-1, n),
        "upper": np.array([nd.upper for nd in nodes], dtype=np.float64).reshape(-1, n),
        "bound": np.array([-h[0] for h in entries], dtype=np.float64),
        "ident": np.array([nd.ident for nd in nodes], dtype=np.int64),
        "depth": np.array([nd.depth for nd in nodes], dtype=np.int64),
        "parent_upper": np.array([nd.parent_upper for nd in nodes], dtype=np.float64),
        "phase_count": np.array([len(p) for p in phases], dtype=np.int64),
        "phases": np.vstack(phases) if phases else np.zeros((0, 3), dtype=np.int32),
    }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save_state(path: str | Path, tree: Tree, extra: dict | None = None) -> int:
    """Write the state atomically (a crash leaves the previous file); returns its size in bytes."""
    data = state_bytes(tree, extra)
    atomic.write_bytes(path, data)
    return len(data)


def read_state(path: str | Path) -> tuple[dict, dict]:
    """(meta, arrays) of a state file; a LipgenError for anything that is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LipgenError(f"{path}: not a split tree state ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        raise LipgenError(f"{path}: not a split tree state of this lipgen (version {meta.get('version')!r})")
    return meta, arrays


def mismatch(meta: dict, want: dict) -> str | None:
    """Why a saved state belongs to another problem (None: it is this one)."""
    for key, what in (("network", "network"), ("domain", "domain"), ("norms", "norms"), ("options", "options")):
        if meta.get(key) != want[key]:
            if key == "options":
                diff = sorted(k for k in want[key] if (meta.get(key) or {}).get(k) != want[key][k])
                return f"it was made with other tree options ({', '.join(diff)})"
            return f"it belongs to another {what} ({str(meta.get(key))[:16]} vs {str(want[key])[:16]})"
    return None


def load_state(path: str | Path, network: Network, box: Box, alpha: str, beta: str,
               options: TreeOptions) -> tuple[Tree, dict]:
    """The saved tree, checked to be this problem's; (tree, the driver's extra JSON)."""
    meta, a = read_state(path)
    why = mismatch(meta, identity(network, box, alpha, beta, options))
    if why:
        raise LipgenError(f"{path}: cannot resume: {why}")
    tree = Tree(network, box, alpha, beta, options)
    tree.stats = {k: int(meta["stats"].get(k, 0)) for k in STATS}
    tree.lower, tree.closed_upper, tree.ident = float(meta["lower"]), float(meta["closed_upper"]), int(meta["ident"])
    tree.started, tree.status, tree.seconds = bool(meta["started"]), str(meta["status"]), float(meta["seconds"])
    tree.point = None if meta["point"] is None else np.array(meta["point"], dtype=np.float64)
    tree.partial = {int(k): v for k, v in (meta.get("partial") or {}).items()}  # states before it: none
    ends = np.cumsum(a["phase_count"])
    starts = ends - a["phase_count"]
    phases = a["phases"].tolist()
    for j in range(len(a["bound"])):
        ph = tuple(tuple(p) for p in phases[starts[j]:ends[j]])
        node = Node(a["lower"][j].copy(), a["upper"][j].copy(), ph, int(a["depth"][j]),  # type: ignore[arg-type]
                    float(a["parent_upper"][j]), int(a["ident"][j]))
        tree.heap.append((-float(a["bound"][j]), node.ident, node, None))
    tree.heap.sort(key=lambda h: (h[0], h[1]))  # a sorted list is a heap
    return tree, meta.get("extra") or {}
