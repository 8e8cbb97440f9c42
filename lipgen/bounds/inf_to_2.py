"""The l-inf -> l2 operator norm of one matrix, max over sign vectors s of ||A s||_2 (NP-hard in general): a certified
upper bound from Nesterov's SDP relaxation (lower estimates: network.inf_to_2_by_signs). ||A||_{2->1} = ||A^T||_{inf->2}.

Upper bound. For any d > 0 and any v with |v_i| <= 1,

    ||A v||_2 = ||A D^-1/2 D^1/2 v||_2 <= ||A D^-1/2||_2 ||D^1/2 v||_2 <= ||A D^-1/2||_2 sqrt(sum_i d_i),

so every d gives a bound; its least value (over d) is the SDP's min { sum d : Diag(d) >= A^T A }, within a factor
sqrt(pi / 2) of the norm and often equal to it. `d` comes from a log-det barrier method (Newton on the n entries of
d, with S = I - A D^-1 A^T of order rank(A) carrying the constraint); the optimizer is not trusted: the bound is
evaluated from the final d in float64 with a certified spectral norm and every rounding error added.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..network import inf_to_2_by_signs, spectral_norm_upper
from ..rounding import UNIT_ROUNDOFF, gamma, round_up

MU_STEP = 0.1
CENTRED = 1e-3  # Newton decrement over mu at which a point counts as centred


def _barrier_weights(a: np.ndarray, rtol: float, below: float | None = None, start: np.ndarray | None = None,
                     max_newton: int = 200) -> np.ndarray | None:
    """d > 0 near the minimiser of sum d s.t. Diag(d) >= A^T A (a's columns nonzero); it stops early once the
    bound's square lambda_max(A D^-1 A^T) sum d, estimated, is below `below`. `start`: weights near the optimum
    (a parent node's), used when strictly feasible."""
    r, n = a.shape
    nu = n + r
    d = None
    if start is not None and np.all(start > 0):
        d = start * 1.01
        try:
            np.linalg.cholesky(np.eye(r) - (a / d) @ a.T)
            mu = 0.01 * float(d.sum()) / nu
        except np.linalg.LinAlgError:
            d = None
    if d is None:  # A D^-1 A^T = A A^T / (2 ||A||^2): S is positive definite
        d = np.full(n, 2.0 * float(np.linalg.norm(a, 2)) ** 2)
        mu = float(d.sum()) / nu

    def objective(dd: np.ndarray, m: float) -> float | None:
        if np.any(dd <= 0):
            return None
        s = np.eye(r) - (a / dd) @ a.T
        try:
            chol = np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            return None
        return float(dd.sum() - m * (2 * np.sum(np.log(np.diag(chol))) + np.sum(np.log(dd))))

    steps = 0
    while mu * nu > rtol * float(d.sum()) and steps < max_newton:
        for _ in range(50):
            steps += 1
            s = np.eye(r) - (a / d) @ a.T
            c = a.T @ np.linalg.solve(s, a)  # C = A^T S^-1 A
            cd = np.diag(c)
            grad = 1.0 - mu * (cd / d ** 2 + 1.0 / d)
            h = mu * ((c / np.outer(d, d)) ** 2 + np.diag(2 * cd / d ** 3 + 1.0 / d ** 2))
            try:
                step = -np.linalg.solve(h, grad)
            except np.linalg.LinAlgError:
                return d
            dec = -float(grad @ step)
            if not np.isfinite(dec):
                return d
            if dec < CENTRED * mu:
                break
            f0, alpha = objective(d, mu), 1.0
            while alpha > 1e-12:
                f1 = objective(d + alpha * step, mu)
                if f1 is not None and f0 is not None and f1 <= f0 - 0.25 * alpha * dec:
                    break
                alpha /= 2
            else:
                return d
            d = d + alpha * step
        if below is not None:
            if float(np.linalg.eigvalsh((a / d) @ a.T)[-1]) * float(d.sum()) < below:
                break  # enough to prune: the caller's rigorous evaluation decides
            if float(d.sum()) - 2 * nu * mu > below:
                break  # the SDP's optimum (at least sum d - nu mu on the central path) cannot get below it
        mu *= MU_STEP
    return d


def _certified(a: np.ndarray, d: np.ndarray) -> float:
    """||A diag(t)||_2 sqrt(sum 1/t^2) with t = 1/sqrt(d), every rounding error added: >= ||A||_{inf->2}."""
    t = 1.0 / np.sqrt(d)
    b = a * t  # fl(a_ij t_j): each entry within u of the exact product A diag(t)
    frob = round_up(float(np.linalg.norm(b)), b.size)
    sigma = spectral_norm_upper(b) + round_up(UNIT_ROUNDOFF * frob, 2)  # >= ||A diag(t)||_2 (exact product)
    inv = 1.0 / t  # the bound holds for D^1/2 = diag(1/t) with t as stored: each 1/t_j within u
    weight = round_up(float(np.sqrt(np.sum(inv * inv))), a.shape[1] + 2)
    return round_up(sigma * weight, 2)


def _bound(a: np.ndarray, rtol: float, below: float | None = None,
           start: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """(certified bound, its weights d) for a matrix with nonzero columns and entries of order one."""
    try:
        d = _barrier_weights(a, rtol, None if below is None else (below * (1 - 1e-9)) ** 2, start)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        d = None
    if d is None or not np.all(np.isfinite(d)) or np.any(d <= 0):
        d = np.full(a.shape[1], 1.0)  # d = 1: sqrt(n) ||A||_2, still a bound
    return _certified(a, d), d


def inf_to_2_upper(a: np.ndarray, rtol: float = 1e-9, below: float | None = None) -> float:
    """A certified upper bound of ||A||_{inf->2} (inf when it cannot be computed: callers take a minimum). `below`:
    the barrier may stop once its bound is estimated below this value (a threshold to prune by)."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if not np.all(np.isfinite(a)):
        return float("inf")
    a = a[:, np.any(a != 0, axis=0)]  # a zero column moves nothing
    if a.size == 0:
        return 0.0
    # exact power of two: max |a| in [0.5, 1); an entry it makes subnormal errs by < 2^-1074, which the bound's
    # outward rounding (relative 1e-15 of a value >= 0.5) covers many times over
    scale = -int(np.frexp(np.max(np.abs(a)))[1])
    value, _ = _bound(np.ldexp(a, scale), rtol, None if below is None else float(np.ldexp(below, scale)))
    return float(np.nextafter(np.ldexp(value, -scale), np.inf))


@dataclass(frozen=True)
class InfTo2:
    """||A||_{inf->2} by branch and bound: value <= ||A|| <= upper; `signs` attain `value`; closed when
    upper <= value (1 + rtol) up to rounding."""

    upper: float
    value: float
    signs: np.ndarray
    closed: bool
    nodes: int


def inf_to_2_exact(a: np.ndarray, rtol: float = 1e-7, max_nodes: int = 400, enough: float = 0.0,
                   halt: Callable[[], bool] | None = None) -> InfTo2:
    """max over sign vectors s of ||A s||_2 to within rtol: best first over the columns' signs (largest columns
    first), each node bounded by the SDP bound of [c, A_R] (c = the fixed columns' signed sum, R the rest; its
    barrier started from the parent's weights: (d_c + d_k, d_R) is feasible for the child), its lower estimate by
    alternating signs. `max_nodes` stops it: `upper` then still bounds the norm; so does `enough`, once every open
    node's bound is at most `enough` (the caller needs no more), and `halt()` true (a time budget spent)."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    r, n = a.shape
    if a.size == 0 or not np.any(a) or not np.all(np.isfinite(a)):
        up = 0.0 if a.size == 0 or not np.any(a) else float("inf")
        return InfTo2(up, 0.0, np.ones(n), up == 0.0, 0)
    keep = np.flatnonzero(np.any(a != 0, axis=0))  # a zero column moves nothing: its sign stays +1
    order = keep[np.argsort(-np.linalg.norm(a[:, keep], axis=0), kind="stable")]
    scale = -int(np.frexp(np.max(np.abs(a)))[1])  # exact power of two: max |b| in [0.5, 1)
    b = np.ldexp(a[:, order], scale)
    nk = b.shape[1]
    # c is a float sum of k signed columns: within gamma_n |B| 1 of the exact one, entrywise
    slack = round_up(gamma(nk + 2) * float(np.linalg.norm(np.abs(b).sum(axis=1))), r + nk)
    best = inf_to_2_by_signs(b)
    root, d_root = _bound(b, 1e-9)
    # (-bound, depth, tie, c, fixed signs, weights of [c, b_depth, ...] or of b itself at the root)
    heap: list = [(-(root + slack), 0, 0, np.zeros(r), np.zeros(0), d_root)]
    enough = float(np.ldexp(enough, scale))
    tie, nodes, done = 1, 0, 0.0  # done: the largest bound of every node closed without children left open
    while heap:
        if -heap[0][0] <= max(best[0] * (1 + rtol), enough) or nodes >= max_nodes or (halt is not None and halt()):
            break
        _, k, _, c, fixed, d = heapq.heappop(heap)
        nodes += 1
        d_c, d_rest = (d[0], d[1:]) if k == 0 else (d[0] + d[1], d[2:])
        for sg in (1.0, -1.0):
            c2, f2 = c + sg * b[:, k], np.append(fixed, sg)
            if k + 1 == nk:
                val = float(np.linalg.norm(c2))
                if val > best[0]:
                    best = (val, f2)
                done = max(done, round_up(val, r) + slack)
                continue
            if not np.any(c2):  # the fixed columns cancel: the rest alone
                m, start = np.column_stack([np.full(r, 0.0), b[:, k + 1:]])[:, 1:], d_rest
            else:
                m, start = np.column_stack([c2, b[:, k + 1:]]), np.concatenate([[d_c], d_rest])
            val, sm = inf_to_2_by_signs(m, starts=1)
            if val > best[0]:
                tail = sm[1:] * sm[0] if np.any(c2) else sm
                best = (val, np.concatenate([f2, tail]))  # [c2, A_R] sm = sm_0 (c2 + A_R sm_R sm_0)
            ub, d2 = _bound(m, 1e-9, below=max(best[0] * (1 + rtol), enough), start=start)
            ub += slack
            if ub <= max(best[0] * (1 + rtol), enough):
                done = max(done, ub)
            else:
                if not np.any(c2):
                    d2 = np.concatenate([[0.0], d2])  # no c column: its weight 0 adds nothing for the children
                heapq.heappush(heap, (-ub, k + 1, tie, c2, f2, d2))
                tie += 1
    upper = max([done] + [-h[0] for h in heap])
    signs = np.ones(n)
    signs[order] = best[1]
    closed = not heap or upper <= max(best[0] * (1 + rtol), enough)
    return InfTo2(float(np.nextafter(np.ldexp(upper, -scale), np.inf)), float(np.ldexp(best[0], -scale)), signs,
                  closed, nodes)
