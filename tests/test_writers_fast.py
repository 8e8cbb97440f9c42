"""The vectorised writers: byte-identical to the per-line reference, exact numbers, streamed gzip."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import numpy as np
import pytest
from helpers import reference_writers as ref

from helpers.models import READERS, assert_same_structure, kitchen_sink, model_ab

from lipgen.model import BINARY, CONTINUOUS, INTEGER, SENSE_EQ, SENSE_GE, SENSE_LE, Model, ModelBuilder
from lipgen.writers import FORMATS, file_suffix, iter_model, render_lp, render_model, render_mps, write_model
from lipgen.writers import stream
from lipgen.writers.common import CHUNK, format_numbers, number_strings

AWKWARD = [1e-300, 5e-324, 1 / 3, -0.0, 1e22, 123456789012345680.0, -2.5e-7, 9.99e-5, 1e-4, 2.0**53, 2.0**53 + 2,
           -1e16, 0.1, 7.0, -123456.0, 1e-5, 6.02214076e23, -4.9e-324, 2.2250738585072014e-308, 1.7976931348623157e308]


def random_model(seed: int, n: int = 60, m: int = 40, quadratic: bool = True, values=None) -> Model:
    """Mixed types (integer runs of every length), empty rows, lonely columns, quadratic rows and objective."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(values if values is not None else
                      np.concatenate([rng.normal(size=50) * 10.0 ** rng.integers(-9, 9, 50), [1, -1, 2, 0.5]]))
    b = ModelBuilder(f"rand{seed}")
    vtype = rng.choice([CONTINUOUS, CONTINUOUS, BINARY, INTEGER], size=n)
    lb = np.where(vtype == BINARY, 0, rng.choice([-np.inf, -3, 0, 1.5], size=n))
    ub = np.where(vtype == BINARY, 1, rng.choice([np.inf, 4, 7.25], size=n))
    x = b.add_vars("x", n, lb=lb, ub=ub, vtype=vtype)
    nnz = n * m // 4
    b.add_rows("r", m, rng.integers(0, 3, m), rng.choice(pool, m),
               coo=(rng.integers(0, m - 3, nnz), x[rng.integers(0, n - 5, nnz)], rng.choice(pool, nnz)))
    obj = rng.choice(n - 5, size=n // 3, replace=False)
    b.add_objective(x[obj], rng.choice(pool, len(obj)))
    if quadratic:
        rows = rng.integers(0, m, 30)
        b.add_quadratic(rows, x[rng.integers(0, n, 30)], x[rng.integers(0, n, 30)], rng.choice(pool, 30))
        b.add_objective_quadratic(x[rng.integers(0, n, 10)], x[rng.integers(0, n, 10)], rng.choice(pool, 10))
    return b.build()


def wide_model(n: int = 3000, rows: int = 200) -> Model:
    """Rows longer than a block of terms, and more lines than a block: exercises every block edge."""
    rng = np.random.default_rng(7)
    b = ModelBuilder("wide")
    binary = np.arange(n) % 1000 < 3
    x = b.add_vars("x", n, lb=np.where(binary, 0, -1), ub=1, vtype=np.where(binary, BINARY, CONTINUOUS))
    r, c = np.nonzero(rng.random((rows, n)) < 0.3)
    r[: CHUNK // 2] = 0  # one row longer than half a block
    b.add_rows("r", rows, SENSE_LE, rng.normal(size=rows), coo=(r, x[c], rng.normal(size=len(r))))
    b.add_objective(x, rng.normal(size=n))
    b.add_quadratic(np.zeros(n, np.int64), x, x, 1.0)
    return b.build()


MODELS = {"ab": lambda: model_ab(False), "ab_bilinear": lambda: model_ab(True), "sink": kitchen_sink,
          "sink_linear": lambda: kitchen_sink(quadratic=False), "wide": wide_model,
          **{f"random{s}": (lambda s=s: random_model(s)) for s in range(4)},
          "random_linear": lambda: random_model(9, quadratic=False)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_bytes_as_reference_writers(name):
    model = MODELS[name]()
    assert render_mps(model) == ref.render_mps(model)
    assert render_lp(model) == ref.render_lp(model)


def test_numbers_match_python_repr_everywhere():
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**63, size=150_000, dtype=np.int64).view(np.float64)
    x = np.concatenate([bits[np.isfinite(bits)], rng.normal(size=100_000) * 10.0 ** rng.integers(-30, 30, 100_000),
                        np.round(rng.normal(size=20_000) * 1e6), 2.0 ** rng.integers(-1074, 1024, 20_000), AWKWARD])
    x = np.concatenate([x, -x])
    got = number_strings(x).to_list()
    assert got == format_numbers(x).tolist()
    assert np.array_equal(np.array([float(s) for s in got]), x + 0.0)


# ------------------------------------------------------------------------------------------ awkward floats
def awkward_model(quadratic: bool, solver_range: bool = False) -> Model:
    """AWKWARD in the matrix, rhs, bounds, objective and quadratic parts; solver_range: only |v| < 1e15
    (solvers take 1e20 and above as infinite)."""
    vals = np.array([v for v in AWKWARD if not solver_range or abs(v) < 1e15])
    n = len(vals)
    b = ModelBuilder("awk")
    x = b.add_vars("x", n, lb=np.where(vals == 0, -1.0, -np.abs(vals)), ub=np.abs(vals) + 1)
    b.add_rows("r", n, SENSE_LE, vals, coo=(np.arange(n), x, np.where(vals == 0, 3.0, vals)))
    b.add_rows("eq", 1, SENSE_EQ, vals[2], coo=(np.zeros(n, np.int64), x, vals[::-1] + 0.5), suffixes=[""])
    b.add_objective(x, np.roll(vals, 3))
    if quadratic:
        b.add_quadratic(np.zeros(n, np.int64) + n, x, np.roll(x, 1), vals)
        b.add_objective_quadratic(x, x, np.where(np.abs(vals) > 1e300, 1.0, np.abs(vals)))  # written doubled
    return b.build()


def _mps_numbers(text: str) -> list[float]:
    out, section = [], None
    for line in text.splitlines():
        if not line.startswith(" "):
            section = line.split()[0]
            continue
        f = line.split()
        if section in ("COLUMNS", "RHS", "QUADOBJ", "QCMATRIX") and "MARKER" not in f:
            out.append(float(f[2]))
        elif section == "BOUNDS" and len(f) == 4:
            out.append(float(f[3]))
    return out


def _lp_numbers(text: str) -> list[float]:
    out = []
    for tok in text.split():
        try:
            out.append(float(tok))
        except ValueError:
            pass
    return [v for v in out if np.isfinite(v)]


@pytest.mark.parametrize("quadratic", [False, True], ids=["linear", "quadratic"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_awkward_floats_round_trip(fmt, quadratic, tmp_path):
    model = awkward_model(quadratic)
    for gz in (False, True):
        path = tmp_path / f"awk{file_suffix(fmt, gz)}"
        write_model(model, path)
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if gz else raw).decode("ascii")
        assert text.encode() == ref.render_mps(model) if fmt == "mps" else text.encode() == ref.render_lp(model)
        got = (_mps_numbers if fmt == "mps" else _lp_numbers)(text)
        i, j, c = model.obj_q
        if fmt == "mps":
            expected = np.concatenate([model.A.data, model.obj[model.obj != 0], model.rhs[model.rhs != 0]])
        else:
            expected = np.concatenate([np.abs(model.A.data), np.abs(model.obj[model.obj != 0]), model.rhs,
                                       2 * np.abs(c)])
        # every written number is exact: each expected coefficient is found bit for bit
        found = set(np.asarray(got, dtype=np.float64).tolist())
        assert all(v + 0.0 in found for v in expected.tolist()), sorted(set(expected.tolist()) - found)[:5]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_awkward_floats_readable(fmt, reader, tmp_path):
    for quadratic in (False, True):
        path = tmp_path / f"awk{quadratic:d}{file_suffix(fmt, True)}"
        model = awkward_model(quadratic, solver_range=True)
        write_model(model, path)
        read = READERS[reader](path)
        assert set(read.variables) == set(model.var_names.tolist())
        assert (read.n_linear + read.n_quadratic) == model.n_rows


# ------------------------------------------------------------------------------------------ gzip, streaming
def test_gzip_blocks_do_not_depend_on_chunking():
    rng = np.random.default_rng(0)
    data = " ".join(map(repr, rng.normal(size=600_000).tolist())).encode()  # ~11 MB: several blocks
    assert len(data) > 4 * stream.BLOCK
    whole = stream.gzip_bytes(data)
    cuts = np.sort(rng.integers(0, len(data), 50))
    pieces = [data[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(data)])]
    serial = b"".join(stream.gzip_stream(pieces))  # no thread pool
    assert serial == whole
    assert gzip.decompress(whole) == data
    assert whole[:4] == b"\x1f\x8b\x08\x00" and whole[4:8] == b"\0\0\0\0"
    d = zlib.decompressobj(31)  # exactly one member, nothing after it
    assert d.decompress(whole) == data and d.eof and d.unused_data == b""


@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_file_matches_rendered_bytes_and_hash(fmt, tmp_path):
    model = wide_model()
    chunks = list(iter_model(model, fmt))
    assert len(chunks) > 3  # really streamed in blocks
    for gz in (False, True):
        path = tmp_path / f"w{file_suffix(fmt, gz)}"
        written = write_model(model, path)
        raw = path.read_bytes()
        assert raw == render_model(model, fmt, gz)
        assert written.size == len(raw) and written.sha256 == hashlib.sha256(raw).hexdigest()
        assert (gzip.decompress(raw) if gz else raw) == b"".join(chunks)
        assert written.text_size == sum(map(len, chunks))


def test_failed_render_leaves_no_file(tmp_path):
    model = model_ab(False)
    model.var_names = np.array(["x1", "x 2", "s", "t"])
    for name in ("bad.mps", "bad.lp.gz"):
        with pytest.raises(ValueError):
            write_model(model, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reader", sorted(READERS))
def test_multi_block_gzip_read_back(reader, tmp_path):
    model = wide_model()
    for fmt in FORMATS:
        path = tmp_path / f"wide{file_suffix(fmt, True)}"
        write_model(model, path)
        assert len(gzip.decompress(path.read_bytes())) > stream.BLOCK  # more than one deflate block
        assert_same_structure(READERS[reader](path), model)


@pytest.mark.parametrize("fmt", FORMATS)
def test_quadratic_objective_too_large_to_double(fmt):
    b = ModelBuilder("huge")
    x = b.add_vars("x", 1, lb=-1, ub=1)
    b.add_objective_quadratic(x, x, 1e308)
    with pytest.raises(ValueError, match="too large"):
        render_model(b.build(), fmt)


def test_ge_rows_and_fixed_sense():
    # the sense table of both formats, on rows of every sense with negative right-hand sides
    b = ModelBuilder("senses")
    x = b.add_vars("x", 3, lb=-1, ub=1)
    b.add_rows("r", 3, [SENSE_LE, SENSE_GE, SENSE_EQ], [-1.5, -0.0, 2], coo=([0, 1, 2], x, [1, -1, 0.25]))
    model = b.build()
    assert render_lp(model) == ref.render_lp(model)
    assert " r0: 1 x0 <= -1.5\n r1: - 1 x1 >= 0\n r2: 0.25 x2 = 2\n" in render_lp(model).decode()
