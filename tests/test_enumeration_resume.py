"""A region enumeration stopped by a budget continues where it stopped (issue 21): in one call of
`enumerate_regions` and in a tree saved and loaded between two runs, no finished branch is enumerated twice,
and the merged bounds equal one uninterrupted enumeration's."""

from __future__ import annotations

import pytest
from helpers.halts import halt_after
from helpers.networks import oracle_value, tiny_network, unit_box

from lipgen.bounds import compute_bounds, stabilities
from lipgen.domain import Box
from lipgen.split import Node, Tree, TreeOptions, bound_node, enumerate_regions
from lipgen.split.state import load_state, save_state

pytestmark = pytest.mark.fast



@pytest.mark.parametrize("case,alpha,beta", [(1, "2", "2"), (4, "inf", "1"), (5, "1", "inf")])
@pytest.mark.parametrize("every", [2, 3, 7])
def test_a_stopped_enumeration_resumed_to_the_end_equals_one_uninterrupted(case, alpha, beta, every):
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    box = Box(lo, hi)
    nb = bound_node(net, Node(lo, hi), alpha, beta)
    root_stab = stabilities(net, compute_bounds(net, lo, hi))
    whole = enumerate_regions(net, nb, alpha, beta, box, root_stab, prune=False)
    assert whole.complete and whole.resume is None
    pieces, resume = [], None
    for _ in range(2_000):
        ex = enumerate_regions(net, nb, alpha, beta, box, root_stab, prune=False, halt=halt_after(every), resume=resume)
        pieces.append(ex)
        if ex.complete:
            break
        assert ex.resume is not None
        resume = ex.resume
    assert pieces[-1].complete and len(pieces) > 1  # it really was stopped
    assert sum(p.regions for p in pieces) == whole.regions  # nothing twice, nothing left out
    assert sorted(v for p in pieces for v in p.values) == sorted(whole.values)
    assert max(p.upper for p in pieces) == whole.upper


def test_a_tree_stopped_inside_its_root_enumeration_resumes_it_after_a_save(tmp_path):
    case = 4
    net = tiny_network(case)
    box = Box(*unit_box(net.n_inputs))
    opts = TreeOptions(branching="phase", exact_max=16, rel_gap=1e-6)
    tree = Tree(net, box, "inf", "1", opts)
    tree.run(stop=halt_after(4))
    assert tree.status == "stopped" and list(tree.partial) == [0]  # the root, mid-enumeration
    save_state(tmp_path / "tree.npz", tree)
    again, _ = load_state(tmp_path / "tree.npz", net, box, "inf", "1", opts)
    assert again.partial == tree.partial
    assert again.run() == "closed"
    exact = oracle_value(case, "inf", "1")
    r = again.result()
    assert r.lower <= exact * (1 + 1e-12) and r.upper >= exact * (1 - 1e-12) and r.gap <= 1e-6
    assert r.nodes == 1 and r.exact_leaves == 1  # finished as one exact leaf, never split
    assert not again.partial
