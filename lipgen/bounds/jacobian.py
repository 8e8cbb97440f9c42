"""Bounds of every entry of the Jacobian and of its partial products over the Clarke Jacobian (issue 20, item 2).

With D_k = diag(d_k), d_k in [0, 1] for an unstable neuron and exactly 1 (0) for a stably active (inactive)
one, every Clarke-Jacobian element of f on the box, at region boundaries included, is one of

    J(D) = W_K D_{K-1} W_{K-1} ... D_1 W_1,

so bounds valid for every D in that product of boxes bound the Clarke Jacobian, and through a monotone norm
the Lipschitz constant: |J| <= M entrywise gives ||J||_{a->b} <= ||M||_{a->b} for a, b in {1, 2, inf}, since
||J v||_b <= ||M |v| ||_b and ||v||_a = || |v| ||_a.

Partial products, all bounded entrywise (lower <= P(D) <= upper for every admissible D):

    forward[i]  = W_{i+1} D_i ... D_1 W_1                 (n_{i+1} x n_0), forward[K-1] = J
    backward[i] = C W_K D_{K-1} ... D_{i+1} W_{i+1}       (m x n_i),       backward[0] = C J

with C the covectors (rows; the identity by default, a margin e_i - e_j, any c). Both are one generic chain
t_0 = M_0 S, t_j = M_j D t_{j-1}: forward M_j = W_{j+1}, S = I; backward M_j = W_{K-j}^T, S = C^T.

Methods:

- `interval`: t_j bounded from the bounds of t_{j-1}, entry by entry (FastLip / RecurJac style): the product
  d * t of an unstable neuron lies in [min(0, l), max(0, u)].
- `linear`: the bounds of t_j are those of a linear function of the d's, pulled back through the chain as
  CROWN pulls back through ReLUs (in the spirit of Shi, Wang, Zhang, Kolter and Hsieh, NeurIPS 2022, whose
  relaxation runs over the derivative variables). The product y = d t, d in [0, 1], t in [l, u], is relaxed by
  the planes of its envelope (the rows of the big-M encoding, docs/formulation.md section 3):

      y <= u d,   y <= t - l (1 - d),   y >= l d,   y >= t - u (1 - d).

  The plane that keeps t lets the pull-back reach the d's of earlier layers, shared by many paths, and
  cancellations that interval arithmetic cannot see are kept. The per-neuron choice is CROWN's: keep t in
  the upper plane when t is mostly positive (u > -l), in the lower one when it is mostly negative. Every layer
  is intersected with its interval bound, so `linear` is never looser than `interval`. Besides the entries it
  bounds ||t_{K-1} column||_1 jointly (|t| <= chord of |.| over [l, u], then one pull-back per column), which
  gives ||c^T J||_1 per covector (backward) and ||J e_j||_1 per input (forward), tighter than summing entries.

Norms (`JacobianBounds.norm_upper`): the least of ||M|| (M = max(|lower|, |upper|)), ||mid|| + ||rad|| (J = mid + E,
|E| <= rad: keeps the signs, nearly ||J|| when few neurons are unstable) and the joint l1 bounds above, each
through `operator_norm_upper`. `branch_and_bound_norm` fixes unstable neurons to d = 0 or d = 1 best first: a norm
of J(D) is convex in each d, so its maximum over the D box is at a vertex and the two branches cover it.

Rounding (outward, rigorous): each layer's weights are scaled by a power of two (exact) so the chain runs
near magnitude one; an interval product m @ [lo, hi] is widened by gamma_{2n+4} |m| @ max(|lo|, |hi|)
(docs/formulation.md section 2); a pull-back adds, per step, the error of its coefficient product
gamma_n |Lambda| |M| times bounds of |y|, and gamma_N times the magnitude of every term summed. Products that
may underflow (only for weights spread over hundreds of orders of magnitude) get an absolute 2^-1074 each.
Exact zeros stay exact: a dead layer gives the bound 0.

Cost: interval is a few matrix products per layer on the chain from the narrow end (the default `sides`);
`linear` pulls back every entry: about 2 m n_k sum_j n_j n_{j-1} multiply-adds for layer k of a chain with
m columns (CROWN's cost), so it runs from the narrow end too.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from ..network import Network, operator_norm_upper
from ..rounding import gamma
from .methods import compute_bounds
from .stability import Stability, stabilities

JACOBIAN_METHODS = ("interval", "linear")
SIDES = ("auto", "forward", "backward", "both")
SUBNORMAL = 2.0 ** -1074  # the absolute error of one product that underflows is at most half of it
UNDERFLOW_GUARD = 2.0 ** -1020  # products of nonzero floats above this never underflow
BATCH_ELEMENTS = 1 << 22  # coefficient tensors of a pull-back are cut into column batches of about this size


@dataclass
class EntryBounds:
    """lower <= P <= upper entrywise, for every admissible D."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def shape(self) -> tuple:
        return self.lower.shape

    def magnitude(self) -> np.ndarray:
        """M = max(|lower|, |upper|): |P| <= M entrywise."""
        return np.maximum(np.abs(self.lower), np.abs(self.upper))

    def contains(self, p: np.ndarray) -> bool:
        p = np.asarray(p)
        return bool(np.all(self.lower <= p) and np.all(p <= self.upper))

    def intersect(self, other: EntryBounds) -> EntryBounds:
        return EntryBounds(np.maximum(self.lower, other.lower), np.minimum(self.upper, other.upper))


@dataclass
class JacobianBounds:
    """Entry bounds of the Jacobian (rows: C J) and of its partial products; see the module's docstring.

    `row_l1[i]` >= ||row i of C J||_1 and `col_l1[j]` >= ||J e_j||_1 (joint bounds, linear method only).
    """

    method: str
    jacobian: EntryBounds
    forward: list[EntryBounds] | None = None
    backward: list[EntryBounds] | None = None
    covectors: np.ndarray | None = None
    row_l1: np.ndarray | None = None
    col_l1: np.ndarray | None = None
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def norm_upper(self, alpha: str, beta: str) -> float:
        """A rigorous upper bound of ||C J(D)||_{alpha->beta} for every admissible D, hence of L on the box.

        The least of ||M||_{alpha->beta} (M the entries' magnitudes, `operator_norm_upper`), of
        ||mid|| + ||rad|| (J = mid + E with |E| <= rad: keeps the signs, tight for narrow intervals) and, for
        alpha = inf, the joint row bounds: ||J v||_beta <= ||(||J_i||_1)_i||_beta for ||v||_inf <= 1; for
        alpha = beta = 1, max_j ||J e_j||_1.
        """
        alpha, beta = str(alpha), str(beta)
        best = _norm_of_magnitudes(self.jacobian.magnitude(), alpha, beta)
        lo, hi = self.jacobian.lower, self.jacobian.upper
        if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            mid = lo + 0.5 * (hi - lo)  # any matrix will do: the radius below is measured from it
            # |J - mid| <= max(hi - mid, mid - lo) in reals; the float differences may round down by half an ulp
            rad = np.maximum(hi - mid, mid - lo) * (1.0 + 2.0 ** -51)
            rad = np.where(rad > 0, np.nextafter(rad, np.inf), 0.0)
            n_mid, n_rad = _norm_of_magnitudes(mid, alpha, beta), _norm_of_magnitudes(rad, alpha, beta)
            best = min(best, float(np.nextafter(n_mid + n_rad, np.inf)) if n_rad > 0 else n_mid)
        if alpha == "inf" and self.row_l1 is not None:
            best = min(best, _norm_of_magnitudes(self.row_l1[:, None], "1", beta))
        if alpha == "1" and beta == "1" and self.col_l1 is not None:
            best = min(best, _norm_of_magnitudes(self.col_l1[None, :], "1", "inf"))
        return float(best)


def _norm_of_magnitudes(m: np.ndarray, alpha: str, beta: str) -> float:
    if m.size == 0 or not np.any(m):
        return 0.0
    if not np.all(np.isfinite(m)):
        return float("inf")
    return operator_norm_upper(m, alpha, beta)


# ----------------------------------------------------------------------------------------- rigorous pieces
def _min_nonzero(*arrays: np.ndarray) -> float:
    vals = [np.min(np.abs(a[a != 0])) for a in arrays if np.any(a)]
    return float(min(vals)) if vals else np.inf


def _may_underflow(a: np.ndarray, b: np.ndarray) -> bool:
    """True unless every product of a nonzero entry of a and one of b is a normal float (no underflow)."""
    return _min_nonzero(a) * _min_nonzero(b) < UNDERFLOW_GUARD


def _interval_matmul(m: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Rigorous bounds of m @ x over lo <= x <= hi (x a matrix, column by column).

    up = m+ hi - m- lo and low = m+ lo - m- hi in float64, widened by gamma_{2n+4} |m| @ max(|lo|, |hi|): the
    float error of a sum of 2n products is at most gamma_{2n} times the sum of their magnitudes, the rest
    covers the magnitude's own rounding and the widening step.
    """
    n = m.shape[1]
    mp, mn = np.maximum(m, 0.0), np.maximum(-m, 0.0)
    if lo is hi:
        up = m @ hi
        low = up.copy()
        mag = np.abs(m) @ np.abs(hi)
    else:
        up = mp @ hi - mn @ lo
        low = mp @ lo - mn @ hi
        mag = np.abs(m) @ np.maximum(np.abs(lo), np.abs(hi))
    slack = gamma(2 * n + 4) * mag
    if _may_underflow(m, np.concatenate([lo.ravel(), hi.ravel()])):
        # each underflowing product errs by at most 2^-1075 absolutely, in the value and in its magnitude
        nonzero = (m != 0).astype(np.float64) @ ((lo != 0) | (hi != 0)).astype(np.float64)
        slack = slack + 4 * SUBNORMAL * nonzero
    with np.errstate(invalid="ignore"):
        up, low = up + slack, low - slack
    bad = ~np.isfinite(slack) | np.isnan(up) | np.isnan(low)
    if bad.any():  # an overflow: the bound is +-inf, never NaN
        up = np.where(bad, np.inf, up)
        low = np.where(bad, -np.inf, low)
    return low, up


def _through_relu(lo: np.ndarray, hi: np.ndarray, active: np.ndarray, unstable: np.ndarray):
    """Exact bounds of d * t for d in {1} (active), {0} (inactive), [0, 1] (unstable), t in [lo, hi] (rows)."""
    a, u = active[:, None], unstable[:, None]
    ylo = np.where(u, np.minimum(lo, 0.0), np.where(a, lo, 0.0))
    yhi = np.where(u, np.maximum(hi, 0.0), np.where(a, hi, 0.0))
    return ylo, yhi


def _unscale(lo: np.ndarray, hi: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds times 2^shift, still outward: ldexp is exact unless the result is subnormal (then rounded)."""
    rlo, rhi = np.ldexp(lo, shift), np.ldexp(hi, shift)
    rhi = np.where((hi != 0) & (np.abs(rhi) < 2.0 ** -1022), np.nextafter(rhi, np.inf), rhi)
    rlo = np.where((lo != 0) & (np.abs(rlo) < 2.0 ** -1022), np.nextafter(rlo, -np.inf), rlo)
    return rlo, rhi


def _unscale_up(v: np.ndarray, shift: int) -> np.ndarray:
    return _unscale(np.zeros_like(v), v, shift)[1]


def _power_of_two_scale(a: np.ndarray) -> int:
    """e such that max |a 2^e| is in [0.5, 1) (0 for a zero matrix)."""
    mx = float(np.max(np.abs(a))) if a.size else 0.0
    return 0 if mx == 0 or not np.isfinite(mx) else -int(np.frexp(mx)[1])


# ------------------------------------------------------------------------------------------- the chain
@dataclass
class _Chain:
    """t_0 = M_0 S, t_j = M_j D_{j-1} t_{j-1}; masks[j] describe the D applied to t_j (j < len(mats) - 1)."""

    mats: list[np.ndarray]  # scaled by powers of two
    start: np.ndarray  # S, scaled
    identity: bool  # S is the identity: t_0 = M_0 exactly
    active: list[np.ndarray]
    unstable: list[np.ndarray]
    shifts: list[int]  # t_j (true) = t_j (scaled) * 2^shifts[j]

    def ybound(self, j: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Bound of |d * t_j| (rows = neurons of t_j, columns = starts)."""
        live = (self.active[j] | self.unstable[j])[:, None]
        return np.where(live, np.maximum(np.abs(lo), np.abs(hi)), 0.0)


def _first(chain: _Chain) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of t_0 = M_0 S: exact for the identity, else the rounded product widened."""
    if chain.identity:
        return chain.mats[0].copy(), chain.mats[0].copy()
    return _interval_matmul(chain.mats[0], chain.start, chain.start)


def _interval_chain(chain: _Chain) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    lo, hi = _first(chain)
    out.append((lo, hi))
    for j in range(1, len(chain.mats)):
        ylo, yhi = _through_relu(lo, hi, chain.active[j - 1], chain.unstable[j - 1])
        lo, hi = _interval_matmul(chain.mats[j], ylo, yhi)
        out.append((lo, hi))
    return out


def _pull_back(chain: _Chain, bounds: list, k: int, coef: np.ndarray | None, cols: np.ndarray) -> np.ndarray:
    """Upper bounds of sum_i coef[c, r, i] t_k[i, c] over every admissible D, for the columns `cols`.

    coef None means the rows +e_i and -e_i of t_k (entry bounds: result (c, 2 n_k), upper then minus lower).
    """
    mats = chain.mats
    tlo = [b[0][:, cols].T[:, None, :] for b in bounds]  # (c, 1, n_j)
    thi = [b[1][:, cols].T[:, None, :] for b in bounds]
    nc = len(cols)
    err = None
    if coef is None:
        lam = np.broadcast_to(np.concatenate([mats[k], -mats[k]])[None], (nc, 2 * mats[k].shape[0], mats[k].shape[1]))
    else:
        lam = coef @ mats[k]
        ymax = chain.ybound(k - 1, bounds[k - 1][0], bounds[k - 1][1])[:, cols]  # (n_{k-1}, c)
        err = _product_error(coef, mats[k], ymax)
    value = np.zeros(lam.shape[:2])
    mag = np.zeros(lam.shape[:2])
    terms = 0
    for j in range(k - 1, -1, -1):
        lo, hi = tlo[j], thi[j]
        act, uns = chain.active[j][None, None, :], chain.unstable[j][None, None, :]
        pos = lam >= 0
        keep_up = uns & (hi > -lo)  # upper plane keeps t when t is mostly positive
        keep_lo = uns & (-lo > hi)  # lower plane keeps t when t is mostly negative
        keep = np.where(pos, keep_up, keep_lo)
        lam_t = np.where(act | keep, lam, 0.0)
        # coefficient of d in the chosen plane, and the plane's constant
        dcoef = np.where(uns, lam * np.where(pos, np.where(keep_up, lo, hi), np.where(keep_lo, hi, lo)), 0.0)
        const = np.where(keep, -lam * np.where(pos, lo, hi), 0.0)
        value += np.sum(np.maximum(dcoef, 0.0) + const, axis=2)
        mag += np.sum(np.abs(dcoef) + np.abs(const), axis=2)
        terms += 2 * lam.shape[2] + 4
        tiny = _may_underflow(lam, np.concatenate([lo.ravel(), hi.ravel()]))
        if tiny:
            err = (0.0 if err is None else err) + 4 * SUBNORMAL * lam.shape[2]
        if j == 0:
            value += np.sum(np.maximum(lam_t * hi, lam_t * lo), axis=2)  # t_0 is (nearly) a point
            mag += np.sum(np.abs(lam_t) * np.maximum(np.abs(lo), np.abs(hi)), axis=2)
            terms += lam.shape[2] + 2
            break
        ymax = chain.ybound(j - 1, bounds[j - 1][0], bounds[j - 1][1])[:, cols]
        e = _product_error(lam_t, mats[j], ymax)
        err = e if err is None else err + e
        lam = lam_t @ mats[j]
    with np.errstate(invalid="ignore", over="ignore"):
        slack = gamma(terms + 8) * mag
        if err is not None:
            slack = slack + err
        up = value + slack * (1.0 + 2.0 ** -40)
    return np.where(np.isnan(up) | ~np.isfinite(slack), np.inf, up)


def _product_error(lam: np.ndarray, m: np.ndarray, ymax: np.ndarray) -> np.ndarray:
    """Bound of |(fl(lam @ m) - lam @ m) . y| for |y| <= ymax: gamma_n |lam| @ (|m| @ ymax), rounded up."""
    n = m.shape[0]
    inner = np.abs(m) @ ymax  # (n_j, c)
    val = np.einsum("crn,nc->cr", np.abs(lam), inner)
    val = val * (gamma(2 * n + m.shape[1] + 8) * (1.0 + 2.0 ** -40))
    if _may_underflow(lam, m):
        val = val + 4 * SUBNORMAL * n * np.sum(ymax, axis=0)[:, None]
    return val


def _linear_chain(chain: _Chain, joint_l1: bool = True) -> tuple[list, np.ndarray | None]:
    """Entry bounds of every t_k by pull-back, intersected with interval bounds layer by layer."""
    bounds = []
    lo, hi = _first(chain)
    bounds.append((lo, hi))
    ncols = chain.start.shape[1]
    for k in range(1, len(chain.mats)):
        ylo, yhi = _through_relu(lo, hi, chain.active[k - 1], chain.unstable[k - 1])
        lo, hi = _interval_matmul(chain.mats[k], ylo, yhi)
        if k >= 2 and any(u.any() for u in chain.unstable[:k]):
            nk = chain.mats[k].shape[0]
            up = np.empty((ncols, 2 * nk))
            per_col = 2 * nk * max(m.shape[1] for m in chain.mats[:k + 1])
            step = max(1, BATCH_ELEMENTS // per_col)
            for a in range(0, ncols, step):
                cols = np.arange(a, min(ncols, a + step))
                up[cols] = _pull_back(chain, bounds, k, None, cols)
            lo = np.maximum(lo, -up[:, nk:].T)
            hi = np.minimum(hi, up[:, :nk].T)
        bounds.append((lo, hi))
    l1 = None
    if joint_l1:
        l1 = _joint_l1(chain, bounds)
    return bounds, l1


def _joint_l1(chain: _Chain, bounds: list) -> np.ndarray:
    """Upper bounds of ||t_last[:, c]||_1 per column: |t| <= a t + b (chord of |.| over [l, u]), pulled back."""
    k = len(chain.mats) - 1
    lo, hi = bounds[k]
    entry = np.sum(np.maximum(np.abs(lo), np.abs(hi)), axis=0)
    entry = entry * (1.0 + gamma(lo.shape[0] + 4))
    if k == 0:
        return entry
    mixed = (lo < 0) & (hi > 0)
    width = np.where(mixed, hi - lo, 1.0)
    a = np.where(mixed, (hi + lo) / width, np.where(lo >= 0, 1.0, -1.0))
    a = np.where(hi == lo, np.sign(hi), a)
    # the chord lies above |t| at both ends, whatever the rounding of a: b from the ends, rounded up
    b_ends = np.maximum(-lo - a * lo, hi - a * hi)
    b = np.where(mixed, np.maximum(b_ends, 0.0) + gamma(6) * 2 * (np.abs(lo) + np.abs(hi)), 0.0)
    b = np.where(mixed | (lo >= 0) | (hi <= 0), b, 0.0)
    ncols = lo.shape[1]
    out = np.empty(ncols)
    step = max(1, BATCH_ELEMENTS // max(m.shape[0] * m.shape[1] for m in chain.mats))
    for s in range(0, ncols, step):
        cols = np.arange(s, min(ncols, s + step))
        coef = a[:, cols].T[:, None, :]  # (c, 1, n_k)
        out[cols] = _pull_back(chain, bounds, k, coef, cols)[:, 0]
    total = out + np.sum(b, axis=0) * (1.0 + gamma(lo.shape[0] + 4))
    total = np.where(np.isnan(total), np.inf, total)
    return np.minimum(entry, np.nextafter(total, np.inf))


# ------------------------------------------------------------------------------------------- the API
def derivative_boxes(stability) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(active, unstable) masks per hidden layer: d = 1 on active, d in [0, 1] on unstable, d = 0 otherwise."""
    return [np.asarray(s.active, bool) & ~np.asarray(s.inactive, bool) for s in stability], \
           [np.asarray(s.unstable, bool) for s in stability]


def _make_chain(network: Network, stability, side: str, covectors: np.ndarray | None) -> _Chain:
    active, unstable = derivative_boxes(stability)
    exps = [_power_of_two_scale(w) for w in network.weights]
    scaled = [np.ldexp(np.asarray(w, np.float64), e) for w, e in zip(network.weights, exps)]
    if side == "forward":
        start = np.eye(network.n_inputs)
        shifts = list(-np.cumsum(exps))
        return _Chain(scaled, start, True, active, unstable, [int(s) for s in shifts])
    mats = [w.T for w in reversed(scaled)]
    if covectors is None:
        start, identity, e_c = np.eye(network.n_outputs), True, 0
    else:
        e_c = _power_of_two_scale(covectors)
        start, identity = np.ldexp(np.asarray(covectors, np.float64), e_c).T, False
    shifts = [int(s) - e_c for s in -np.cumsum(exps[::-1])]
    return _Chain(mats, start, identity, active[::-1], unstable[::-1], shifts)


def jacobian_bounds(network: Network, lower=None, upper=None, *, method: str = "linear", bounds: str = "linear",
                    stability=None, covectors=None, sides: str = "auto", joint_l1: bool = True) -> JacobianBounds:
    """Entry bounds of C J(D) and of the partial products, valid for every admissible D (module docstring).

    stability: the hidden layers' `Stability` (from `stabilities(network, compute_bounds(...))`); when None it
    is computed on the box [lower, upper] with the pre-activation `bounds` method. covectors: rows c (m x n_K),
    e.g. e_i - e_j for a margin; None means the identity (the whole Jacobian). sides: which chains to run;
    `auto` runs the one from the narrow end (backward when m <= n_0, else forward), `both` intersects them.
    """
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"unknown Jacobian bounds method {method!r}: use interval or linear")
    if sides not in SIDES:
        raise ValueError(f"sides must be one of {SIDES}")
    start_time = time.perf_counter()
    if stability is None:
        if lower is None or upper is None:
            raise ValueError("jacobian_bounds needs the box (lower, upper) or the hidden layers' stability")

        stability = stabilities(network, compute_bounds(network, lower, upper, bounds))
    cov = None if covectors is None else np.atleast_2d(np.asarray(covectors, dtype=np.float64))
    m = network.n_outputs if cov is None else cov.shape[0]
    if sides == "auto":
        sides = "backward" if m <= network.n_inputs else "forward"
    result = JacobianBounds(method, EntryBounds(np.full((m, network.n_inputs), -np.inf),
                                                np.full((m, network.n_inputs), np.inf)), covectors=cov)
    k_layers = len(network.weights)
    if sides in ("backward", "both"):
        chain = _make_chain(network, stability, "backward", cov)
        raw, l1 = _run(chain, method, joint_l1)
        back = [None] * k_layers
        for j, (lo, hi) in enumerate(raw):
            lo, hi = _unscale(lo, hi, chain.shifts[j])
            back[k_layers - 1 - j] = EntryBounds(lo.T.copy(), hi.T.copy())
        result.backward = back
        result.jacobian = result.jacobian.intersect(back[0])
        if l1 is not None:
            result.row_l1 = _unscale_up(l1, chain.shifts[-1])
    if sides in ("forward", "both"):
        chain = _make_chain(network, stability, "forward", None)
        raw, l1 = _run(chain, method, joint_l1)
        result.forward = [EntryBounds(*_unscale(lo, hi, chain.shifts[j])) for j, (lo, hi) in enumerate(raw)]
        if l1 is not None:
            result.col_l1 = _unscale_up(l1, chain.shifts[-1])
        jac = result.forward[-1]
        if cov is not None:
            jac = EntryBounds(*_point_times_interval(cov, jac.lower, jac.upper))
            result.col_l1 = None  # it bounds J's columns, not those of C J
        result.jacobian = result.jacobian.intersect(jac)
    result.seconds = time.perf_counter() - start_time
    result.info = {"sides": sides, "unstable": int(sum(np.sum(s.unstable) for s in stability))}
    return result


def _point_times_interval(c: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    e = _power_of_two_scale(c)
    low, up = _interval_matmul(np.ldexp(c, e), lo, hi)
    return _unscale(low, up, -e)


def _run(chain: _Chain, method: str, joint_l1: bool):
    if method == "interval":
        return _interval_chain(chain), None
    return _linear_chain(chain, joint_l1)


def jacobian_upper_bound(network: Network, lower, upper, alpha: str, beta: str, *, method: str = "linear",
                         bounds: str = "linear", stability=None, covectors=None) -> float:
    """A certified upper bound of L_{alpha->beta} of (C) f on the box: `jacobian_bounds(...).norm_upper`."""
    jb = jacobian_bounds(network, lower, upper, method=method, bounds=bounds, stability=stability,
                         covectors=covectors)
    return jb.norm_upper(alpha, beta)


def _row_norms_upper(m: np.ndarray, p: str) -> np.ndarray:
    """Rigorous upper bounds of ||row i||_p of a non-negative matrix (p in 1, 2, inf), rounded up per row."""
    if m.size == 0:
        return np.zeros(m.shape[0])
    if p == "inf":
        return np.max(m, axis=1)  # exact
    out = np.zeros(m.shape[0])
    mx = np.max(m, axis=1)
    live = (mx > 0) & np.isfinite(mx)
    out[~np.isfinite(mx)] = np.inf
    if live.any():
        e = -np.frexp(mx[live])[1]  # per-row power of two: no square under- or overflows
        rows = np.ldexp(m[live], e[:, None])
        n = m.shape[1]
        val = rows.sum(axis=1) if p == "1" else np.sqrt(np.sum(rows * rows, axis=1))
        val = np.nextafter(val * (1.0 + 2.0 * gamma(n + 4)), np.inf)
        out[live] = np.nextafter(np.ldexp(val, -e), np.inf)
    return out


def forward_derivative_bounds(jb: JacobianBounds, alpha: str) -> list[np.ndarray]:
    """Bounds of |t_k| = |W_k D_{k-1} ... D_1 W_1 v| over ||v||_alpha <= 1 and every admissible D (forward mode).

    Entry i of layer k (k = 1..K, list index k-1) is ||row i of M_k||_{alpha*} >= sup |F_k[i, :] v| (Hoelder),
    with M_k the magnitudes of `forward[k-1]`; t_k lies in [-bound, bound] (v and -v are both in the ball).
    """
    if jb.forward is None:
        raise ValueError("forward partial products were not computed: use sides='forward' or 'both'")
    dual = {"1": "inf", "2": "2", "inf": "1"}[str(alpha)]
    return [_row_norms_upper(f.magnitude(), dual) for f in jb.forward]


def backward_derivative_bounds(jb: JacobianBounds, beta: str | None = None) -> list[EntryBounds]:
    """Bounds of r_k = (C W_K D_{K-1} ... D_{k+1} W_{k+1})^T w over every admissible D (backward mode).

    With one covector row (one output, a margin, c^T f) w = 1 is a constant and r_k lies in the signed bounds of
    `backward[k]`'s row. Otherwise w ranges over ||w||_{beta*} <= 1 and |r_k[i]| <= ||column i of M||_beta, M the
    magnitudes of `backward[k]` (list index k = 0..K-1, shape n_k; index 0 is J^T w).
    """
    if jb.backward is None:
        raise ValueError("backward partial products were not computed: use sides='backward' or 'both'")
    if jb.backward[0].shape[0] == 1:
        return [EntryBounds(b.lower[0].copy(), b.upper[0].copy()) for b in jb.backward]
    if beta is None:
        raise ValueError("several covector rows: the output norm beta is needed")
    out = []
    for b in jb.backward:
        bound = _row_norms_upper(b.magnitude().T, str(beta))
        out.append(EntryBounds(-bound, bound))
    return out


def branch_and_bound_norm(network: Network, alpha: str, beta: str, *, stability, method: str = "linear",
                          budget: int = 64, covectors=None) -> tuple[float, dict]:
    """A certified upper bound of max over admissible D of ||C J(D)||_{alpha->beta}, by splitting unstable neurons.

    ||C J(D)|| is convex in each d_i separately (a norm of a map affine in d_i), so its maximum over the D box is
    reached at d_i in {0, 1}: the two branches d_i = 0 and d_i = 1 (the neuron fixed inactive or active) cover
    it, and the largest leaf bound is a bound. Best first: the leaf with the largest bound is split on the next
    neuron of a fixed order (largest sum_o |G[o, i]| * sum_j |F[i, j]|, the interval bounds of the partial
    products through it), until `budget` bound evaluations. Returns (bound, {"evaluations", "leaves", "root"}).
    """
    root = jacobian_bounds(network, method=method, stability=stability, covectors=covectors).norm_upper(alpha, beta)
    order = _split_order(network, stability, covectors)
    heap = [(-root, 0, 0, stability)]
    evals, tick = 1, 1
    while evals + 2 <= budget and heap and -heap[0][0] > 0:
        neg, depth, _, stab = heapq.heappop(heap)
        if depth >= len(order):  # every unstable neuron fixed: the bound is a single pattern's
            heapq.heappush(heap, (neg, depth, tick, stab))
            break
        layer, i = order[depth]
        for on in (False, True):
            child = [Stability(st.active.copy(), st.inactive.copy(), st.unstable.copy()) for st in stab]
            child[layer].unstable[i] = False
            child[layer].active[i], child[layer].inactive[i] = on, not on
            val = jacobian_bounds(network, method=method, stability=child, covectors=covectors).norm_upper(alpha, beta)
            tick += 1
            heapq.heappush(heap, (-min(val, -neg), depth + 1, tick, child))  # a child never exceeds its parent
        evals += 2
    bound = max(-h[0] for h in heap) if heap else 0.0
    return float(bound), {"evaluations": evals, "leaves": len(heap), "root": float(root)}


def _split_order(network: Network, stability, covectors) -> list[tuple[int, int]]:
    """Unstable neurons (layer, index), most influential first: interval bounds of the partial products."""
    jb = jacobian_bounds(network, method="interval", stability=stability, covectors=covectors, sides="both")
    scored = []
    for k, st in enumerate(stability):
        units = np.flatnonzero(st.unstable)
        if not len(units):
            continue
        into = jb.forward[k].magnitude()[units].sum(axis=1)  # rows of W_{k+1} D_k ... W_1: (n_{k+1}, n_0)
        out = jb.backward[k + 1].magnitude()[:, units].sum(axis=0)  # C W_K ... W_{k+2}: (m, n_{k+1})
        for i, v in zip(units, into * out):
            scored.append((-float(v), k, int(i)))
    return [(k, i) for _, k, i in sorted(scored)]


def linear_cost(network: Network, side: str = "auto", m: int | None = None) -> float:
    """Multiply-adds of the linear method's pull-backs on one chain (an estimate; `auto`: the narrow end)."""
    widths = network.widths
    if side == "auto":
        side = "backward" if (m or widths[-1]) <= widths[0] else "forward"
    seq = widths[::-1] if side == "backward" else widths
    if m is None:
        m = seq[0]
    # chain layer k has seq[k+1] rows, each pulled back through the products seq[j+1] x seq[j], j = 1..k-1
    total = 0.0
    for k in range(2, len(seq) - 1):
        total += 2.0 * m * seq[k + 1] * sum(seq[j + 1] * seq[j] for j in range(1, k))
    return total


# multiply-adds of the linear method's pull-backs (about a second of numpy) above which the anchor uses interval
ANCHOR_LINEAR_LIMIT = 2e9


def anchor_bounds(network: Network, stability) -> JacobianBounds:
    """The Jacobian bounds lipgen reports beside the MIP (the sidecar's `jacobian_upper`, `lipgen inspect`): the
    linear method when its pull-backs cost at most ANCHOR_LINEAR_LIMIT, else interval; both chains when both fit
    (each chain is tighter on some norms). `.method` names the method."""
    method = "linear" if linear_cost(network) <= ANCHOR_LINEAR_LIMIT else "interval"
    both = method == "linear" and \
        linear_cost(network, "forward") + linear_cost(network, "backward") <= ANCHOR_LINEAR_LIMIT
    return jacobian_bounds(network, method=method, stability=stability, sides="both" if both else "auto")


__all__ = ["ANCHOR_LINEAR_LIMIT", "EntryBounds", "JACOBIAN_METHODS", "anchor_bounds", "JacobianBounds", "backward_derivative_bounds", "branch_and_bound_norm",
           "derivative_boxes", "forward_derivative_bounds", "jacobian_bounds", "jacobian_upper_bound", "linear_cost"]
