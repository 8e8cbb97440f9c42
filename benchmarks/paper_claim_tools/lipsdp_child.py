"""LipSDP-Neuron (Fazlyab, Robey, Hassani, Morari, Pappas, NeurIPS 2019): a REIMPLEMENTATION from the paper.

Not the authors' code (theirs is MATLAB + CVX/MOSEK); written for paper_claim.py with cvxpy and an SDP solver
from PyPI (Clarabel, else SCS), run in its own venv. l2 -> l2 only. Prints one JSON line.

Network f(x) = W_l phi(W_{l-1} ... phi(W_0 x + b_0) ...) + b_l, hidden widths n_1..n_l (n = their sum),
z = [x^0; x^1; ...; x^l] (input and the hidden post-activations). With A = [blkdiag(W_0..W_{l-1}), 0] and
B = [0, I_n], each hidden neuron j is slope-restricted: (y_j - y'_j) lies between a_j and b_j times
(v_j - v'_j) for pre-activations v and post-activations y of any two inputs. With T = diag(lambda) >= 0:

    [A; B]^T [[-2 diag(a b) T, diag(a + b) T], [diag(a + b) T, -2T]] [A; B]
        + blkdiag(-rho I_{n_0}, 0, ..., 0, W_l^T W_l)  <<  0        =>   L_2 <= sqrt(rho)

minimise rho over (rho, lambda). `global`: a = 0, b = 1 for every neuron (ReLU's slope range): the paper's
LipSDP-Neuron, a bound of the GLOBAL constant (valid on all of R^n, so on any domain). `local`: the hidden
neurons that interval arithmetic proves inactive on the box are removed first (their output is 0 there, so the
network restricted to the box is unchanged), then the same SDP: a bound of the constant on the box. Stably
active neurons keep [0, 1] by default; `--active-slope-one` gives them a = b = 1 (sound and tighter in theory,
but the SDP then wants lambda -> infinity and Clarabel stalls: 67 s instead of 1 s on digits-64-16-10's ball,
for a bound 3e-4 lower). `both` (the default): global and local, reported upper = the smaller.

Certificate: the solver's lambda is taken as is (clipped at 0) and rho is recomputed in float64: with the
matrix split at the input block, M = [[M11 - rho I, M12], [M21, M22]], rho* = lambda_max(M11 - M12 M22^-1 M21)
when M22 is negative definite (checked with eigvalsh, margin above the rounding error); reported upper =
sqrt(rho* (1 + 1e-9) + 1e-12 ||M||). If M22 is not definite the run gives no certified bound.

    python lipsdp_child.py --weights net.h5 [--lower .. --upper ..] --solver clarabel|scs --variant local|global
"""

from __future__ import annotations

import argparse
import json
import time


def interval_bounds(ws, bs, lo, hi):
    """Pre-activation bounds of every hidden layer on the box (interval arithmetic, float64)."""
    import numpy as np
    out = []
    l, u = lo, hi
    for w, b in zip(ws[:-1], bs[:-1]):
        c, r = (l + u) / 2, (u - l) / 2
        zc, zr = w @ c + b, np.abs(w) @ r
        zl, zu = zc - zr, zc + zr
        out.append((zl, zu))
        l, u = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--lower", default=None)
    ap.add_argument("--upper", default=None)
    ap.add_argument("--solver", default="auto", choices=("auto", "clarabel", "scs"),
                    help="auto: Clarabel (interior point, accurate) up to a 160 x 160 LMI (57 s at 128 x 128), "
                    "SCS (first order) beyond (100 s at 128 x 128, and its lambda often fails the certificate)")
    ap.add_argument("--variant", default="both", choices=("local", "global", "both"))
    ap.add_argument("--active-slope-one", action="store_true", help="local: give stably active neurons the "
                    "slope range [1, 1] (tighter in theory, but the SDP then wants lambda -> infinity and the "
                    "solver stalls); default: they keep [0, 1]")
    args = ap.parse_args()

    import cvxpy as cp
    import h5py
    import numpy as np
    import scipy.linalg as sla
    import scipy.sparse as sp

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
    if args.lower is not None:
        lo = np.array([float(v) for v in args.lower.split(",")])
        hi = np.array([float(v) for v in args.upper.split(",")])

    ws_all, bs_all = ws, bs

    def reduce_inactive(ws, bs):
        """Drop the hidden neurons that interval arithmetic proves inactive on the box (output 0 there): the
        network restricted to the box is unchanged. Keeping them with slope [0, 0] is also sound, but the SDP
        then needs lambda -> infinity for them and the interior-point solver stalls (seen: 42 s instead of 2 s)."""
        ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]
        dropped = 0
        for k in range(len(ws) - 1):
            zl, zu = interval_bounds(ws, bs, lo, hi)[k]
            keep = ~(zu < -1e-9 * (np.abs(zl) + np.abs(zu) + 1e-300))
            dropped += int((~keep).sum())
            ws[k], bs[k] = ws[k][keep], bs[k][keep]
            ws[k + 1] = ws[k + 1][:, keep]
        return ws, bs, dropped

    def solve(variant):
        t0 = time.perf_counter()
        ws, bs = ws_all, bs_all
        dropped = 0
        if variant == "local":
            ws, bs, dropped = reduce_inactive(ws_all, bs_all)
            if any(w.shape[0] == 0 for w in ws[:-1]):  # a layer is all inactive: f is constant on the box
                return {"variant": variant, "solver": args.solver, "status": "constant on the box", "upper": 0.0,
                        "certified": True, "stable_neurons": dropped, "time": time.perf_counter() - t0}
        n0 = ws[0].shape[1]
        widths = [w.shape[0] for w in ws[:-1]]
        n = sum(widths)
        a = np.zeros(n)
        b = np.ones(n)
        stable = 0
        if variant == "local":
            pos = 0
            for zl, zu in interval_bounds(ws, bs, lo, hi):
                scale = 1e-9 * (np.abs(zl) + np.abs(zu) + 1e-300)
                act, ina = zl > scale, zu < -scale
                if not args.active_slope_one:
                    act = np.zeros_like(act)
                a[pos:pos + len(zl)][act] = 1.0
                b[pos:pos + len(zl)][ina] = 0.0
                stable += int(act.sum() + ina.sum())
                pos += len(zl)
        dim = n0 + n
        A = np.zeros((n, dim))
        r = c = 0
        for w in ws[:-1]:
            A[r:r + w.shape[0], c:c + w.shape[1]] = w
            r += w.shape[0]
            c += w.shape[1]
        B = np.hstack([np.zeros((n, n0)), np.eye(n)])
        Wl = ws[-1]
        nl = widths[-1]
        last = np.zeros((dim, dim))
        last[dim - nl:, dim - nl:] = Wl.T @ Wl

        def m_of(lam, rho):
            """M(rho, lambda) as numpy (for the certificate)."""
            T = np.diag(lam)
            Q11, Q12, Q22 = -2 * np.diag(a * b) @ T, np.diag(a + b) @ T, -2 * T
            M = A.T @ Q11 @ A + A.T @ Q12 @ B + B.T @ Q12 @ A + B.T @ Q22 @ B + last
            M[:n0, :n0] -= rho * np.eye(n0)
            return M

        # the LMI in cvxpy: M is affine in (rho, lambda): vec(M) = G lambda + vec(last) - rho vec(E), with column j
        # of the sparse G = vec(M_j), M_j = c11 a_j a_j^T + c12 (a_j e_j^T + e_j a_j^T) + c22 e_j e_j^T (a_j: row j of
        # A, e_j: the unit vector of neuron j's post-activation). (A^T diag(q) A in cvxpy took 60 s on a 128 x 128
        # LMI and 19 GB on 242 x 242.)
        lam = cp.Variable(n, nonneg=True)
        rho = cp.Variable(nonneg=True)
        rows_, cols_, vals_ = [], [], []
        for j in range(n):
            (nz,) = np.nonzero(A[j])
            idx = np.append(nz, n0 + j)
            vec = np.append(A[j, nz], 0.0)
            ej = np.zeros(len(idx))
            ej[-1] = 1.0
            Mj = ((-2 * a[j] * b[j]) * np.outer(vec, vec) + (a[j] + b[j]) * (np.outer(vec, ej) + np.outer(ej, vec))
                  - 2 * np.outer(ej, ej))
            ii, kk = np.meshgrid(idx, idx, indexing="ij")
            keep = Mj != 0
            rows_.append(ii[keep] + dim * kk[keep])  # column-major vec index of entry (i, k)
            cols_.append(np.full(int(keep.sum()), j))
            vals_.append(Mj[keep])
        G = sp.csc_matrix((np.concatenate(vals_), (np.concatenate(rows_), np.concatenate(cols_))),
                          shape=(dim * dim, n))
        E = np.zeros((dim, dim))
        E[:n0, :n0] = np.eye(n0)
        M = cp.reshape(G @ lam, (dim, dim), order="F") + last - rho * E
        M = (M + M.T) / 2
        prob = cp.Problem(cp.Minimize(rho), [M << 0])
        build = time.perf_counter() - t0
        t1 = time.perf_counter()
        status = "error"
        solver = args.solver if args.solver != "auto" else ("clarabel" if dim <= 160 else "scs")
        try:
            prob.solve(solver=cp.CLARABEL if solver == "clarabel" else cp.SCS)
            status = prob.status
        except Exception as e:  # noqa: BLE001
            status = f"solver error: {e}"
        solve = time.perf_counter() - t1
        out = {"variant": variant, "solver": solver, "status": status, "build_time": build,
               "solve_time": solve, "stable_neurons": stable + dropped, "dropped_inactive": dropped,
               "neurons": n + dropped, "cvxpy": cp.__version__,
               "rho_solver": None if rho.value is None else float(rho.value)}
        if lam.value is not None:
            lv = np.maximum(np.asarray(lam.value, dtype=np.float64), 0.0)
            M0 = m_of(lv, 0.0)
            M11, M12, M22 = M0[:n0, :n0], M0[:n0, n0:], M0[n0:, n0:]
            M22 = (M22 + M22.T) / 2
            ev = np.linalg.eigvalsh(M22)
            norm = np.abs(M0).sum(axis=1).max()
            tol = 1e3 * np.finfo(float).eps * dim * max(norm, 1e-300)
            if ev.max() < -tol:
                S = M11 - M12 @ sla.solve(M22, M12.T, assume_a="sym")
                rho_star = float(np.linalg.eigvalsh((S + S.T) / 2).max())
                rho_cert = max(rho_star, 0.0) * (1 + 1e-9) + 1e-12 * norm + tol
                out.update(upper=float(np.sqrt(rho_cert)), rho_star=rho_star, certified=True)
            else:
                out.update(upper=None, certified=False, why=f"M22 not negative definite (max eig {ev.max():.3g})")
        out["time"] = time.perf_counter() - t0
        return out

    if args.variant == "both":
        g, l_ = solve("global"), solve("local")
        out = dict(l_)
        out["variant"] = "local (global alongside)"
        out["global_upper"], out["global_time"] = g.get("upper"), g["time"]
        ups = [v for v in (g.get("upper"), l_.get("upper")) if v is not None]
        out["upper"] = min(ups) if ups else None
        out["time"] = g["time"] + l_["time"]
    else:
        out = solve(args.variant)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
