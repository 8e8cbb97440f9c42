"""Input domains: a box [lower, upper] from --box, --box-file, --center/--radius(/--clip) or the weights file."""

from __future__ import annotations

import hashlib
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import LipgenError
from .network import Network

KINDS = ("box", "ball", "file", "network")
NO_DOMAIN = ("no input domain: give --box LO,HI, --box-file FILE.npz, --center X.npy --radius R, "
             "or store /domain in the weights file")


@dataclass
class Box:
    """The axis-aligned box lower <= x <= upper; `kind` says where it came from."""

    lower: np.ndarray
    upper: np.ndarray
    kind: str = "box"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise LipgenError(f"domain: unknown kind {self.kind!r} (expected one of {', '.join(KINDS)})")
        self.lower = np.ascontiguousarray(self.lower, dtype=np.float64).reshape(-1)
        self.upper = np.ascontiguousarray(self.upper, dtype=np.float64).reshape(-1)
        if self.lower.shape != self.upper.shape:
            raise LipgenError(f"domain: lower has {self.lower.size} values but upper has {self.upper.size}")

    @property
    def dim(self) -> int:
        return int(self.lower.size)

    def digest(self) -> str:
        """8 hex chars of SHA-256 over the float64 little-endian bytes of lower then upper."""
        # + 0.0 turns -0.0 into 0.0: the same box must get the same tag
        data = b"".join((a + 0.0).astype("<f8").tobytes() for a in (self.lower, self.upper))
        return hashlib.sha256(data).hexdigest()[:8]

    def tag(self) -> str:
        return f"{self.kind}-{self.digest()}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "lower": self.lower.tolist(), "upper": self.upper.tolist(), "meta": dict(self.meta)}

    @classmethod
    def from_json(cls, d: dict) -> Box:
        """Inverse of to_json; extra keys (such as the sidecar's 'tag') are ignored."""
        return cls(np.array(d["lower"], dtype=np.float64), np.array(d["upper"], dtype=np.float64),
                   kind=d.get("kind", "box"), meta=dict(d.get("meta") or {}))

    def sample(self, n: int, rng=None) -> np.ndarray:
        """n points drawn uniformly from the box, shape (n, dim); rng: a Generator or a seed."""
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return self.lower + (self.upper - self.lower) * rng.random((n, self.dim))

    def contains(self, x, tol: float = 0.0):
        """Whether x (one point, or a batch of shape (m, dim)) lies in the box widened by tol."""
        x = np.asarray(x, dtype=np.float64)
        return np.all((x >= self.lower - tol) & (x <= self.upper + tol), axis=-1)


def parse_interval(text: str, option: str) -> tuple[float, float]:
    """'LO,HI' -> (lo, hi): '0,1', '-1,1', '-1e-2, 2', '[0, 1]'."""
    parts = str(text).strip().strip("[]()").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = (float(p.strip()) for p in parts)
    except ValueError:
        raise LipgenError(f"{option} {text!r} is not LO,HI (two numbers separated by a comma, e.g. 0,1)") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise LipgenError(f"{option} {text!r}: LO and HI must be finite numbers")
    return lo, hi


def resolve_domain(network: Network, *, box: str | None = None, box_file: str | None = None,
                   center: str | None = None, radius: float | None = None, clip: str | None = None) -> Box:
    """The input domain from exactly one source (never a silent default), checked against the network."""
    given = [opt for opt, v in (("--box", box), ("--box-file", box_file), ("--center", center)) if v is not None]
    if len(given) > 1:
        raise LipgenError(f"give only one input domain, not {' and '.join(given)}")
    if radius is not None and center is None:
        raise LipgenError("--radius needs --center (the centre of the l-inf ball)")
    if clip is not None and center is None:
        raise LipgenError("--clip is only valid with --center/--radius")
    n = network.n_inputs
    if box is not None:
        lo, hi = parse_interval(box, "--box")
        out = Box(np.full(n, lo), np.full(n, hi), "box", {"box": f"{lo!r},{hi!r}"})
        what = f"--box {box}"
    elif box_file is not None:
        out = _from_npz(Path(box_file), n)
        what = f"--box-file {box_file}"
    elif center is not None:
        out = _ball(Path(center), radius, clip, n)
        what = f"--center {center}"
    elif network.domain_lower is not None and network.domain_upper is not None:
        out = Box(network.domain_lower, network.domain_upper, "network",
                  {"source": network.meta.get("source")})
        what = "stored in the weights file"
    else:
        raise LipgenError(NO_DOMAIN)
    check(out, n, what)
    return out


MAX_ABS = 1e100  # domain bounds: the scaled instance's coefficients stay in the range solvers read
MIN_WIDTH = 1e-100


def check(box: Box, n_inputs: int, what: str = "") -> None:
    """Dimension, finite values, lower <= upper and a non-empty interior, else a one-line LipgenError."""
    head = f"domain ({what})" if what else "domain"
    if box.dim != n_inputs:
        raise LipgenError(f"{head}: dimension {box.dim} but the network has {n_inputs} inputs")
    for part, a in (("lower", box.lower), ("upper", box.upper)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise LipgenError(f"{head}: non-finite {part} value at input {bad[0]} ({a[bad[0]]})")
    big = np.flatnonzero(np.maximum(np.abs(box.lower), np.abs(box.upper)) > MAX_ABS)
    if big.size:
        i = int(big[0])
        raise LipgenError(f"{head}: input {i} has a bound of magnitude above the limit {MAX_ABS:g} "
                          f"([{box.lower[i]:g}, {box.upper[i]:g}]); rescale the inputs")
    bad = np.flatnonzero(box.lower > box.upper)
    if bad.size:
        i = int(bad[0])
        raise LipgenError(f"{head}: lower > upper at input {i} ({box.lower[i]:g} > {box.upper[i]:g})")
    thin = np.flatnonzero((box.upper - box.lower > 0) & (box.upper - box.lower < MIN_WIDTH))
    if thin.size:
        i = int(thin[0])
        raise LipgenError(f"{head}: input {i} has a width {box.upper[i] - box.lower[i]:.3g}, below the limit "
                          f"{MIN_WIDTH:g}; rescale the inputs")
    bad = np.flatnonzero(box.lower == box.upper)
    if bad.size:
        i = int(bad[0])
        raise LipgenError(f"{head}: empty interior at input {i} (lower = upper = {box.lower[i]:g}): the Lipschitz "
                          f"constant needs a domain with lower < upper in every input")


def _numeric(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise LipgenError(f"{what} has non-numeric dtype {a.dtype}")
    return a.astype(np.float64)


def load_vector(path: str | Path, option: str, n: int, what: str) -> np.ndarray:
    """A finite float64 vector of n values from an .npy file, else a one-line LipgenError naming `option`."""
    path = Path(path)
    if not path.is_file():
        raise LipgenError(f"{option} {path}: no such file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if not magic.startswith((b"\x93NUMPY", b"PK")):  # np.load takes any other bytes for a pickle and says "pickled (object) data"
        raise LipgenError(f"{option} {path}: not an .npy file (it does not start with numpy's \\x93NUMPY header)")
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise LipgenError(f"{option} {path}: cannot read it as .npy ({e})") from None
    if not isinstance(a, np.ndarray):
        a.close()
        raise LipgenError(f"{option} {path}: expected an .npy file with one vector, got an .npz archive")
    a = _numeric(a, f"{option} {path}")
    if a.shape != (n,):
        raise LipgenError(f"{option} {path}: shape {a.shape}, wrong dimension: the network has {n} {what}, "
                          f"expected shape ({n},)")
    if not np.all(np.isfinite(a)):
        raise LipgenError(f"{option} {path}: contains NaN/Inf values")
    return a


def _from_npz(path: Path, n: int) -> Box:
    if not path.is_file():
        raise LipgenError(f"--box-file {path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise LipgenError(f"--box-file {path}: cannot read it as .npz ({e})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise LipgenError(f"--box-file {path}: not an .npz file (expected arrays lower and upper)")
    with data:
        missing = [k for k in ("lower", "upper") if k not in data.files]
        if missing:
            raise LipgenError(f"--box-file {path}: no array {missing[0]!r} (found: "
                              f"{', '.join(data.files) or 'none'}; expected lower and upper)")
        try:
            lower = _numeric(data["lower"], f"--box-file {path}: lower")
            upper = _numeric(data["upper"], f"--box-file {path}: upper")
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise LipgenError(f"--box-file {path}: cannot read it as .npz ({e})") from None
    for part, a in (("lower", lower), ("upper", upper)):
        if a.shape != (n,):
            raise LipgenError(f"--box-file {path}: {part} has shape {a.shape}, wrong dimension: the network has "
                              f"{n} inputs, expected shape ({n},)")
    return Box(lower, upper, "file", {"file": str(path)})


def _ball(path: Path, radius, clip: str | None, n: int) -> Box:
    if radius is None:
        raise LipgenError("--center needs --radius (the l-inf radius of the ball)")
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise LipgenError(f"--radius {radius!r} is not a number") from None
    if not (math.isfinite(r) and r > 0):
        raise LipgenError(f"--radius must be a finite number > 0, got {radius}")
    c = load_vector(path, "--center", n, "inputs")
    lower, upper = c - r, c + r
    meta = {"center": str(path), "radius": r}
    if clip is not None:
        lo, hi = parse_interval(clip, "--clip")
        lower, upper = np.maximum(lower, lo), np.minimum(upper, hi)
        meta["clip"] = f"{lo!r},{hi!r}"
        bad = np.flatnonzero(lower >= upper)
        if bad.size:
            i = int(bad[0])
            raise LipgenError(f"domain (--center {path} --radius {r:g} --clip {clip}): empty after clipping at "
                              f"input {i}: [{c[i] - r:g}, {c[i] + r:g}] does not meet [{lo:g}, {hi:g}]")
    return Box(lower, upper, "ball", meta)
