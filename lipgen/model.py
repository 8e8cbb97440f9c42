"""The solver-neutral model: a minimisation problem held in numpy arrays.

Quadratic terms are kept in *mathematical* form: a triple (i, j, c) with i <= j adds
c * x_i * x_j (c * x_i^2 when i == j), once per unordered pair. The writers translate that
into each file format's own convention (QUADOBJ's 1/2, QCMATRIX's symmetric halves, LP's
`[ ... ] / 2`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CONTINUOUS, BINARY, INTEGER = 0, 1, 2
SENSE_LE, SENSE_GE, SENSE_EQ = 0, 1, 2
SENSE_CHARS = np.array(["L", "G", "E"])


@dataclass
class Model:
    """min c^T x + x^T Q x + constant  s.t.  A x (+ quadratic terms) {<=,>=,=} rhs,  lb <= x <= ub."""

    name: str
    var_names: np.ndarray  # str, shape (n,)
    lb: np.ndarray  # float, -inf allowed
    ub: np.ndarray  # float, +inf allowed
    vtype: np.ndarray  # int8: CONTINUOUS / BINARY / INTEGER
    obj: np.ndarray  # float, shape (n,)
    obj_constant: float
    obj_q: tuple[np.ndarray, np.ndarray, np.ndarray]  # (i, j, coef), i <= j
    row_names: np.ndarray  # str, shape (m,)
    A: sp.csr_matrix  # (m, n), sorted indices, no duplicates, explicit zeros removed
    sense: np.ndarray  # int8: SENSE_LE / SENSE_GE / SENSE_EQ
    rhs: np.ndarray  # float, shape (m,)
    q_rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (row, i, j, coef), i <= j, sorted

    @property
    def n_vars(self) -> int:
        return len(self.var_names)

    @property
    def n_rows(self) -> int:
        return len(self.row_names)

    @property
    def quadratic_row_ids(self) -> np.ndarray:
        return np.unique(self.q_rows[0])

    def var_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.var_names.tolist())}

    def stats(self) -> dict:
        """Counts that every solver reports back, for the sidecar and for checks after reading."""
        qrows = self.quadratic_row_ids
        return {
            "variables": self.n_vars,
            "continuous": int(np.count_nonzero(self.vtype == CONTINUOUS)),
            "binary": int(np.count_nonzero(self.vtype == BINARY)),
            "integer": int(np.count_nonzero(self.vtype == INTEGER)),
            "constraints": self.n_rows,
            "linear_constraints": self.n_rows - len(qrows),
            "quadratic_constraints": int(len(qrows)),
            "nonzeros": int(self.A.nnz),
            "quadratic_constraint_terms": int(len(self.q_rows[0])),
            "quadratic_objective_terms": int(len(self.obj_q[0])),
        }


def _as_array(value, n: int, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    return np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr.astype(dtype, copy=True)


def _suffix_names(prefix: str, n: int, suffixes) -> np.ndarray:
    if suffixes is None:
        suffixes = np.arange(n).astype(str)
    return np.char.add(prefix, np.asarray(suffixes, dtype=str)) if n else np.array([], dtype=str)


def _upper_pairs(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    return np.minimum(i, j), np.maximum(i, j)


class ModelBuilder:
    """Collects variables and rows block by block (arrays, never one Python object per entry)."""

    def __init__(self, name: str):
        self.name = name
        self._vars: list[tuple] = []  # (names, lb, ub, vtype)
        self._n = 0
        self._rows: list[tuple] = []  # (names, sense, rhs)
        self._m = 0
        self._coo: list[tuple] = []  # (row, col, val)
        self._q: list[tuple] = []  # (row, i, j, val)
        self._obj: list[tuple] = []  # (col, val)
        self._obj_q: list[tuple] = []  # (i, j, val)
        self._obj_constant = 0.0

    def add_vars(self, prefix: str, n: int, lb=0.0, ub=np.inf, vtype=CONTINUOUS, suffixes=None) -> np.ndarray:
        """Add n variables named prefix+suffix (suffix defaults to 0..n-1); returns their indices."""
        names = _suffix_names(prefix, n, suffixes)
        self._vars.append((names, _as_array(lb, n), _as_array(ub, n), _as_array(vtype, n, np.int8)))
        idx = np.arange(self._n, self._n + n)
        self._n += n
        return idx

    def add_rows(self, prefix: str, n: int, sense, rhs, terms=(), coo=None, suffixes=None) -> np.ndarray:
        """Add n rows named prefix+suffix.

        terms: (cols, coefs) pairs, one entry per row each (cols shape (n,), coefs scalar or (n,)).
        coo: (local_row, col, coef) arrays for rows of varying length (e.g. z = W x + b).
        Returns the global row indices.
        """
        names = _suffix_names(prefix, n, suffixes)
        rows = np.arange(self._m, self._m + n)
        self._rows.append((names, _as_array(sense, n, np.int8), _as_array(rhs, n)))
        for cols, coefs in terms:
            self._coo.append((rows, np.asarray(cols, dtype=np.int64), _as_array(coefs, n)))
        if coo is not None:
            local, cols, coefs = coo
            self._coo.append((rows[np.asarray(local, dtype=np.int64)], np.asarray(cols, dtype=np.int64),
                              np.asarray(coefs, dtype=np.float64)))
        self._m += n
        return rows

    def add_quadratic(self, rows, i, j, coefs) -> None:
        """Add coef * x_i * x_j to the activity of each (global) row."""
        rows = np.asarray(rows, dtype=np.int64)
        i, j = _upper_pairs(i, j)
        self._q.append((rows, i, j, _as_array(coefs, len(rows))))

    def add_objective(self, cols, coefs) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        self._obj.append((cols, _as_array(coefs, len(cols))))

    def add_objective_quadratic(self, i, j, coefs) -> None:
        i, j = _upper_pairs(i, j)
        self._obj_q.append((i, j, _as_array(coefs, len(i))))

    def add_objective_constant(self, value: float) -> None:
        self._obj_constant += float(value)

    def build(self) -> Model:
        def cat(parts, k, dtype):
            return np.concatenate([p[k] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)

        n, m = self._n, self._m
        names = cat(self._vars, 0, str) if self._vars else np.array([], dtype=str)
        row_names = cat(self._rows, 0, str) if self._rows else np.array([], dtype=str)
        _check_unique(names, "variable")
        _check_unique(row_names, "row")
        a = sp.coo_matrix((cat(self._coo, 2, np.float64), (cat(self._coo, 0, np.int64), cat(self._coo, 1, np.int64))),
                          shape=(m, n)).tocsr()
        a.sum_duplicates()
        a.eliminate_zeros()
        a.sort_indices()
        obj = np.zeros(n)
        np.add.at(obj, cat(self._obj, 0, np.int64), cat(self._obj, 1, np.float64))
        q_rows = _merge_quadratic(cat(self._q, 0, np.int64), cat(self._q, 1, np.int64), cat(self._q, 2, np.int64),
                                  cat(self._q, 3, np.float64))
        _, oi, oj, oc = _merge_quadratic(np.zeros(sum(len(p[0]) for p in self._obj_q), np.int64),
                                         cat(self._obj_q, 0, np.int64), cat(self._obj_q, 1, np.int64),
                                         cat(self._obj_q, 2, np.float64))
        return Model(
            name=self.name, var_names=names, lb=cat(self._vars, 1, np.float64), ub=cat(self._vars, 2, np.float64),
            vtype=cat(self._vars, 3, np.int8), obj=obj, obj_constant=self._obj_constant, obj_q=(oi, oj, oc),
            row_names=row_names, A=a, sense=cat(self._rows, 1, np.int8), rhs=cat(self._rows, 2, np.float64),
            q_rows=q_rows,
        )


def _check_unique(names: np.ndarray, what: str) -> None:
    if len(np.unique(names)) != len(names):
        uniq, counts = np.unique(names, return_counts=True)
        raise ValueError(f"duplicate {what} name {uniq[counts > 1][0]!r}")


def _merge_quadratic(r, i, j, c):
    """Sum duplicate (row, i, j) entries, drop zeros, sort by (row, i, j)."""
    if len(r) == 0:
        e = np.zeros(0, np.int64)
        return e, e.copy(), e.copy(), np.zeros(0)
    keys = np.stack([r, i, j], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    vals = np.zeros(len(uniq))
    np.add.at(vals, inv.ravel(), c)
    keep = vals != 0
    uniq, vals = uniq[keep], vals[keep]
    return uniq[:, 0].copy(), uniq[:, 1].copy(), uniq[:, 2].copy(), vals
