"""MPS/LP writers: files read back by SCIP, Gurobi and CPLEX with the Model's structure and optimum."""

from __future__ import annotations

import gzip
import subprocess
import time
import warnings

import numpy as np
import pulp
import pytest

from helpers.models import OPT_A, OPT_B, READERS, _cplex, api_optimum, assert_same_structure, kitchen_sink, model_ab, read_cplex, write

from lipgen.errors import LipgenError
from lipgen.model import BINARY, CONTINUOUS, INTEGER, SENSE_GE, SENSE_LE, ModelBuilder
from lipgen.writers import (FORMATS, file_suffix, format_of, render_lp, render_model, render_mps, write_lp,
                            write_model, write_mps)
from lipgen.writers.mps import format_numbers

pytestmark = pytest.mark.solver  # every test here runs a solver

# ----------------------------------------------------------------------------------------------- read back
@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_model_a_and_b(fmt, gz, reader, tmp_path):
    for bilinear, optimum in ((False, OPT_A), (True, OPT_B)):
        model = model_ab(bilinear)
        read = READERS[reader](write(model, tmp_path, fmt, gz))
        assert_same_structure(read, model)
        if bilinear and reader == "cplex":
            continue  # CPLEX reads the bilinear equality but never solves it (docs/solvers.md 3)
        assert read.solve() == pytest.approx(optimum, abs=5e-6)  # SCIP: -6.1365040 (QC tolerance)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_kitchen_sink(fmt, gz, reader, tmp_path):
    for bilinear in (True, False):
        model = kitchen_sink(bilinear)
        read = READERS[reader](write(model, tmp_path, fmt, gz))
        assert_same_structure(read, model)
        assert read.offset == 0
        if bilinear and reader == "cplex":
            continue
        assert read.solve() == pytest.approx(api_optimum(model), rel=1e-6, abs=1e-6)


def test_kitchen_sink_optimum_is_not_trivial():
    # guards the oracle above: the bilinear row and the convex parts change the value
    assert api_optimum(kitchen_sink(True)) != pytest.approx(api_optimum(kitchen_sink(False)), abs=1e-3)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_objective_constant_in_mps(gz, reader, tmp_path):
    model = kitchen_sink(bilinear=False, constant=5.25)
    read = READERS[reader](write(model, tmp_path, "mps", gz))
    assert read.offset == pytest.approx(5.25)
    assert read.solve() == pytest.approx(api_optimum(kitchen_sink(bilinear=False)) + 5.25, rel=1e-6)


def test_cbc_reads_linear_mps(tmp_path):
    # CBC: free format needs `NAME x FREE`; it takes MARKER blocks, BV/MI/PL/FR/FX, an empty row, `RHS obj`
    model = kitchen_sink(constant=2.5, quadratic=False)
    path = write(model, tmp_path, "mps", False)
    sol = tmp_path / "cbc.sol"
    with warnings.catch_warnings():  # PULP_CBC_CMD is deprecated but is how to find the bundled binary
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = pulp.apis.PULP_CBC_CMD().path
    run = subprocess.run([cbc, str(path), "-solve", "-solu", str(sol)],
                         capture_output=True, text=True, timeout=60)
    assert "read with 0 errors" in run.stdout
    head = sol.read_text().splitlines()[0]
    assert head.startswith("Optimal - objective value")
    assert float(head.split()[-1]) == pytest.approx(api_optimum(model), rel=1e-7)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_rows(fmt, reader, tmp_path):
    b = ModelBuilder("norows")
    b.add_vars("x", 2, lb=[-1, 0], ub=[3, 4], vtype=[CONTINUOUS, INTEGER])
    b.add_objective([0, 1], [1, -1])
    model = b.build()
    read = READERS[reader](write(model, tmp_path, fmt, False))
    assert_same_structure(read, model)
    assert read.solve() == -5.0


def test_objective_constant_refused_in_lp(tmp_path):
    with pytest.raises(ValueError, match="constant"):
        write_lp(kitchen_sink(constant=1.0), tmp_path / "x.lp")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reader", sorted(READERS))
def test_empty_domain_is_kept(reader, tmp_path):
    # a negative UP after an explicit LO: SCIP must not turn lb=0, ub=-0.5 into anything else
    model = kitchen_sink(empty_infeasible=True)
    read = READERS[reader](write(model, tmp_path, "mps", False))
    assert read.variables["c_upneg"] == ("C", 0.0, -0.5)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_long_rows_are_wrapped_and_complete(fmt, reader, tmp_path):
    n = 400
    b = ModelBuilder("long")
    x = b.add_vars("a_rather_long_variable_name_", n, lb=-1, ub=1)
    coefs = np.linspace(-1, 1, n) + 1 / 3
    b.add_rows("wide", 1, SENSE_LE, 1, coo=(np.zeros(n, np.int64), x, coefs), suffixes=[""])
    b.add_objective(x, -coefs)
    b.add_objective_quadratic(x[:-1], x[1:], np.full(n - 1, 0.01))
    b.add_objective_quadratic(x, x, np.ones(n))
    model = b.build()
    path = write(model, tmp_path, fmt, False)
    assert max(len(line) for line in path.read_text().splitlines()) <= 260
    read = READERS[reader](path)
    assert_same_structure(read, model)
    if reader == "cplex":
        c = _cplex(path)
        ind, val = c.linear_constraints.get_rows("wide").unpack()
        names = c.variables.get_names()
        got = dict(zip([names[i] for i in ind], val))
        assert got == dict(zip(model.var_names.tolist(), coefs.tolist()))  # exact: shortest round-trip text
        assert c.objective.get_linear() == (-coefs).tolist()
        x7 = "a_rather_long_variable_name_7"
        assert c.objective.get_quadratic_coefficients(x7, x7) == 2.0  # CPLEX's Q carries the 1/2: 2 * 1


# ----------------------------------------------------------------------------------------------- text
def test_model_a_text():
    mps = render_mps(model_ab(False)).decode()
    assert mps.startswith("NAME QTEST-A FREE\nROWS\n N  obj\n")
    assert "OBJSENSE" not in mps  # minimisation is every reader's default
    assert "QUADOBJ\n    x1  x1  2\n    x1  x2  1.5\n    x2  x2  4\n    t  t  1\n" in mps
    assert "QCMATRIX   c3\n    x1  x1  1\n    x1  x2  0.5\n    x2  x1  0.5\n    x2  x2  1\n" in mps
    assert "    MARKER  'MARKER'  'INTORG'\n    s  obj  -3\n" in mps
    assert " MI BND  x2\n UP BND  x2  0.8\n BV BND  s\n LO BND  t  0\n UP BND  t  3\n" in mps
    lp = render_lp(model_ab(True)).decode()
    assert " obj: - 3 x1 - 4 x2 - 3 s - 1 t - 0.7 y + [ 2 x1 ^2 + 3 x1 * x2 + 4 x2 ^2 + 1 t ^2 ] / 2\n" in lp
    assert " c2: 1 y + [ - 1 s * t ] = 0\n" in lp
    assert " c1: [ 1 x1 ^2 + 1 x2 ^2 ] <= 1\n" in lp
    assert lp.endswith("Bounds\n x1 free\n -inf <= x2 <= 0.8\n 0 <= t <= 3\n -10 <= y <= 10\n"
                       "Binaries\n s\nGenerals\n t\nEnd\n")


def test_kitchen_sink_bound_lines():
    mps = render_mps(kitchen_sink(empty_infeasible=True)).decode()
    for line in [" MI BND  c_neg\n UP BND  c_neg  -2\n", " LO BND  i_dflt  0\n PL BND  i_dflt\n",
                 " MI BND  i_free\n PL BND  i_free\n", " FX BND  c_fix  1.5\n",
                 " LO BND  i_box  -3\n UP BND  i_box  4\n", " LO BND  c_upneg  0\n UP BND  c_upneg  -0.5\n",
                 " LO BND  b_fix  1\n UP BND  b_fix  1\n", " LO BND  i_fix  2\n UP BND  i_fix  2\n",
                 "    c_unused  obj  0\n", " FR BND  x_free\n", " LO BND  c_lo  -1.25\n BV BND  b1\n",
                 " MI BND  i_neg\n UP BND  i_neg  -1\n"]:
        assert line in mps


def test_format_numbers():
    vals = [1.0, 0.1, -2.5e-07, -0.0, 3e20, 1 / 3, -7.0, 2.0**60, 5e-324]
    assert format_numbers(vals).tolist() == ["1", "0.1", "-2.5e-07", "0", "3e+20", "0.3333333333333333", "-7",
                                             "1.152921504606847e+18", "5e-324"]
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=1000) * 10.0 ** rng.integers(-12, 12, 1000),
                        np.round(rng.normal(size=50) * 1e6)])
    assert np.array_equal(np.array([float(s) for s in format_numbers(x).tolist()]), x)


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_bytes(fmt, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for gz in (False, True):
        name = f"inst{file_suffix(fmt, gz)}"
        write_model(kitchen_sink(), a / name)
        write_model(kitchen_sink(), b / name)
        assert (a / name).read_bytes() == (b / name).read_bytes() == render_model(kitchen_sink(), fmt, gz)
    raw = (a / f"inst{file_suffix(fmt, True)}").read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08  # mtime 0, no FNAME field
    assert gzip.decompress(raw) == render_model(kitchen_sink(), fmt, False)


# ----------------------------------------------------------------------------------------------- files, names
def test_write_model_dispatch(tmp_path):
    model = model_ab(False)
    assert [file_suffix(f, g) for f in FORMATS for g in (False, True)] == [".mps", ".mps.gz", ".lp", ".lp.gz"]
    assert format_of("a/b.MPS.gz") == ("mps", True) and format_of("x.lp") == ("lp", False)
    write_model(model, tmp_path / "a.lp.gz")
    assert gzip.decompress((tmp_path / "a.lp.gz").read_bytes()) == render_lp(model)
    write_model(model, tmp_path / "a.txt", fmt="mps")
    assert (tmp_path / "a.txt").read_bytes() == render_mps(model)
    write_mps(model, tmp_path / "sub" / "b.mps.gz")
    assert gzip.decompress((tmp_path / "sub" / "b.mps.gz").read_bytes()) == render_mps(model)
    with pytest.raises(LipgenError, match="a.txt"):
        write_model(model, tmp_path / "a.txt")
    with pytest.raises(LipgenError, match="'nl'"):
        render_model(model, "nl")


def test_atomic_write_leaves_nothing_behind(tmp_path):
    model = model_ab(False)
    target = tmp_path / "m.mps"
    write_model(model, target)
    before = target.read_bytes()
    bad = model_ab(False)
    bad.var_names = np.array(["x1", "x 2", "s", "t"])
    with pytest.raises(ValueError):
        write_model(bad, target)  # rendering fails: the old file stays whole
    (tmp_path / "dir.lp").mkdir()
    with pytest.raises(OSError):
        write_model(model, tmp_path / "dir.lp")  # os.replace onto a directory fails after the temp file exists
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.lp", "m.mps"]
    assert list((tmp_path / "dir.lp").iterdir()) == []


@pytest.mark.parametrize("bad", ["1x", "a b", "x-y", "", "é", "a\nb", "x" * 251])
@pytest.mark.parametrize("fmt", FORMATS)
def test_invalid_names_rejected(bad, fmt):
    for where in ("var_names", "row_names"):
        model = model_ab(False)
        names = getattr(model, where).tolist()
        names[1] = bad
        setattr(model, where, np.array(names, dtype=object))
        with pytest.raises(ValueError, match="invalid"):
            render_model(model, fmt)


def test_reserved_names(tmp_path):
    model = model_ab(False)
    model.row_names = np.array(["obj", "c3", "lin"])
    for fmt in FORMATS:
        with pytest.raises(ValueError, match="reserved"):
            render_model(model, fmt)
    for name in ("e1", "E7x", "inf", "st", "end", "bin"):
        model = model_ab(False)
        model.var_names = np.array([name, "x2", "s", "t"])
        with pytest.raises(ValueError, match="reserved in the LP"):
            render_lp(model)
        write_model(model, tmp_path / "ok.mps")  # fine in MPS
        assert name in read_cplex(tmp_path / "ok.mps").variables


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_max_length_names_and_zero_objective(fmt, reader, tmp_path):
    b = ModelBuilder("x" * 300 + " has spaces")
    long_var, long_row = "v" * 250, "r" * 250
    x = b.add_vars("", 2, lb=-1, ub=[1, 0], suffixes=[long_var, "w"])
    b.add_rows("", 1, SENSE_GE, 0.5, coo=([0, 0], x, [1, 1]), suffixes=[long_row])
    model = b.build()
    read = READERS[reader](write(model, tmp_path, fmt, False))
    assert_same_structure(read, model)
    assert read.solve() == 0.0


def test_large_model_renders(tmp_path):
    """~1M nonzeros (2000 x 2000 at 25 %): no time is asserted, only that the output is complete."""
    rng = np.random.default_rng(0)
    n = 2000
    b = ModelBuilder("big")
    x = b.add_vars("x", n, lb=-1, ub=1)
    s = b.add_vars("s", n, lb=0, ub=1, vtype=BINARY)
    r, c = np.nonzero(rng.random((n, n)) < 0.25)
    b.add_rows("r", n, SENSE_LE, rng.normal(size=n), coo=(r, x[c], rng.normal(size=len(r))))
    b.add_rows("t", n, SENSE_LE, 0, terms=[(x, 1), (s, -1)])
    b.add_objective(x, rng.normal(size=n))
    model = b.build()
    start = time.perf_counter()
    mps = render_mps(model)
    mid = time.perf_counter()
    lp = render_lp(model)
    print(f"\n{model.A.nnz} nonzeros: mps {mid - start:.2f} s, lp {time.perf_counter() - mid:.2f} s")
    lines = mps.split(b"\n")
    col_lines = lines.index(b"RHS") - lines.index(b"COLUMNS") - 1
    assert col_lines == model.A.nnz + n + 2  # + objective entries of x, one MARKER block around s
    assert lp.count(b"\n") > model.A.nnz // 20 and max(map(len, lp.split(b"\n"))) <= 260
