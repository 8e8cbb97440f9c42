"""When `lipgen run --split auto` uses the split tree: the rule, measured in benchmarks/split_first.md (its reasons:
lipgen/run/split_first.py)."""

from __future__ import annotations

SPLIT_CHOICES = ("auto", "always", "never")
FIRST_MAX_UNSTABLE = 16  # the root is enumerated as one exact leaf up to this many unstable neurons
FIRST, BESIDE = "first", "beside"
# l2 -> l2: nodes are pruned by their SDP bound, so splitting on beats enumerating from 9 unstable neurons up
# (benchmarks/sdp_speed.md: digits-64-16-10's box 30 s -> 1.0 s, lipbab-10-15-10-3's gap at 30 s 0.085 -> 0.012)
SDP_EXACT_MAX, EXACT_MAX = 8, 12


def exact_max_for(alpha: str, beta: str, others: int = EXACT_MAX) -> int:
    """The most unstable neurons of a node that the tree enumerates rather than splits."""
    return SDP_EXACT_MAX if str(alpha) == str(beta) == "2" else others


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
