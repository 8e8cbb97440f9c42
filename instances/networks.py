"""Make the networks of the instance library (seeded and re-runnable: the same weights on every run).

    python instances/networks.py            # write instances/networks/NAME.h5 + NAME.onnx and catalog.json
    python instances/networks.py --check    # make them again in memory and compare with the files on disk
    python instances/networks.py --only iris-4-8-3 --only lipbab-4-5-5-3

Families:

- trained: small MLPs fitted by scikit-learn (MLPClassifier, relu, adam, fixed random_state) on datasets
  bundled with scikit-learn (iris, wine, breast cancer, digits 8x8). The network is the classifier's logits.
  Inputs are normalised (z-scores for the tabular data, pixel/16 for digits); the domain stored in the file
  is the data's box (per feature min..max of all samples; [0, 1]^64 for digits), and the catalog adds
  l-inf balls around test points (radius in normalised units).
- lipmip: random networks in the shapes of LipMIP's experiments, the depth series 2-[20]*k-2 (k = 1..7) and
  the width series 2-w-w-w-2, on the box [-1, 1]^2.
- lipbab: random networks in LipBaB's shapes 4-5-5-3, 10-15-10-3, 10-20-15-10-3, 10-30-30-30-3 on [-1, 1]^n.
- wide: random 784-w-w-10 networks on a small l-inf ball (radius 0.01, clipped to [0, 1]) around a random
  image-like point: they stress generation and presolve. Not committed (see .gitignore): this script makes
  them, and the library's README lists their checksums.

- v2 (V2_SPECS, used by lipgen-v2 only): deeper and wider trained nets, digits 64-128-128-10 and
  64-64-64-64-10, wine 13-64-64-3.

Random weights follow PyTorch's default Linear initialisation, W and b uniform in +-1/sqrt(fan_in), drawn
from numpy's PCG64 generator with the seed listed per network. Training runs single-threaded (the BLAS
thread variables below are set before numpy loads) so that it repeats bit for bit on one machine.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported: deterministic, single-threaded BLAS for the training
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.network import Network  # noqa: E402
from lipgen.io import load, save  # noqa: E402

HERE = Path(__file__).resolve().parent
NETWORK_DIR = HERE / "networks"
CATALOG = "catalog.json"
SPLIT_SEED = 0
TEST_FRACTION = 0.25


@dataclass(frozen=True)
class BallSpec:
    """An l-inf ball of `radius` around test point `test_index` (clipped to [clip_lo, clip_hi] when given)."""

    test_index: int
    radius: float


@dataclass(frozen=True)
class NetSpec:
    name: str
    family: str  # trained | lipmip | lipbab | wide
    widths: tuple[int, ...]
    seed: int
    dataset: str | None = None
    box: tuple[float, float] | None = None  # random networks: the same interval for every input
    balls: tuple[BallSpec, ...] = ()
    radius: float | None = None  # wide networks: the ball around a random point
    committed: bool = True
    note: str = ""

    @property
    def shape(self) -> str:
        return "-".join(map(str, self.widths))


TRAINED_BALLS = (BallSpec(0, 0.01), BallSpec(1, 0.05), BallSpec(2, 0.1))


def _trained(dataset: str, widths: tuple[int, ...]) -> NetSpec:
    return NetSpec(f"{dataset}-{'-'.join(map(str, widths))}", "trained", widths, seed=0, dataset=dataset,
                   balls=TRAINED_BALLS)


SPECS: tuple[NetSpec, ...] = (
    _trained("iris", (4, 8, 3)),
    _trained("iris", (4, 16, 16, 3)),
    _trained("iris", (4, 10, 10, 10, 3)),
    _trained("wine", (13, 16, 3)),
    _trained("wine", (13, 32, 16, 3)),
    _trained("cancer", (30, 16, 1)),
    _trained("cancer", (30, 32, 16, 1)),
    _trained("digits", (64, 16, 10)),
    _trained("digits", (64, 32, 10)),
    _trained("digits", (64, 32, 32, 10)),
    *(NetSpec(f"lipmip-depth{k}", "lipmip", (2, *([20] * k), 2), seed=100 + k, box=(-1.0, 1.0),
              note="depth series 2-[20]*k-2") for k in range(1, 8)),
    *(NetSpec(f"lipmip-width{w}", "lipmip", (2, w, w, w, 2), seed=200 + w, box=(-1.0, 1.0),
              note="width series 2-w-w-w-2") for w in (10, 20, 40, 80, 160)),
    *(NetSpec(f"lipbab-{'-'.join(map(str, ws))}", "lipbab", ws, seed=300 + i, box=(-1.0, 1.0))
      for i, ws in enumerate(((4, 5, 5, 3), (10, 15, 10, 3), (10, 20, 15, 10, 3), (10, 30, 30, 30, 3)))),
    *(NetSpec(f"wide-784-{w}-{w}-10", "wide", (784, w, w, 10), seed=400 + i, radius=0.01, committed=False)
      for i, w in enumerate((256, 512, 1024))),
)
# lipgen-v2's additions (v1's plan reads SPECS alone, so v1 stays as published): deeper and wider nets on the
# same bundled data, trained as above
V2_SPECS: tuple[NetSpec, ...] = (
    _trained("digits", (64, 128, 128, 10)),
    _trained("digits", (64, 64, 64, 64, 10)),
    _trained("wine", (13, 64, 64, 3)),
)
ALL_SPECS = SPECS + V2_SPECS
BY_NAME = {s.name: s for s in ALL_SPECS}

DATASETS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "cancer": "load_breast_cancer",
    "digits": "load_digits",
}


def dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """(x_train, x_test, y_train, y_test, info), inputs normalised: z-scores from the training split, pixels / 16."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    data = getattr(datasets, DATASETS[name])()
    x, y = np.asarray(data.data, dtype=np.float64), np.asarray(data.target)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)
    if name == "digits":
        scale = {"normalisation": "pixel / 16 (inputs in [0, 1])"}
        x_tr, x_te = x_tr / 16.0, x_te / 16.0
    else:
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
        scale = {"normalisation": "z-score with the training split's mean and standard deviation",
                 "mean": mean.tolist(), "std": std.tolist()}
    info = {"sklearn_loader": DATASETS[name], "samples": int(len(x)), "train": int(len(x_tr)), "test": int(len(x_te)),
            "classes": int(len(np.unique(y))), "split": f"train_test_split(test_size={TEST_FRACTION}, "
                                                          f"random_state={SPLIT_SEED}, stratify=y)", **scale}
    return x_tr, x_te, y_tr, y_te, info


def data_box(name: str, x_tr: np.ndarray, x_te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":  # the image box: some border pixels are 0 in every sample
        return np.zeros(x_tr.shape[1]), np.ones(x_tr.shape[1])
    every = np.vstack([x_tr, x_te])
    return every.min(axis=0), every.max(axis=0)


def train(spec: NetSpec) -> tuple[Network, dict]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_tr, x_te, y_tr, y_te, info = dataset(spec.dataset)
    clf = MLPClassifier(hidden_layer_sizes=spec.widths[1:-1], activation="relu", solver="adam", alpha=1e-3,
                        learning_rate_init=1e-3, max_iter=1000, random_state=spec.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_tr, y_tr)
    weights = [np.ascontiguousarray(c.T) for c in clf.coefs_]
    biases = [np.ascontiguousarray(b) for b in clf.intercepts_]
    lower, upper = data_box(spec.dataset, x_tr, x_te)
    net = Network(weights, biases, name=spec.name, domain_lower=lower, domain_upper=upper)
    if net.widths != list(spec.widths):
        raise SystemExit(f"{spec.name}: scikit-learn made widths {net.widths}, expected {list(spec.widths)}")
    clip = (0.0, 1.0) if spec.dataset == "digits" else None
    balls = []
    for b in spec.balls:
        centre = x_te[b.test_index]
        lo, hi = centre - b.radius, centre + b.radius
        if clip is not None:
            lo, hi = np.maximum(lo, clip[0]), np.minimum(hi, clip[1])
        balls.append({"label": f"test{b.test_index}-r{b.radius:g}", "test_index": b.test_index, "radius": b.radius,
                      "clip": list(clip) if clip else None, "center": centre.tolist(), "lower": lo.tolist(),
                      "upper": hi.tolist(), "class": int(y_te[b.test_index])})
    training = {"estimator": "sklearn.neural_network.MLPClassifier", "activation": "relu", "solver": "adam",
                "alpha": 1e-3, "learning_rate_init": 1e-3, "max_iter": 1000, "random_state": spec.seed,
                "iterations": int(clf.n_iter_), "train_accuracy": float(clf.score(x_tr, y_tr)),
                "test_accuracy": float(clf.score(x_te, y_te)), "output": "logits (before "
                + ("the logistic function" if net.n_outputs == 1 else "softmax") + ")"}
    return net, {"dataset": spec.dataset, "data": info, "training": training, "balls": balls}


def random_network(spec: NetSpec) -> Network:
    """PyTorch's default Linear initialisation: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(spec.seed)
    ws, bs = [], []
    for n_in, n_out in zip(spec.widths[:-1], spec.widths[1:]):
        bound = 1.0 / np.sqrt(n_in)
        ws.append(rng.uniform(-bound, bound, size=(n_out, n_in)))
        bs.append(rng.uniform(-bound, bound, size=n_out))
    return Network(ws, bs, name=spec.name)


def make(spec: NetSpec) -> tuple[Network, dict]:
    """The network (with its stored domain) and its catalog entry."""
    entry = {"name": spec.name, "family": spec.family, "shape": spec.shape, "widths": list(spec.widths),
             "seed": spec.seed, "committed": spec.committed, "note": spec.note}
    if spec.family == "trained":
        net, extra = train(spec)
        entry.update(extra)
        entry["domain"] = "the data's box (stored in the file)"
        return net, entry
    net = random_network(spec)
    entry["init"] = "W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default), numpy default_rng(seed)"
    n = spec.widths[0]
    if spec.radius is not None:  # a small ball around an image-like point, clipped to [0, 1]
        rng = np.random.default_rng(10_000 + spec.seed)
        centre = rng.uniform(0.0, 1.0, size=n)
        net.domain_lower = np.maximum(centre - spec.radius, 0.0)
        net.domain_upper = np.minimum(centre + spec.radius, 1.0)
        entry["domain"] = (f"l-inf ball of radius {spec.radius:g} around a uniform random point of [0, 1]^{n} "
                           f"(default_rng({10_000 + spec.seed})), clipped to [0, 1] (stored in the file)")
    else:
        net.domain_lower, net.domain_upper = np.full(n, spec.box[0]), np.full(n, spec.box[1])
        entry["domain"] = f"the box [{spec.box[0]:g}, {spec.box[1]:g}]^{n} (stored in the file)"
    return net, entry


def onnx_bytes(net: Network) -> bytes:
    """The network as a minimal ONNX graph (Gemm with transB=1, Relu between), float64 so the weights are exact."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    current = "input"
    last = len(net.weights) - 1
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        inits += [numpy_helper.from_array(np.asarray(w, dtype=np.float64), f"layer{k}.weight"),
                  numpy_helper.from_array(np.asarray(b, dtype=np.float64), f"layer{k}.bias")]
        out = "output" if k == last else f"z{k}"
        nodes.append(helper.make_node("Gemm", [current, f"layer{k}.weight", f"layer{k}.bias"], [out],
                                      name=f"gemm{k}", transB=1))
        current = out
        if k != last:
            nodes.append(helper.make_node("Relu", [out], [f"a{k}"], name=f"relu{k}"))
            current = f"a{k}"
    graph = helper.make_graph(
        nodes, net.name, [helper.make_tensor_value_info("input", TensorProto.DOUBLE, ["batch", net.n_inputs])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE, ["batch", net.n_outputs])], inits)
    model = helper.make_model(graph, producer_name="lipgen-instances", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def write(spec: NetSpec, folder: Path) -> dict:
    """Write NAME.h5 and NAME.onnx into `folder`; return the catalog entry with both files' checksums."""
    import hashlib

    net, entry = make(spec)
    h5 = folder / f"{spec.name}.h5"
    save(h5, net)
    onnx_path = folder / f"{spec.name}.onnx"
    atomic.write_bytes(onnx_path, onnx_bytes(net))
    back = load(onnx_path)
    if back.digest() != net.digest():
        raise SystemExit(f"{onnx_path}: lipgen reads other weights back from the ONNX copy")
    entry.update(digest=net.digest(), h5_sha256=hashlib.sha256(h5.read_bytes()).hexdigest(),
                 onnx_sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest())
    return entry


def load_catalog(folder: Path = NETWORK_DIR) -> dict[str, dict]:
    path = folder / CATALOG
    if not path.is_file():
        return {}
    return {e["name"]: e for e in json.loads(path.read_text())["networks"]}


def write_catalog(entries: dict[str, dict], folder: Path = NETWORK_DIR) -> None:
    order = [s.name for s in ALL_SPECS if s.name in entries]
    atomic.write_json(folder / CATALOG, {"version": 1, "networks": [entries[n] for n in order]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="make only these networks")
    parser.add_argument("--check", action="store_true", help="make the networks in a temporary folder and compare "
                                                             "them with the files on disk (nothing is written)")
    parser.add_argument("--no-wide", action="store_true", help="leave out the wide (uncommitted) networks")
    args = parser.parse_args(argv)
    unknown = [n for n in args.only if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown network {unknown[0]!r}; known: {', '.join(BY_NAME)}")
    specs = [BY_NAME[n] for n in args.only] if args.only else [s for s in ALL_SPECS
                                                                  if s.committed or not args.no_wide]
    if args.check:
        on_disk = load_catalog()
        bad = 0
        with tempfile.TemporaryDirectory() as tmp:
            for spec in specs:
                entry = write(spec, Path(tmp))
                old = on_disk.get(spec.name, {})
                same = all(old.get(k) == entry[k] for k in ("digest", "h5_sha256", "onnx_sha256"))
                bad += not same
                print(f"{spec.name:28s} {'same' if same else 'DIFFERENT'}")
        return 1 if bad else 0
    NETWORK_DIR.mkdir(parents=True, exist_ok=True)
    entries = load_catalog()
    for spec in specs:
        entries[spec.name] = write(spec, NETWORK_DIR)
        e = entries[spec.name]
        acc = e.get("training", {}).get("test_accuracy")
        print(f"{spec.name:28s} {spec.shape:22s} {e['digest'][:12]}" + (f"  test accuracy {acc:.3f}" if acc else ""))
    write_catalog(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
