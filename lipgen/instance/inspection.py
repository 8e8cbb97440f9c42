"""What `lipgen inspect` reports: layers, domain, neuron stability, the cheap anchors, the mode `auto` takes and when
`run --split auto` uses the split tree."""

from __future__ import annotations

import time

import numpy as np

from ..bounds import (BOUNDS_METHODS, bounds_method, compute_bounds, input_map, layer_scales, naive_upper_bound,
                      stabilities)
from ..bounds.jacobian import anchor_bounds
from ..bounds.sdp import MAX_DIM as SDP_MAX_DIM
from ..bounds.sdp import sdp_upper
from ..domain import Box
from ..formulation import choose_mode
from ..lower.certificate import certify_point
from ..lower.sampling import sampled_lower_bound
from ..network import NORMS, Network
from ..split.plan import split_plan
from .degeneracy import general_position_warnings


OBBT_AUTO_LIMIT = 500  # unstable neurons (after linear bounds) above which obbt is only run when asked for


def compare_bounds(net: Network, box: Box, methods: list[str], explicit: bool) -> tuple[dict, dict, list[str]]:
    """Per bounds method: unstable neurons per layer, the largest big-M in the file's scaled units, the time, and per
    norm the naive and the Jacobian bound and each mode's size with the mode `auto` takes (formulation.choose_mode).

    Returns (per method, the bounds of each method computed by name, notes)."""
    _, halfwidth = input_map(box.lower, box.upper)
    out, kept, notes = {}, {}, []
    for method in methods:
        if method == "obbt" and not explicit and "linear" in out and out["linear"]["unstable_total"] > OBBT_AUTO_LIMIT:
            notes.append(f"obbt not run: {out['linear']['unstable_total']} unstable neurons need twice as many LPs; "
                         "ask for it with --bounds obbt")
            continue
        start = time.perf_counter()
        bounds = compute_bounds(net, box.lower, box.upper, method)
        seconds = time.perf_counter() - start
        stab = stabilities(net, bounds)
        sigmas = layer_scales(net, halfwidth, stab)
        big_m = 0.0
        for b, st, sigma in zip(bounds, stab, sigmas):
            if st.unstable.any():
                u = st.unstable
                big_m = max(big_m, float(np.max(np.maximum(b.upper[u], -b.lower[u]) / sigma[u])))
        jac = anchor_bounds(net, stab)
        norms = {}
        for p in NORMS:
            mode, choice = choose_mode(net, stab, p, p)
            norms[p] = {"naive_upper": naive_upper_bound(net, p, p, stab), "jacobian_upper": jac.norm_upper(p, p),
                        "binaries": {m: choice[m]["binaries"] for m in ("forward", "backward")},
                        "auto_mode": mode, "auto_why": choice["why"]}
        out[method] = {"unstable": [int(st.unstable.sum()) for st in stab],
                       "unstable_total": int(sum(st.unstable.sum() for st in stab)),
                       "largest_big_m": big_m, "seconds": seconds, "jacobian_method": jac.method,
                       "jacobian_seconds": jac.seconds, "norms": norms}
        kept[method] = (bounds, stab, jac)
    return out, kept, notes


def inspect_network(net: Network, box: Box, n_samples: int = 1000, seed: int = 0,
                    methods: str | None = None) -> dict:
    """`methods`: comma-separated bounds methods to compare (default all; obbt only when small or named)."""
    names = [bounds_method(m) for m in methods.split(",")] if methods else list(BOUNDS_METHODS)
    per_method, kept, notes = compare_bounds(net, box, names, explicit=methods is not None)
    shown = "linear" if "linear" in kept else next(iter(kept))
    bounds, stab, jac = kept[shown]
    layers = []
    for k, w in enumerate(net.weights):
        hidden = k < len(net.weights) - 1
        # numbered from 1, like the variables (z1_i, s1_i, ...) and every message
        entry = {"index": k + 1, "shape": list(w.shape), "activation": "relu" if hidden else "linear",
                 "lower_min": float(bounds[k].lower.min()), "upper_max": float(bounds[k].upper.max())}
        if hidden:
            entry.update(stab[k].counts())
        layers.append(entry)

    per_norm = {}
    for p in NORMS:
        s = sampled_lower_bound(net, box.lower, box.upper, p, p, n=n_samples, seed=seed)
        # the float64 value is an estimate; its certificate (rounding error bound subtracted) is a lower bound
        cert = certify_point(net, box, p, p, s.x, s.v, stab).value or 0.0
        shown_norm = per_method[shown]["norms"][p]
        sdp = sdp_upper(net, stab) if p == "2" else None
        plan = split_plan("auto", p, p, per_method[shown]["unstable_total"], sdp is not None and sdp.dim <= SDP_MAX_DIM)
        per_norm[p] = {"sampled_certified": cert, "sampled_estimate": s.value,
                       "naive_upper": shown_norm["naive_upper"], "jacobian_upper": shown_norm["jacobian_upper"],
                       "sdp_upper": None if sdp is None else sdp.value, "sdp_reason": None if sdp is None else sdp.reason,
                       "auto_mode": shown_norm["auto_mode"], "auto_why": shown_norm["auto_why"],
                       "split": plan[0] if plan else "no", "split_why": plan[1] if plan else
                       "l1/l-inf norm with few unstable neurons: the linear MIPs are faster"}
    return {
        "name": net.name,
        "layout": net.meta.get("layout", "?"),
        "inputs": net.n_inputs,
        "outputs": net.n_outputs,
        "widths": net.widths,
        "layers": layers,
        "unstable_total": int(sum(s.unstable.sum() for s in stab)),
        "domain": dict(box.to_json(), tag=box.tag()),
        "samples": n_samples,
        "bounds": per_norm,
        "bounds_method": shown,
        "jacobian_method": jac.method,
        "jacobian_seconds": jac.seconds,
        "bounds_methods": per_method,
        "notes": notes,
        "warnings": general_position_warnings(net, stab, box.lower, box.upper),
    }
