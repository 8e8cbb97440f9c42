"""A CLEVER-style sampled estimate of the Lipschitz constant (Weng et al., ICLR 2018): NO CERTIFICATE.

Written for paper_claim.py (numpy + scipy, run with lipgen's venv Python but importing nothing of lipgen).
Points are drawn uniformly in the box, in batches; at each point the Jacobian of the activation pattern is
formed exactly (ReLU networks are piecewise linear) and its operator norm taken (p -> p for p = 1, 2, inf,
matching lipgen --norm p). Two numbers:

- `lower`: the largest sampled norm. Each is the norm of a true Jacobian at a point of the box, hence a lower
  bound of the constant on the box (up to points on region boundaries, a null set), but nothing says how far
  below L it stays;
- `estimate`: CLEVER's extrapolation, the location of a reverse Weibull distribution fitted (scipy's
  weibull_max) to the batch maxima. It may fall on either side of L: an estimate, not a bound.

Anytime: a JSON line at each budget crossing (and the final one) with the numbers so far; it stops at
`--max-points` points or at the largest budget (its clock starts after the imports).

    python clever_child.py --weights net.h5 --norm 2 [--lower .. --upper ..] --budgets 10,60,600
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def op_norms(J: np.ndarray, p: str) -> np.ndarray:
    """Operator norms p -> p of a batch of Jacobians J[k] (out x in)."""
    if p == "inf":
        return np.abs(J).sum(axis=2).max(axis=1)
    if p == "1":
        return np.abs(J).sum(axis=1).max(axis=1)
    return np.linalg.norm(J, ord=2, axis=(1, 2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--norm", choices=("1", "2", "inf"), required=True)
    ap.add_argument("--lower", default=None)
    ap.add_argument("--upper", default=None)
    ap.add_argument("--budgets", default="10,60,600")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--max-points", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import h5py
    from scipy.stats import weibull_max

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
    if args.lower is not None:
        lo = np.array([float(v) for v in args.lower.split(",")])
        hi = np.array([float(v) for v in args.upper.split(",")])
    budgets = sorted(float(b) for b in args.budgets.split(","))
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    maxima: list[float] = []
    best, points, nb = 0.0, 0, 0

    def estimate():
        if len(maxima) < 10 or np.ptp(maxima) == 0:
            return max(maxima) if maxima else None
        try:
            c, loc, scale = weibull_max.fit(np.asarray(maxima))
            return float(loc)
        except Exception:  # noqa: BLE001
            return None

    def emit(final=False, budget=None):
        print(json.dumps({"t": time.perf_counter() - t0, "lower": best, "estimate": estimate(),
                          "points": points, "final": final, "budget": budget}), flush=True)

    while points < args.max_points:
        # the state at a budget is the one before the first batch that would start after it
        t = time.perf_counter() - t0
        while nb < len(budgets) and t >= budgets[nb]:
            emit(budget=budgets[nb])
            nb += 1
        if nb == len(budgets):
            break
        x = lo + (hi - lo) * rng.random((args.batch, len(lo)))
        J = None  # batch Jacobian, built from the input side: D_k W_k ... D_1 W_0
        h = x
        for k, (w, b) in enumerate(zip(ws, bs)):
            z = h @ w.T + b
            J = w[None] if J is None else np.einsum("oi,bij->boj", w, J)
            if k < len(ws) - 1:
                d = (z > 0).astype(float)
                J = J * d[:, :, None]
                h = z * d
        if J.shape[0] == 1:
            J = np.broadcast_to(J, (args.batch,) + J.shape[1:])
        v = op_norms(J, args.norm)
        maxima.append(float(v.max()))
        best = max(best, maxima[-1])
        points += args.batch
    emit(final=True)


if __name__ == "__main__":
    main()
