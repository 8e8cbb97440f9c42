"""An exact oracle for tiny ReLU networks: L enclosed by two floats from rational arithmetic alone.

The float64 weights are read as exact rationals (Fractions). Activation regions are enumerated depth first over
the neurons; on each branch the region's pre-activations are exact affine functions of x, and a branch is kept
only when its open region {x in the open box : every chosen sign holds strictly} is non-empty, which is decided
exactly: a float LP proposes an interior point or a Farkas certificate of emptiness, and either is checked in
rational arithmetic; when neither checks out, Fourier-Motzkin elimination of the strict inequalities decides.
A neuron whose affine function is constant on the region is fixed by its constant's sign (a zero function adds
nothing to J either way). J_s is formed exactly; its norm is exact for every rational case and enclosed tightly
(exact square, then sqrt bracketed) where an l2 norm takes a square root. No LP solver's answer is trusted, no tolerance.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import product

import numpy as np
from scipy.optimize import linprog

from lipgen.network import Network

Row = tuple[tuple[Fraction, ...], Fraction]  # (a, b): the strict inequality a . x + b > 0


def _frac_matrix(w) -> list[list[Fraction]]:
    return [[Fraction(float(v)) for v in row] for row in np.atleast_2d(w)]


def _normalise(a: tuple[Fraction, ...], b: Fraction) -> Row:
    scale = max([abs(v) for v in a] + [abs(b)])
    return (tuple(v / scale for v in a), b / scale) if scale else (a, b)


def open_feasible(rows: list[Row], n: int) -> bool:
    """Whether {x : a . x + b > 0 for every row} is non-empty, exactly.

    A float LP proposes either a point (checked exactly) or a Farkas certificate y >= 0, A^T y = 0, b^T y <= 0
    (solved again exactly on its support and checked); when neither checks out, Fourier-Motzkin decides."""
    verdict = _lp_verdict(rows, n)
    return _fourier_motzkin(rows, n) if verdict is None else verdict


def _lp_verdict(rows: list[Row], n: int) -> bool | None:
    a = np.array([[float(v) for v in r[0]] for r in rows])
    b = np.array([float(r[1]) for r in rows])
    weight = np.maximum(np.abs(a).sum(axis=1), 1e-300)
    # max t: a x + b >= t |a|_1 (a point deep inside, when there is one)
    res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.hstack([-a, weight[:, None]]), b_ub=b,
                  bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    if res.status == 0 and -res.fun > 0:
        x = [Fraction(float(v)) for v in res.x[:n]]
        if all(sum((ai * xi for ai, xi in zip(ar, x)), br) > 0 for ar, br in rows):
            return True
    # min b^T y: A^T y = 0, sum y = 1, y >= 0 (a certificate that the strict system has no solution, when <= 0)
    res = linprog(b, A_eq=np.vstack([a.T, np.ones(len(rows))]), b_eq=np.r_[np.zeros(n), 1.0],
                  bounds=[(0, None)] * len(rows), method="highs")
    if res.status != 0:
        return None
    support = [i for i in range(len(rows)) if res.x[i] > 1e-12]
    y = _exact_solve([[rows[i][0][k] for i in support] for k in range(n)] + [[Fraction(1)] * len(support)],
                     [Fraction(0)] * n + [Fraction(1)])
    if y is None or any(v < 0 for v in y):
        return None
    return False if sum((v * rows[i][1] for v, i in zip(y, support)), Fraction(0)) <= 0 else None


def _exact_solve(m: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """The unique solution of m y = rhs (Gaussian elimination in Fractions), None when not unique or none."""
    rows = [list(r) + [v] for r, v in zip(m, rhs)]
    cols = len(m[0]) if m else 0
    piv_row = 0
    pivots = []
    for c in range(cols):
        p = next((r for r in range(piv_row, len(rows)) if rows[r][c] != 0), None)
        if p is None:
            return None
        rows[piv_row], rows[p] = rows[p], rows[piv_row]
        for r in range(len(rows)):
            if r != piv_row and rows[r][c] != 0:
                f = rows[r][c] / rows[piv_row][c]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[piv_row])]
        pivots.append(piv_row)
        piv_row += 1
    if any(r[-1] != 0 for r in rows[piv_row:]):
        return None
    return [rows[p][-1] / rows[p][c] for c, p in enumerate(pivots)]


def _fourier_motzkin(rows: list[Row], n: int) -> bool:
    """Whether {x : a . x + b > 0 for every row} is non-empty, exactly (Fourier-Motzkin; small n only)."""
    rows = list({_normalise(a, b) for a, b in rows})
    for k in range(n):
        pos = [r for r in rows if r[0][k] > 0]
        neg = [r for r in rows if r[0][k] < 0]
        out = {r for r in rows if r[0][k] == 0}
        for (ap, bp), (aq, bq) in product(pos, neg):
            cp, cq = -aq[k], ap[k]
            a = tuple(cp * x + cq * y for x, y in zip(ap, aq))
            out.add(_normalise(a, cp * bp + cq * bq))
        rows = list(out)
    return all(b > 0 for _, b in rows)


def _affine_dot(w_row, a_mat, c_vec, bias):
    """w . (A x + c) + bias as (coefficients, constant)."""
    n = len(a_mat[0]) if a_mat else 0
    coef = tuple(sum((w * a_mat[i][j] for i, w in enumerate(w_row) if w), Fraction(0)) for j in range(n))
    const = sum((w * c for w, c in zip(w_row, c_vec) if w), Fraction(0)) + bias
    return coef, const


def regions(network: Network, lower, upper, covector=None):
    """Yield the exact Jacobian J_s (a list of Fraction rows) of every activation region with interior in the box.

    covector: an output covector c, applied exactly (the constant of c^T f)."""
    ws = [_frac_matrix(w) for w in network.weights]
    bs = [[Fraction(float(v)) for v in np.atleast_1d(b)] for b in network.biases]
    if covector is not None:
        c = [Fraction(float(v)) for v in covector]
        ws[-1] = [[sum((ci * row[j] for ci, row in zip(c, ws[-1])), Fraction(0)) for j in range(len(ws[-1][0]))]]
        bs[-1] = [sum((ci * b for ci, b in zip(c, bs[-1])), Fraction(0))]
    n = network.n_inputs
    box = []
    for i, (lo, hi) in enumerate(zip(lower, upper)):
        e = tuple(Fraction(int(j == i)) for j in range(n))
        box += [(e, -Fraction(float(lo))), (tuple(-v for v in e), Fraction(float(hi)))]
    identity = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    # state: layer k, neuron i, the affine map of the previous layer's outputs (A, c), the current layer's
    # outputs so far, the region's rows, the Jacobian of the previous layer's outputs
    yield from _walk(ws, bs, 0, identity, [Fraction(0)] * n, identity, box, n)


def _walk(ws, bs, k, a_mat, c_vec, jac, rows, n):
    w, b = ws[k], bs[k]
    if k == len(ws) - 1:  # linear output layer
        yield [[sum((wi * jac[i][j] for i, wi in enumerate(row) if wi), Fraction(0)) for j in range(n)] for row in w]
        return
    yield from _neuron(ws, bs, k, 0, a_mat, c_vec, jac, rows, n, [], [], [])


def _neuron(ws, bs, k, i, a_mat, c_vec, jac, rows, n, new_a, new_c, new_j):
    w, b = ws[k], bs[k]
    if i == len(w):
        yield from _walk(ws, bs, k + 1, new_a, new_c, new_j, rows, n)
        return
    coef, const = _affine_dot(w[i], a_mat, c_vec, b[i])
    row_j = [sum((wi * jac[r][j] for r, wi in enumerate(w[i]) if wi), Fraction(0)) for j in range(n)]
    zero = [Fraction(0)] * n
    if not any(coef):  # constant on the region: its sign decides, and a zero function contributes nothing
        on = const > 0
        yield from _neuron(ws, bs, k, i + 1, a_mat, c_vec, jac, rows, n, new_a + [list(coef) if on else zero],
                           new_c + [const if on else Fraction(0)], new_j + [row_j if on else zero])
        return
    for sign in (1, -1):
        cand = rows + [(tuple(sign * v for v in coef), sign * const)]
        if not open_feasible(cand, n):
            continue
        on = sign == 1
        yield from _neuron(ws, bs, k, i + 1, a_mat, c_vec, jac, cand, n, new_a + [list(coef) if on else zero],
                           new_c + [const if on else Fraction(0)], new_j + [row_j if on else zero])


# ----------------------------------------------------------------------------------------- exact norms

def _down(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) <= q else float(np.nextafter(f, -np.inf))


def _up(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) >= q else float(np.nextafter(f, np.inf))


def sqrt_enclosure(q: Fraction) -> tuple[Fraction, Fraction]:
    """Rationals lo <= sqrt(q) <= hi, within a few ulps."""
    if q <= 0:
        return Fraction(0), Fraction(0)
    f = math.sqrt(float(q)) if float(q) > 0 else 0.0
    lo, hi = Fraction(f), Fraction(f)
    while lo * lo > q:
        lo = Fraction(float(np.nextafter(float(lo), 0.0)))
    while hi * hi < q:
        hi = Fraction(float(np.nextafter(float(hi), np.inf)))
    if lo == 0 and q > 0:  # float(q) underflowed: bracket by exact halving
        hi = max(hi, Fraction(1))
        for _ in range(2000):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid * mid <= q else (lo, mid)
            if hi - lo < hi * Fraction(1, 2 ** 60):
                break
    return lo, hi


def _vec_norm(v, p: str) -> tuple[Fraction, Fraction]:
    """Enclosure of ||v||_p."""
    if p == "1":
        s = sum((abs(x) for x in v), Fraction(0))
        return s, s
    if p == "inf":
        s = max((abs(x) for x in v), default=Fraction(0))
        return s, s
    return sqrt_enclosure(sum((x * x for x in v), Fraction(0)))


DUAL = {"1": "inf", "2": "2", "inf": "1"}


def _max_enclosure(pairs) -> tuple[Fraction, Fraction]:
    pairs = list(pairs)
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def operator_norm_enclosure(j: list[list[Fraction]], alpha: str, beta: str) -> tuple[Fraction, Fraction]:
    """Enclosure of ||J||_{alpha -> beta} for a small rational J."""
    m, n = len(j), len(j[0])
    cols = [[j[r][c] for r in range(m)] for c in range(n)]
    if alpha == "1":  # a vertex of the l1 ball is +-e_i
        return _max_enclosure((_vec_norm(c, beta) for c in cols))
    if beta == "inf":
        return _max_enclosure((_vec_norm(r, DUAL[alpha]) for r in j))
    if alpha == "inf":  # a vertex of the cube
        return _max_enclosure((_vec_norm([sum((a * s for a, s in zip(r, signs)), Fraction(0)) for r in j], beta)
                    for signs in product((1, -1), repeat=n)))
    if beta == "1":  # alpha = 2: ||J||_{2->1} = max over w in {+-1}^m of ||J^T w||_2
        return _max_enclosure((_vec_norm([sum((s * c for s, c in zip(signs, col)), Fraction(0)) for col in cols], "2")
                    for signs in product((1, -1), repeat=m)))
    # 2 -> 2: the largest eigenvalue of the smaller Gram matrix (1x1 or 2x2)
    a = j if m <= n else cols
    g = [[sum((x * y for x, y in zip(r1, r2)), Fraction(0)) for r2 in a] for r1 in a]
    if len(g) == 1:
        return sqrt_enclosure(g[0][0])
    if len(g) != 2:
        raise ValueError("the exact 2->2 norm is implemented for J with at most two rows or columns")
    tr, det = g[0][0] + g[1][1], g[0][0] * g[1][1] - g[0][1] * g[1][0]
    dlo, dhi = sqrt_enclosure(tr * tr - 4 * det)
    return sqrt_enclosure((tr + dlo) / 2)[0], sqrt_enclosure((tr + dhi) / 2)[1]


def exact_lipschitz(network: Network, lower, upper, alpha: str, beta: str, covector=None) -> tuple[float, float]:
    """(lo, hi): floats with lo <= L <= hi, from exact rational arithmetic over the float64 weights."""
    lo = hi = Fraction(0)
    for j in regions(network, lower, upper, covector):
        a, b = operator_norm_enclosure(j, alpha, beta)
        lo, hi = max(lo, a), max(hi, b)
    return _down(lo), _up(hi)
