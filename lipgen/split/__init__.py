"""Splitting one hard problem into pieces (issue 21): the solver-free core.

- `node`: a node (sub-box + fixed phases), its sound bounds and sampled certified lower bound;
- `exact`: activation regions as LPs and certified norms of their Jacobians; depth-first region enumeration;
- `tree`: best-first branch and bound returning a `SplitResult`.
"""

from ..lower.region_lp import region_lp
from .exact import ExactResult, enumerate_regions, exact_norm_upper, exact_pattern_value
from .node import Node, NodeBound, bound_node, clamp_bounds, fix_stability, sample_lower
from .tree import BRANCHINGS, SplitResult, Tree, TreeOptions, input_split_dim, phase_split_neuron, split

__all__ = ["BRANCHINGS", "ExactResult", "Node", "NodeBound", "SplitResult", "bound_node", "clamp_bounds",
           "enumerate_regions", "exact_norm_upper", "exact_pattern_value", "fix_stability", "input_split_dim",
           "phase_split_neuron", "region_lp", "sample_lower", "split", "Tree", "TreeOptions"]
