"""lipgen.weights on real HDF5 files written in the layouts Keras, PyTorch (state dict) and lipgen itself use."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from lipgen.errors import LipgenError
from lipgen.network import Network
from lipgen.io import load, sanitize_name, save, validate

RNG = np.random.default_rng(7)
X = RNG.uniform(-2, 2, size=(64, 3))


def relu(z):
    return np.maximum(z, 0.0)


# ----------------------------------------------------------------------------- Keras 2 layout writers

def _names_attr(names):
    # Keras: np.asarray of the encoded names; an empty list becomes an empty float64 array
    return np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])


def _weight_groups(root, layer_names, weights):
    """model_weights (or the root of a save_weights file) exactly as Keras 2 writes it."""
    root.attrs["layer_names"] = _names_attr(layer_names)
    root.attrs["backend"] = b"tensorflow"
    root.attrs["keras_version"] = b"2.13.1"
    for name in sorted(layer_names):
        g = root.create_group(name)
        ws = weights.get(name, [])
        g.attrs["weight_names"] = _names_attr([wn for wn, _ in ws])
        for wn, arr in ws:
            g.create_dataset(wn, data=arr)


def layer(cls, name, **cfg):
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}}


def dense(name, units, activation="relu", use_bias=True):
    return layer("Dense", name, units=units, activation=activation, use_bias=use_bias,
                 kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
                 bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None)


def dense_weights(name, n_in, n_out, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    ws = [(f"{name}/kernel:0", rng.normal(size=(n_in, n_out)).astype(np.float32))]
    if bias:
        ws.append((f"{name}/bias:0", rng.normal(size=n_out).astype(np.float32)))
    return ws


def write_keras_model(path, layers, weights, cls="Sequential", io=None):
    """A Keras 2 `model.save('x.h5')` file: model_config JSON + model_weights/<layer>/<weight name>."""
    if cls == "Sequential":
        config = {"name": "sequential", "layers": layers}
        names = [lyr["config"]["name"] for lyr in layers if lyr["class_name"] != "InputLayer"]
    else:
        config = {"name": "model", "layers": layers, **(io or {})}
        names = [lyr["config"]["name"] for lyr in layers]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": cls, "config": config}).encode("utf8")
        f.attrs["training_config"] = json.dumps({"loss": "mse"}).encode("utf8")
        _weight_groups(f.create_group("model_weights"), names, weights)
    return path


def keras_reference(x, chain):
    """chain: (kernel (n_in, n_out), bias or None, relu?) per Dense layer."""
    h = np.asarray(x, dtype=np.float64)
    for k, b, act in chain:
        h = h @ k.astype(np.float64) + (0.0 if b is None else b.astype(np.float64))
        h = relu(h) if act else h
    return h


def test_keras_sequential_model(tmp_path):
    w1, w2, w3 = dense_weights("dense", 3, 5, seed=1), dense_weights("dense_1", 5, 4, seed=2), \
        dense_weights("dense_2", 4, 2, bias=False, seed=3)
    layers = [layer("InputLayer", "dense_input", batch_input_shape=[None, 3], sparse=False),
              dense("dense", 5), layer("Dropout", "dropout", rate=0.5),
              dense("dense_1", 4, activation="linear"), layer("Activation", "activation", activation="relu"),
              dense("dense_2", 2, activation="linear", use_bias=False)]
    path = write_keras_model(tmp_path / "my model (v2)!.h5", layers,
                             {"dense": w1, "dense_1": w2, "dense_2": w3})
    net = load(path)
    ref = keras_reference(X, [(w1[0][1], w1[1][1], True), (w2[0][1], w2[1][1], True), (w3[0][1], None, False)])
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12, atol=1e-12)
    assert net.widths == [3, 5, 4, 2]
    assert np.all(net.biases[2] == 0)
    assert net.meta["layout"] == "keras" and net.meta["layer_names"] == ["dense", "dense_1", "dense_2"]
    assert net.name == "my_model_v2"
    assert net.meta["source"] == str(path)
    assert net.meta["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    for a in net.weights + net.biases:
        assert a.dtype == np.float64 and a.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("style", ["keras2", "keras3"])
def test_keras_functional_chain_with_flatten_and_relu_layer(tmp_path, style):
    def node(src):
        if style == "keras2":
            return [[[src, 0, 0, {}]]]
        return [{"args": [{"class_name": "__keras_tensor__",
                           "config": {"shape": [None, 3], "keras_history": [src, 0, 0]}}], "kwargs": {}}]

    names = ["input_1", "flatten", "dense", "re_lu", "dense_1"]
    layers = [layer("InputLayer", "input_1", batch_input_shape=[None, 1, 3]), layer("Flatten", "flatten"),
              dense("dense", 6, activation="linear"),
              layer("ReLU", "re_lu", max_value=None, negative_slope=0.0, threshold=0.0),
              dense("dense_1", 1, activation=None)]
    for prev, lyr in zip([None] + names, layers):
        lyr["name"], lyr["inbound_nodes"] = lyr["config"]["name"], node(prev) if prev else []
    w1, w2 = dense_weights("dense", 3, 6, seed=4), dense_weights("dense_1", 6, 1, seed=5)
    if style == "keras3":  # Keras 3 names weights by path, without the ':0'
        w1 = [(n.replace(":0", ""), a) for n, a in w1]
        w2 = [(n.replace(":0", ""), a) for n, a in w2]
    path = write_keras_model(tmp_path / "func.h5", layers, {"dense": w1, "dense_1": w2}, cls="Functional",
                             io={"input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]})
    net = load(path)
    ref = keras_reference(X, [(w1[0][1], w1[1][1], True), (w2[0][1], w2[1][1], False)])
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12, atol=1e-12)
    assert net.n_inputs == 3 and net.n_outputs == 1


def _two_dense(tmp_path, mid, last_act="linear", first_act="relu", extra_weights=None):
    layers = [dense("dense", 4, activation=first_act), *mid, dense("dense_1", 2, activation=last_act)]
    weights = {"dense": dense_weights("dense", 3, 4), "dense_1": dense_weights("dense_1", 4, 2)}
    weights.update(extra_weights or {})
    return write_keras_model(tmp_path / "bad.h5", layers, weights)


@pytest.mark.parametrize("mid,last_act,first_act,needles", [
    ([layer("Conv2D", "conv2d", filters=2)], "linear", "relu", ["conv2d", "Conv2D"]),
    ([layer("BatchNormalization", "batch_normalization")], "linear", "relu", ["batch_normalization",
                                                                               "BatchNormalization"]),
    ([], "linear", "tanh", ["'dense'", "tanh"]),
    ([], "softmax", "relu", ["dense_1", "softmax"]),
    ([], "relu", "relu", ["dense_1", "last layer", "relu"]),
    ([], "linear", "linear", ["'dense'", "hidden", "linear"]),
    ([layer("ReLU", "re_lu", max_value=6.0)], "linear", "linear", ["re_lu", "max_value"]),
    ([layer("Activation", "activation", activation="sigmoid")], "linear", "linear", ["activation", "sigmoid"]),
    ([layer("Flatten", "flatten")], "linear", "relu", ["flatten", "Flatten"]),
])
def test_keras_rejects_unsupported_layers(tmp_path, mid, last_act, first_act, needles):
    path = _two_dense(tmp_path, mid, last_act, first_act)
    with pytest.raises(LipgenError) as e:
        load(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    for needle in needles:
        assert needle in msg, msg


def test_keras_activation_layer_placement(tmp_path):
    w = {"dense": dense_weights("dense", 3, 4), "dense_1": dense_weights("dense_1", 4, 2)}
    first = [layer("Activation", "act", activation="relu"), dense("dense", 4), dense("dense_1", 2, "linear")]
    with pytest.raises(LipgenError, match="'act' \\(Activation\\) must directly follow a linear Dense"):
        load(write_keras_model(tmp_path / "a.h5", first, w))
    # relu(relu(z)) = relu(z): a ReLU after a relu Dense is harmless
    twice = [dense("dense", 4), layer("ReLU", "re_lu"), dense("dense_1", 2, "linear")]
    net = load(write_keras_model(tmp_path / "b.h5", twice, w))
    ref = keras_reference(X, [(w["dense"][0][1], w["dense"][1][1], True), (w["dense_1"][0][1], w["dense_1"][1][1],
                                                                            False)])
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12)


def test_keras_rejects_relu_activation_after_last_dense(tmp_path):
    layers = [dense("dense", 4), dense("dense_1", 2, activation="linear"),
              layer("Activation", "activation", activation="relu")]
    path = write_keras_model(tmp_path / "m.h5", layers, {"dense": dense_weights("dense", 3, 4),
                                                         "dense_1": dense_weights("dense_1", 4, 2)})
    with pytest.raises(LipgenError, match=r"'dense_1' \(Dense\) is the last layer.*'activation'"):
        load(path)


def test_keras_functional_branch_is_rejected(tmp_path):
    layers = [layer("InputLayer", "in"), dense("a", 4), dense("b", 2, activation="linear")]
    layers[0]["inbound_nodes"], layers[1]["inbound_nodes"] = [], [[["in", 0, 0, {}]]]
    layers[2]["inbound_nodes"] = [[["in", 0, 0, {}]]]  # skips 'a'
    path = write_keras_model(tmp_path / "branch.h5", layers, {"a": dense_weights("a", 3, 4),
                                                              "b": dense_weights("b", 3, 2)}, cls="Functional",
                             io={"input_layers": [["in", 0, 0]], "output_layers": [["b", 0, 0]]})
    with pytest.raises(LipgenError, match="'b'.*chain"):
        load(path)


def test_keras_weights_only_file(tmp_path):
    w = [dense_weights("dense", 3, 5, seed=6), dense_weights("dense_1", 5, 3, seed=7),
         dense_weights("dense_2", 3, 2, seed=8)]
    path = tmp_path / "weights_only.h5"
    with h5py.File(path, "w") as f:
        _weight_groups(f, ["dense", "dropout", "dense_1", "dense_2"],
                       {"dense": w[0], "dense_1": w[1], "dense_2": w[2]})
    net = load(path)
    ref = keras_reference(X, [(w[0][0][1], w[0][1][1], True), (w[1][0][1], w[1][1][1], True),
                              (w[2][0][1], w[2][1][1], False)])
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12, atol=1e-12)
    assert net.meta["layout"] == "keras_weights" and "assumed relu" in net.meta["activations"]


def test_keras_chunked_layer_names_attribute(tmp_path):
    # Keras splits an attribute above the HDF5 object header limit into layer_names0, layer_names1, ...
    w = [dense_weights("d0", 3, 4, seed=9), dense_weights("d1", 4, 1, seed=10)]
    path = tmp_path / "chunked.h5"
    with h5py.File(path, "w") as f:
        _weight_groups(f, ["d0", "d1"], {"d0": w[0], "d1": w[1]})
        del f.attrs["layer_names"]
        f.attrs["layer_names0"], f.attrs["layer_names1"] = _names_attr(["d0"]), _names_attr(["d1"])
    net = load(path)
    ref = keras_reference(X, [(w[0][0][1], w[0][1][1], True), (w[1][0][1], w[1][1][1], False)])
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12)


@pytest.mark.parametrize("weights,needle", [
    ([("bn/gamma:0", np.ones(4)), ("bn/beta:0", np.ones(4)), ("bn/moving_mean:0", np.ones(4)),
      ("bn/moving_variance:0", np.ones(4))], "not a Dense layer"),
    ([("bn/kernel:0", np.ones((2, 2, 3, 4))), ("bn/bias:0", np.ones(4))], "(2, 2, 3, 4)"),
])
def test_keras_weights_only_rejects_non_dense(tmp_path, weights, needle):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        _weight_groups(f, ["bn", "dense"], {"bn": weights, "dense": dense_weights("dense", 4, 1)})
    with pytest.raises(LipgenError) as e:
        load(path)
    assert "'bn'" in str(e.value) and needle in str(e.value)


# -------------------------------------------------------------------------------- PyTorch state dict

def torch_sequential(widths, seed=0):
    """Weights of torch.nn.Sequential(Linear, ReLU, Linear, ReLU, ..., Linear): keys 0, 2, 4, ..."""
    rng = np.random.default_rng(seed)
    sd = {}
    for k in range(len(widths) - 1):
        sd[f"{2 * k}.weight"] = rng.normal(size=(widths[k + 1], widths[k])).astype(np.float32)
        sd[f"{2 * k}.bias"] = rng.normal(size=widths[k + 1]).astype(np.float32)
    return sd


def write_state_dict(path, sd):
    with h5py.File(path, "w") as f:
        for key, arr in sd.items():
            f.create_dataset(key, data=arr)
    return path


def torch_reference(x, sd, prefixes):
    h = np.asarray(x, dtype=np.float64)
    for i, p in enumerate(prefixes):
        b = sd.get(f"{p}.bias", 0.0)
        h = h @ sd[f"{p}.weight"].astype(np.float64).T + np.asarray(b, dtype=np.float64)
        h = relu(h) if i < len(prefixes) - 1 else h
    return h


@pytest.mark.parametrize("prefix", ["", "model.", "net.layers."])
def test_state_dict_numeric_order_and_prefixes(tmp_path, prefix):
    widths = [3, 4, 3, 4, 3, 4, 3, 2]  # 7 Linear layers: indices 0, 2, ..., 12 (10 and 12 sort before 2 as text)
    sd = {prefix + k: v for k, v in torch_sequential(widths, seed=11).items()}
    net = load(write_state_dict(tmp_path / "sd.h5", sd))
    prefixes = [f"{prefix}{2 * k}" for k in range(7)]
    np.testing.assert_allclose(net.forward(X), torch_reference(X, sd, prefixes), rtol=1e-12, atol=1e-12)
    assert net.meta["layout"] == "state_dict" and net.meta["layer_names"] == prefixes


def test_state_dict_without_bias_and_with_layer_names(tmp_path):
    rng = np.random.default_rng(12)
    sd = {"fc1.weight": rng.normal(size=(5, 3)), "fc1.bias": rng.normal(size=5),
          "out.weight": rng.normal(size=(2, 4)), "hid.weight": rng.normal(size=(4, 5))}  # hid: bias=False
    path = write_state_dict(tmp_path / "named.h5", sd)
    with pytest.raises(LipgenError, match="--layers"):
        load(path)  # names carry no order
    net = load(path, layers=["fc1", "hid", "out"])
    np.testing.assert_allclose(net.forward(X), torch_reference(X, sd, ["fc1", "hid", "out"]), rtol=1e-12)
    assert np.all(net.biases[1] == 0) and np.all(net.biases[2] == 0)
    with pytest.raises(LipgenError, match="'nope'"):
        load(path, layers=["fc1", "nope"])


def test_state_dict_rejects_other_modules(tmp_path):
    sd = torch_sequential([3, 4, 1])
    sd["1.running_mean"] = np.zeros(4)
    with pytest.raises(LipgenError, match="'1.running_mean'.*Linear"):
        load(write_state_dict(tmp_path / "bn.h5", sd))


def test_layers_option_only_for_state_dicts(tmp_path, tiny):
    save(tmp_path / "n.h5", tiny)
    with pytest.raises(LipgenError, match="--layers.*native"):
        load(tmp_path / "n.h5", layers=["0"])


# ------------------------------------------------------------------------------------ native schema

@pytest.fixture
def tiny():
    rng = np.random.default_rng(3)
    return Network([rng.normal(size=(4, 3)), rng.normal(size=(2, 4))], [rng.normal(size=4), rng.normal(size=2)],
                   name="tiny")


def test_native_round_trip_with_domain(tmp_path, tiny):
    path = tmp_path / "file-stem.h5"
    save(path, tiny, domain_lower=[-1, 0, -2], domain_upper=[1, 0.5, 2])
    net = load(path)
    assert net.name == "file-stem"  # save stores no name: the file stem names the network
    assert net.meta["layout"] == "native"
    for a, b in zip(net.weights + net.biases, tiny.weights + tiny.biases):
        assert np.array_equal(a, b)
    assert net.domain_lower.tolist() == [-1, 0, -2] and net.domain_upper.tolist() == [1, 0.5, 2]
    assert net.digest() == tiny.digest()
    save(tmp_path / "again.h5", net)  # the network's own domain is kept
    assert load(tmp_path / "again.h5").domain_upper.tolist() == [1, 0.5, 2]


def test_native_eleven_layers_in_numeric_order(tmp_path):
    rng = np.random.default_rng(5)
    ws = [rng.normal(size=(3, 3)) for _ in range(11)]
    net = Network(ws, [rng.normal(size=3) for _ in range(11)], name="deep")
    path = tmp_path / "deep.h5"
    save(path, net)
    with h5py.File(path) as f:
        assert list(f["layers"].keys())[:3] == ["0", "1", "10"]  # HDF5 lists them as text
    loaded = load(path)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.weights, ws))
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))


def test_native_written_by_hand_with_float32(tmp_path):
    w0, w1 = np.arange(6, dtype=np.float32).reshape(2, 3) / 7, np.ones((1, 2), dtype=np.int32)
    path = tmp_path / "hand.h5"
    with h5py.File(path, "w") as f:
        f.attrs["lipgen_format"], f.attrs["lipgen_format_version"] = "relu-mlp", 1
        f.attrs["name"] = b"hand made  net/v1"
        f["layers/0/weight"], f["layers/0/bias"] = w0, np.array([0.5, -1.0])
        f["layers/1/weight"], f["layers/1/bias"] = w1, np.zeros(1)
    net = load(path)
    assert net.name == "hand_made_net_v1"  # a stored name wins over the file stem, sanitised
    ref = relu(X @ w0.astype(np.float64).T + [0.5, -1.0]) @ w1.T
    np.testing.assert_allclose(net.forward(X), ref, rtol=1e-12)
    assert all(a.dtype == np.float64 and a.flags["C_CONTIGUOUS"] for a in net.weights)


def test_save_is_deterministic(tmp_path, tiny):
    save(tmp_path / "a.h5", tiny, domain_lower=np.zeros(3), domain_upper=np.ones(3))
    time.sleep(1.05)  # HDF5 timestamps have a resolution of one second
    save(tmp_path / "b.h5", tiny, domain_lower=np.zeros(3), domain_upper=np.ones(3))
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_save_is_atomic(tmp_path, tiny):
    path = tmp_path / "net.h5"
    save(path, tiny)
    before = path.read_bytes()
    bad = Network([np.ones((2, 3)), np.ones((1, 4))], [np.ones(2), np.ones(1)])
    with pytest.raises(LipgenError, match="shape mismatch"):
        save(path, bad)
    assert path.read_bytes() == before
    (tmp_path / "dir.h5").mkdir()
    (tmp_path / "dir.h5" / "x").write_text("x")
    with pytest.raises(LipgenError, match="cannot write"):
        save(tmp_path / "dir.h5", tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.h5", "net.h5"]  # no temp file left


def test_sanitize_name():
    assert sanitize_name("my net__v2!!") == "my_net_v2"
    assert sanitize_name("a" * 80) == "a" * 60
    assert sanitize_name("résumé.model-1") == "r_sum_.model-1"
    assert "__" not in sanitize_name("x" * 59 + "__y")
    assert sanitize_name("___") == "net"
    assert sanitize_name("ok-1.2_a") == "ok-1.2_a"


# ----------------------------------------------------------------------------------------- bad input

def _native(path, layers, domain=None, **attrs):
    with h5py.File(path, "w") as f:
        f.attrs["lipgen_format"] = attrs.get("fmt", "relu-mlp")
        f.attrs["lipgen_format_version"] = attrs.get("version", 1)
        for k, (w, b) in layers.items():
            f[f"layers/{k}/weight"] = w
            if b is not None:
                f[f"layers/{k}/bias"] = b
        if domain is not None:
            f["domain/lower"], f["domain/upper"] = domain
    return path


GOOD = {"0": (np.ones((3, 2)), np.ones(3)), "1": (np.ones((1, 3)), np.ones(1))}

BAD = {
    "no layers": (lambda p: _native(p, {}), ["no layers"]),
    "shape mismatch": (lambda p: _native(p, {"0": (np.ones((3, 2)), np.ones(3)), "1": (np.ones((1, 4)), np.ones(1))}),
                       ["shape mismatch", "layer 1", "(1, 4)", "(3, 2)"]),
    "bias mismatch": (lambda p: _native(p, {"0": (np.ones((3, 2)), np.ones(2)), "1": GOOD["1"]}),
                      ["bias", "layer 0", "(2,)", "3 rows"]),
    "nan": (lambda p: _native(p, {"0": (np.array([[np.nan, 1.0]] * 3), np.ones(3)), "1": GOOD["1"]}),
            ["layer 0", "NaN"]),
    "inf": (lambda p: _native(p, {"0": GOOD["0"], "1": (np.ones((1, 3)), np.array([np.inf]))}),
            ["layer 1", "bias", "Inf"]),
    "strings": (lambda p: _native(p, {"0": (np.array([[b"a", b"b"]] * 3), np.ones(3)), "1": GOOD["1"]}),
                ["/layers/0/weight", "non-numeric"]),
    "empty": (lambda p: _native(p, {"0": (np.ones((0, 2)), np.ones(0)), "1": (np.ones((1, 0)), np.ones(1))}),
              ["empty", "layer 0", "(0, 2)"]),
    "gap": (lambda p: _native(p, {"0": GOOD["0"], "2": GOOD["1"]}), ["gap", "/layers/1"]),
    "not numbered": (lambda p: _native(p, {"0": GOOD["0"], "first": GOOD["1"]}), ["/layers/first"]),
    "no bias": (lambda p: _native(p, {"0": (GOOD["0"][0], None), "1": GOOD["1"]}), ["/layers/0", "bias"]),
    "vector weight": (lambda p: _native(p, {"0": (np.ones(3), np.ones(3)), "1": GOOD["1"]}), ["2-D", "(3,)"]),
    "domain dimension": (lambda p: _native(p, GOOD, domain=(np.zeros(3), np.ones(3))), ["dimension", "2 inputs"]),
    "domain order": (lambda p: _native(p, GOOD, domain=(np.array([0.0, 0.5]), np.array([1.0, 0.2]))),
                     ["lower > upper", "input 1", "0.5 > 0.2"]),
    "format": (lambda p: _native(p, GOOD, fmt="cnn"), ["lipgen_format", "'cnn'"]),
    "version": (lambda p: _native(p, GOOD, version=7), ["lipgen_format_version", "7"]),
    "not hdf5": (lambda p: p.write_text("hello"), ["not an HDF5 file"]),
    "empty hdf5": (lambda p: h5py.File(p, "w").close(), ["no layers", "empty"]),
    "unknown layout": (lambda p: write_state_dict(p, {"foo": np.ones(3)}),
                       ["unknown layout", "foo", "native", "Keras", "state dict"]),
    "missing": (lambda p: None, ["no such file"]),
    "directory": (lambda p: p.mkdir(), ["directory"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_weights_files(tmp_path, case):
    make, needles = BAD[case]
    path = tmp_path / "bad.h5"
    make(path)
    with pytest.raises(LipgenError) as e:
        load(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for needle in needles:
        assert needle in msg, msg


def test_unreadable_file(tmp_path):
    path = _native(tmp_path / "locked.h5", GOOD)
    path.chmod(0)
    code = f"from lipgen.io import load\ntry:\n    load({str(path)!r})\nexcept Exception as e:\n    print(e)"
    kw = {}
    if os.geteuid() == 0:  # root reads anything: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH in the child
        libc = ctypes.CDLL(None, use_errno=True)

        def drop():
            for cap in (1, 2):
                if libc.prctl(24, cap, 0, 0, 0):  # PR_CAPBSET_DROP
                    raise OSError(ctypes.get_errno(), "prctl")
        kw["preexec_fn"] = drop
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, **kw)
    assert r.stdout.strip() == f"{path}: cannot read the weights file (permission denied)", (r.stdout, r.stderr)


def test_validate_network_objects():
    ok = Network([np.ones((2, 2)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], name="n")
    validate(ok)
    with pytest.raises(LipgenError, match="no layers"):
        validate(Network([], [], name="n"))
    with pytest.raises(LipgenError, match="non-numeric"):
        validate(Network([np.array([["a", "b"]]), np.ones((1, 1))], [np.zeros(1), np.zeros(1)]))
    bad_domain = Network(ok.weights, ok.biases, domain_lower=np.zeros(2), domain_upper=np.array([1.0, np.nan]))
    with pytest.raises(LipgenError, match="stored domain upper has NaN"):
        validate(bad_domain)


def test_other_formats_are_dispatched(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x00not a model")
    with pytest.raises(LipgenError) as e:  # either 'not supported yet' or the importer's own parse error
        load(path)
    assert "HDF5" not in str(e.value) and "\n" not in str(e.value)
