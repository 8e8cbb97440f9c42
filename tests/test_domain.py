"""lipgen.domain: Box and resolve_domain from every source, with every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipgen.domain import NO_DOMAIN, Box, resolve_domain
from lipgen.errors import LipgenError
from lipgen.network import Network


@pytest.fixture
def net():
    rng = np.random.default_rng(0)
    return Network([rng.normal(size=(4, 3)), rng.normal(size=(1, 4))], [np.zeros(4), np.zeros(1)], name="n")


def test_box_basics():
    b = Box([-1, 0, 2], [1, 0.5, 3])
    assert b.dim == 3 and b.lower.dtype == np.float64
    assert len(b.digest()) == 8 and int(b.digest(), 16) >= 0
    assert b.tag() == f"box-{b.digest()}"
    assert Box([-1, 0, 2], [1, 0.5, 3], kind="file").tag() == f"file-{b.digest()}"
    assert Box([-1, 0, 2], [1, 0.5, 3.0000001]).digest() != b.digest()
    assert Box([-1, -0.0, 2], [1, 0.5, 3]).digest() == b.digest()  # -0.0 and 0.0 are the same box
    with pytest.raises(LipgenError, match="kind"):
        Box([0], [1], kind="sphere")


def test_box_json_round_trip_is_exact():
    b = Box(np.array([0.1, -1 / 3]), np.array([0.7, 2 / 3]), kind="ball", meta={"radius": 0.3})
    d = json.loads(json.dumps(dict(b.to_json(), tag=b.tag())))  # as a sidecar stores it
    back = Box.from_json(d)
    assert back.kind == "ball" and back.meta == {"radius": 0.3}
    assert np.array_equal(back.lower, b.lower) and np.array_equal(back.upper, b.upper)
    assert back.tag() == b.tag()


def test_sample_and_contains():
    b = Box([-1, 10, 0], [1, 10.5, 1e-3])
    pts = b.sample(500, np.random.default_rng(1))
    assert pts.shape == (500, 3)
    assert b.contains(pts).all()
    assert np.all(pts.min(axis=0) < b.lower + 0.05 * (b.upper - b.lower))  # spread over the box
    assert np.all(pts.max(axis=0) > b.upper - 0.05 * (b.upper - b.lower))
    assert np.array_equal(b.sample(4, 3), b.sample(4, 3))  # a seed is accepted and reproducible
    assert not b.contains([0, 10.6, 0])
    assert b.contains([0, 10.6, 0], tol=0.2)
    assert b.contains(np.array([[0, 10, 0], [2, 10, 0]])).tolist() == [True, False]


@pytest.mark.parametrize("text,lo,hi", [("0,1", 0, 1), ("-1,1", -1, 1), ("-1e-2, 2", -0.01, 2), (" [0, 0.5] ", 0, 0.5)])
def test_box_option(net, text, lo, hi):
    b = resolve_domain(net, box=text)
    assert b.kind == "box" and b.lower.tolist() == [lo] * 3 and b.upper.tolist() == [hi] * 3


@pytest.mark.parametrize("text", ["a,b", "1", "0,1,2", "", "0;1", "nan,1", "0,inf"])
def test_malformed_box(net, text):
    with pytest.raises(LipgenError, match="--box"):
        resolve_domain(net, box=text)


def test_box_file(net, tmp_path):
    np.savez(tmp_path / "b.npz", lower=np.array([0, -1, 2]), upper=np.array([1.0, 1.0, 2.5]))
    b = resolve_domain(net, box_file=str(tmp_path / "b.npz"))
    assert b.kind == "file" and b.lower.tolist() == [0, -1, 2] and b.upper.tolist() == [1, 1, 2.5]
    assert b.meta["file"] == str(tmp_path / "b.npz")


@pytest.mark.parametrize("arrays,needle", [
    ({"lower": np.zeros(3)}, "'upper'"),
    ({"lo": np.zeros(3), "hi": np.ones(3)}, "'lower'"),
    ({"lower": np.zeros(2), "upper": np.ones(2)}, "dimension"),
    ({"lower": np.zeros((3, 1)), "upper": np.ones((3, 1))}, "shape (3, 1)"),
    ({"lower": np.array(["a", "b", "c"]), "upper": np.ones(3)}, "non-numeric"),
    ({"lower": np.array([0, 2.0, 0]), "upper": np.ones(3)}, "lower > upper at input 1 (2 > 1)"),
    ({"lower": np.array([0, 1.0, 0]), "upper": np.ones(3)}, "empty interior at input 1"),
    ({"lower": np.array([0, -np.inf, 0]), "upper": np.ones(3)}, "non-finite lower value at input 1"),
])
def test_bad_box_file(net, tmp_path, arrays, needle):
    path = tmp_path / "b.npz"
    np.savez(path, **arrays)
    with pytest.raises(LipgenError) as e:
        resolve_domain(net, box_file=str(path))
    assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_box_file_not_npz(net, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(LipgenError, match="not an .npz"):
        resolve_domain(net, box_file=str(tmp_path / "x.npy"))
    (tmp_path / "t.npz").write_text("hello")
    with pytest.raises(LipgenError, match="cannot read"):
        resolve_domain(net, box_file=str(tmp_path / "t.npz"))
    with pytest.raises(LipgenError, match="no such file"):
        resolve_domain(net, box_file=str(tmp_path / "missing.npz"))


def test_center_radius_and_clip(net, tmp_path):
    c = tmp_path / "c.npy"
    np.save(c, np.array([0.1, 0.5, 0.95]))
    b = resolve_domain(net, center=str(c), radius=0.2)
    assert b.kind == "ball"
    np.testing.assert_allclose(b.lower, [-0.1, 0.3, 0.75])
    np.testing.assert_allclose(b.upper, [0.3, 0.7, 1.15])
    b = resolve_domain(net, center=str(c), radius=0.2, clip="0,1")
    np.testing.assert_allclose(b.lower, [0.0, 0.3, 0.75])
    np.testing.assert_allclose(b.upper, [0.3, 0.7, 1.0])
    assert b.meta["radius"] == 0.2 and b.meta["clip"] == "0.0,1.0"
    with pytest.raises(LipgenError, match="empty after clipping at input 2"):
        resolve_domain(net, center=str(c), radius=0.2, clip="0,0.7")


@pytest.mark.parametrize("kw,needle", [
    ({"radius": 0.1}, "--radius needs --center"),
    ({"clip": "0,1", "box": "0,1"}, "--clip is only valid with --center"),
    ({"center": "C"}, "needs --radius"),
    ({"center": "C", "radius": 0}, "> 0"),
    ({"center": "C", "radius": -1}, "> 0"),
    ({"center": "C", "radius": float("nan")}, "> 0"),
    ({"center": "C", "radius": 0.1, "clip": "x"}, "--clip"),
    ({"center": "BAD", "radius": 0.1}, "dimension"),
    ({"center": "missing.npy", "radius": 0.1}, "no such file"),
    ({"box": "0,1", "box_file": "f.npz"}, "only one input domain"),
    ({"box": "0,1", "center": "C", "radius": 1}, "only one input domain"),
])
def test_bad_center_options(net, tmp_path, kw, needle):
    np.save(tmp_path / "c.npy", np.zeros(3))
    np.save(tmp_path / "bad.npy", np.zeros(4))
    if "center" in kw:
        kw["center"] = str(tmp_path / {"C": "c.npy", "BAD": "bad.npy"}.get(kw["center"], kw["center"]))
    with pytest.raises(LipgenError) as e:
        resolve_domain(net, **kw)
    assert needle in str(e.value), str(e.value)


def test_stored_domain_and_no_domain(net):
    with pytest.raises(LipgenError) as e:
        resolve_domain(net)
    assert str(e.value) == NO_DOMAIN and "--box LO,HI" in NO_DOMAIN
    net.domain_lower, net.domain_upper = np.array([0.0, 0, 0]), np.array([1.0, 2, 3])
    net.meta["source"] = "w.h5"
    b = resolve_domain(net)
    assert b.kind == "network" and b.upper.tolist() == [1, 2, 3] and b.meta["source"] == "w.h5"
    assert resolve_domain(net, box="-1,1").kind == "box"  # an explicit option wins over the stored domain
    net.domain_upper = np.array([1.0, 0, 3])
    with pytest.raises(LipgenError, match="stored in the weights file.*empty interior at input 1"):
        resolve_domain(net)


def test_lower_above_upper(net):
    with pytest.raises(LipgenError, match=r"domain \(--box 1,0\): lower > upper at input 0 \(1 > 0\)"):
        resolve_domain(net, box="1,0")
    with pytest.raises(LipgenError, match="empty interior"):
        resolve_domain(net, box="0.5,0.5")
