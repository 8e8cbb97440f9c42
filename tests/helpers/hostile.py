"""Ill-conditioned tiny networks for soundness tests (issue 17): cancellation to zero, per-neuron scales from 1e-6
to 1e6, tiny constants, covectors with cancellation, thin regions. Each generator is deterministic in its seed."""

from __future__ import annotations

import numpy as np

from lipgen.network import Network


def _net(weights, biases, name: str) -> Network:
    return Network([np.atleast_2d(np.asarray(w, dtype=np.float64)) for w in weights],
                   [np.atleast_1d(np.asarray(b, dtype=np.float64)) for b in biases], name=name)


def cancel_zero() -> Network:
    """1-3-1, weights about 9e5 in and [3e6, 5e6, -8e6] out, no biases: L = 0 exactly (the outputs sum to 0 in
    exact arithmetic), while float64 products a * o_i leave rounding noise of order u * 2e19."""
    a = 849110.4534
    return _net([[[a], [a], [a]], [[3537034.0, 4423349.49, -7960383.49]]],
                [[0.0, 0.0, 0.0], [0.0]], "cancel0")


def cancel_tiny(seed: int) -> Network:
    """1-3-1 like cancel_zero, with outputs that cancel up to a last-bits remainder: L of order 1e-3."""
    rng = np.random.default_rng(seed)
    a = float(rng.uniform(1e5, 1e6))
    o1, o2 = rng.uniform(1e6, 1e7, size=2)
    o3 = -(o1 + o2) * (1 + float(rng.choice([1, -1])) * 2.0 ** -50)
    return _net([[[a], [a], [a]], [[o1, o2, o3]]], [[0.0, 0.0, 0.0], [0.0]], f"cancelt{seed}")


def per_neuron_scaled(seed: int, widths=(2, 4, 3, 2)) -> Network:
    """A random net whose hidden neurons are rescaled by powers of ten in [1e-6, 1e6] (row and bias times s,
    the next layer's column divided by s): nearly the same function, numbers spread over twelve decades."""
    rng = np.random.default_rng(seed)
    ws, bs = [], []
    for k in range(len(widths) - 1):
        ws.append(rng.standard_normal((widths[k + 1], widths[k])))
        bs.append(0.5 * rng.standard_normal(widths[k + 1]))
    for k in range(len(widths) - 2):
        s = 10.0 ** rng.integers(-6, 7, size=widths[k + 1])
        ws[k] = ws[k] * s[:, None]
        bs[k] = bs[k] * s
        ws[k + 1] = ws[k + 1] / s[None, :]
    return _net(ws, bs, f"scaled{seed}")


def tiny_constant(seed: int) -> Network:
    """A 2-3-1 net with weights 1e-5 and 1e-4: L of order 1e-9."""
    rng = np.random.default_rng(seed)
    return _net([1e-5 * rng.standard_normal((3, 2)), 1e-4 * rng.standard_normal((1, 3))],
                [1e-5 * rng.standard_normal(3), [0.0]], f"tinyL{seed}")


def covector_cancel() -> tuple[Network, np.ndarray]:
    """1-1-3 with weights 1e6 and c = [0.1, 0.2, -0.30000000000000004]: c^T f is tiny and folding c rounds."""
    net = _net([[[1e6]], [[1e6], [1e6], [1e6]]], [[0.0], [0.0, 0.0, 0.0]], "cov3")
    return net, np.array([0.1, 0.2, -0.30000000000000004])


def thin_region(seed: int) -> Network:
    """2-2-1: two nearly parallel first-layer hyperplanes a distance ~1e-9 apart, with a steep slope only between
    them (a thin region carrying the maximum)."""
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(2)
    d /= np.linalg.norm(d)
    gap = 1e-9 * (1 + rng.random())
    return _net([np.vstack([d, d]), [[1e3, -1e3]]], [[0.1, 0.1 - gap], [0.0]], f"thin{seed}")


def thin_strip(width: float) -> Network:
    """2-3-1 on [-1, 1]^2 (scaled units = the box's own): two parallel first-layer hyperplanes with biases `width`
    apart (width / 1.02 apart in distance) and output weights 0.3 and -0.3, plus a stable neuron: the gradient is
    (0, 0.841) outside the strip between them and 0.3 (1, 0.2) + (0, 0.841) inside (norm 0.9496 = L, l2). The strict
    problem with margin eps cannot enter the strip when it is thinner than about 2 eps, nor does the region walk's
    overshoot stop in it: with width 5e-5 the default eps (1e-4) leaves the certified lower bound at 0.841, as in
    issue 20, item 3."""
    return _net([[[1.0, 0.2], [1.0, 0.2], [0.0, 1.0]], [[0.3, -0.3, 0.841]]], [[0.3, 0.3 - width, 5.0], [0.0]],
                "thinstrip")


def all_nets() -> list[Network]:
    """The hostile nets the property tests run over (the covector net separately)."""
    return ([cancel_zero()] + [cancel_tiny(s) for s in range(2)] + [per_neuron_scaled(s) for s in range(2)]
            + [tiny_constant(0), thin_region(0)])
