"""When `lipgen run --split auto` uses the split tree: the rule, measured in benchmarks/split_first.md (its reasons:
lipgen/run/split_first.py)."""

from __future__ import annotations

SPLIT_CHOICES = ("auto", "always", "never")
FIRST_MAX_UNSTABLE = 16  # the root is enumerated as one exact leaf up to this many unstable neurons
FIRST, BESIDE = "first", "beside"


def split_plan(choice: str, alpha: str, beta: str, unstable: int, sdp: bool = False) -> tuple[str, str] | None:
    """(when, why) the tree runs, `first` (before the MIPs) or `beside` (a thread while they run); None: not at all.
    `unstable`: the root's unstable neurons under the run's bounds method; `sdp`: the tree's nodes get the SDP
    bound (l2 -> l2, a matrix of order at most bounds/sdp.py's MAX_DIM)."""
    if choice == "never":
        return None
    if choice == "always":
        return FIRST, "--split always"
    if sdp and alpha == beta == "2":
        return FIRST, f"l2 norm: every node of the tree gets the SDP bound ({unstable} unstable neurons)"
    if unstable > FIRST_MAX_UNSTABLE:
        return BESIDE, f"{unstable} unstable neurons (more than {FIRST_MAX_UNSTABLE}): the tree runs beside the MIPs"
    if "2" in (alpha, beta):
        return FIRST, f"l2 norm and {unstable} unstable neurons (at most {FIRST_MAX_UNSTABLE})"
    return None
