"""lipgen.importers on real ONNX, PyTorch and safetensors files built with each library.

References are independent: onnxruntime runs the ONNX graphs, torch runs the modules.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
# optional libraries: without them these tests are skipped, not a collection error
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
safetensors = pytest.importorskip("safetensors")
pytest.importorskip("safetensors.numpy")
pytest.importorskip("safetensors.torch")
onnx = pytest.importorskip("onnx")
from onnx import helper, numpy_helper  # noqa: E402

from helpers.onnx_models import RNG, dense, gemm_chain, save_onnx

from lipgen.errors import LipgenError
from lipgen.io import convert, load_foreign
from lipgen.io import load





def relu(z):
    return np.maximum(z, 0.0)


# ----------------------------------------------------------------------------------------------- ONNX



def run_ort(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]




def assert_matches_ort(path, n_in, x_shape=None):
    net = load_foreign(path)
    x = RNG.uniform(-2, 2, size=(50, n_in))
    ref = run_ort(path, x.reshape(x_shape) if x_shape else x)
    assert net.forward(x).shape == ref.shape
    assert np.max(np.abs(net.forward(x) - ref)) < 1e-6
    return net


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 2.0)])
def test_onnx_gemm_chain(tmp_path, trans_b, alpha, beta):
    nodes, inits = gemm_chain([3, 5, 4, 2], trans_b, alpha, beta)
    path = save_onnx(tmp_path / "gemm.onnx", nodes, inits, ["N", 3], ["N", 2])
    net = assert_matches_ort(path, 3)
    assert net.widths == [3, 5, 4, 2]
    assert all(w.dtype == np.float64 and w.flags.c_contiguous for w in net.weights)
    assert net.meta["layer_names"] == ["gemm0", "gemm1", "gemm2"]
    assert net.meta["onnx_opset"] == 17


def test_onnx_matmul_add_either_order(tmp_path):
    (w0, b0), (w1, b1), (w2, b2) = dense(4, 6), dense(6, 3), dense(3, 2)
    inits = {"W0": w0.T, "B0": b0, "W1": w1.T, "B1": b1, "W2": w2.T, "B2": b2.reshape(1, 2)}
    nodes = [helper.make_node("MatMul", ["x", "W0"], ["m0"], name="mm0"),
             helper.make_node("Add", ["m0", "B0"], ["a0"], name="add0"),
             helper.make_node("Relu", ["a0"], ["r0"]),
             helper.make_node("MatMul", ["r0", "W1"], ["m1"], name="mm1"),
             helper.make_node("Add", ["B1", "m1"], ["a1"], name="add1"),  # bias first
             helper.make_node("Relu", ["a1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "W2"], ["m2"], name="mm2"),
             helper.make_node("Add", ["m2", "B2"], ["y"], name="add2")]
    path = save_onnx(tmp_path / "mm.onnx", nodes, inits, ["N", 4], ["N", 2])
    net = assert_matches_ort(path, 4)
    np.testing.assert_array_equal(net.weights[1], w1)
    np.testing.assert_array_equal(net.biases[2], b2)
    assert net.meta["layer_names"] == ["mm0+add0", "mm1+add1", "mm2+add2"]


def test_onnx_flatten_identity_and_constant_weights(tmp_path):
    (w0, b0), (w1, b1) = dense(6, 4), dense(4, 2)
    nodes = [helper.make_node("Identity", ["x"], ["xi"]),
             helper.make_node("Flatten", ["xi"], ["f"], name="flat", axis=1),
             helper.make_node("Constant", [], ["W0"], value=numpy_helper.from_array(w0, "W0")),
             helper.make_node("Gemm", ["f", "W0", "C0"], ["h"], name="g0", transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W1", "C1"], ["y"], name="g1", transB=0)]
    path = save_onnx(tmp_path / "flat.onnx", nodes, {"C0": b0, "W1": w1.T, "C1": b1}, ["N", 1, 2, 3], ["N", 2])
    net = assert_matches_ort(path, 6, x_shape=(50, 1, 2, 3))
    assert net.widths == [6, 4, 2]


def test_onnx_reshape_at_input_and_consecutive_affine_layers_composed(tmp_path):
    (w0, b0), (w1, b1), (w2, b2) = dense(6, 5), dense(5, 3), dense(3, 2)
    nodes = [helper.make_node("Constant", [], ["shape"], value_ints=[-1, 6]),
             helper.make_node("Reshape", ["x", "shape"], ["f"], name="reshape"),
             helper.make_node("Gemm", ["f", "W0", "C0"], ["h"], name="g0", transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W1", "C1"], ["l"], name="g1", transB=1),
             helper.make_node("Gemm", ["l", "W2", "C2"], ["y"], name="g2", transB=1)]  # no Relu: one linear map
    inits = {"W0": w0, "C0": b0, "W1": w1, "C1": b1, "W2": w2, "C2": b2}
    path = save_onnx(tmp_path / "reshape.onnx", nodes, inits, ["N", 2, 3], ["N", 2])
    net = assert_matches_ort(path, 6, x_shape=(50, 2, 3))
    assert net.widths == [6, 5, 2]
    np.testing.assert_allclose(net.weights[1], w2 @ w1, rtol=1e-12)


def test_onnx_exported_by_torch(tmp_path):
    torch.manual_seed(8)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    with warnings.catch_warnings():  # the TorchScript-based exporter is deprecated but still what most use
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 2, 3),), str(tmp_path / "exported.onnx"), dynamo=False)
    net = load_foreign(tmp_path / "exported.onnx")
    x = RNG.uniform(-2, 2, size=(50, 2, 3))
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(x)).numpy()
    assert net.widths == [6, 5, 2]
    assert np.max(np.abs(net.forward(x.reshape(50, 6)) - ref)) < 1e-6


def test_onnx_meta_and_name(tmp_path):
    nodes, inits = gemm_chain([2, 3, 1], 1)
    path = save_onnx(tmp_path / "my model (v2).onnx", nodes, inits, ["N", 2], ["N", 1])
    net = load_foreign(path)
    assert net.name == "my_model_v2"
    assert net.meta["layout"] == "onnx" and net.meta["source"] == str(path)
    assert net.meta["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert net.meta["onnx_producer"] == "lipgen-test"


def _refused(path, *needles):
    with pytest.raises(LipgenError) as e:
        load_foreign(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_onnx_refuses_conv(tmp_path):
    w, b = dense(8, 2)
    nodes = [helper.make_node("Conv", ["x", "K"], ["c"], name="conv1"),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "C"], ["y"], transB=1)]
    path = save_onnx(tmp_path / "conv.onnx", nodes, {"K": RNG.normal(size=(2, 1, 3, 3)), "W": w, "C": b},
                     ["N", 1, 4, 4], ["N", 2])
    _refused(path, "'conv1' (Conv)")


def test_onnx_refuses_sigmoid(tmp_path):
    nodes, inits = gemm_chain([3, 4, 2], 1)
    nodes[1] = helper.make_node("Sigmoid", ["h0"], ["r0"], name="act1")
    path = save_onnx(tmp_path / "sig.onnx", nodes, inits, ["N", 3], ["N", 2])
    _refused(path, "'act1' (Sigmoid)")


def test_onnx_refuses_skip_connection(tmp_path):
    (w0, b0), (w1, b1), (w2, b2) = dense(3, 4), dense(4, 4), dense(4, 2)
    nodes = [helper.make_node("Gemm", ["x", "W0", "C0"], ["h0"], name="g0", transB=1),
             helper.make_node("Relu", ["h0"], ["r0"], name="relu0"),
             helper.make_node("Gemm", ["r0", "W1", "C1"], ["h1"], name="g1", transB=1),
             helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
             helper.make_node("Add", ["r0", "r1"], ["s"], name="skip"),
             helper.make_node("Gemm", ["s", "W2", "C2"], ["y"], name="g2", transB=1)]
    inits = {"W0": w0, "C0": b0, "W1": w1, "C1": b1, "W2": w2, "C2": b2}
    path = save_onnx(tmp_path / "skip.onnx", nodes, inits, ["N", 3], ["N", 2])
    _refused(path, "'skip' (Add)", "branching")


def test_onnx_refuses_normalisation_and_trailing_relu_and_trans_a(tmp_path):
    nodes, inits = gemm_chain([3, 4, 2], 1)
    nodes[0].input[0] = "xn"
    norm = helper.make_node("Sub", ["x", "mean"], ["xn"], name="norm")
    path = save_onnx(tmp_path / "norm.onnx", [norm] + nodes, {**inits, "mean": np.ones(3)}, ["N", 3], ["N", 2])
    _refused(path, "'norm' (Sub)")

    nodes, inits = gemm_chain([3, 4, 2], 1, last_relu=True)
    path = save_onnx(tmp_path / "tail.onnx", nodes, inits, ["N", 3], ["N", 2])
    _refused(path, "last layer must be linear")

    nodes, inits = gemm_chain([3, 4, 2], 1)
    nodes[0] = helper.make_node("Gemm", ["x", "W0", "C0"], ["h0"], name="gt", transA=1, transB=1)
    path = save_onnx(tmp_path / "ta.onnx", nodes, inits, [3, "N"], ["N", 2])
    _refused(path, "'gt' (Gemm)", "transA")


def test_onnx_refuses_two_inputs_layers_option_and_garbage(tmp_path):
    nodes, inits = gemm_chain([3, 2], 1)
    path = save_onnx(tmp_path / "two.onnx", nodes, inits, ["N", 3], ["N", 2], extra_inputs=[("z", ["N", 3])])
    _refused(path, "2 inputs")

    nodes, inits = gemm_chain([3, 2], 1)
    path = save_onnx(tmp_path / "ok.onnx", nodes, inits, ["N", 3], ["N", 2])
    with pytest.raises(LipgenError, match="--layers applies only"):
        load_foreign(path, layers=["a"])

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\xffnot a model")
    _refused(bad, "not a readable ONNX model")
    _refused(tmp_path / "missing.onnx", "no such file")


# ---------------------------------------------------------------------------------------------- torch

class FC(torch.nn.Module):
    """fc1, fc2, fc10 registered out of forward order; fc2 and fc10 have the same shape."""

    def __init__(self):
        super().__init__()
        self.fc10 = torch.nn.Linear(4, 4)
        self.fc1 = torch.nn.Linear(3, 4)
        self.fc2 = torch.nn.Linear(4, 4)
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc10(torch.relu(self.fc2(torch.relu(self.fc1(x)))))))


class Named(torch.nn.Module):
    """input, hidden, out: names without numbers, so only shapes can order them."""

    def __init__(self, widths):
        super().__init__()
        self.out = torch.nn.Linear(widths[2], widths[3])
        self.input = torch.nn.Linear(widths[0], widths[1])
        self.hidden = torch.nn.Linear(widths[1], widths[2])

    def forward(self, x):
        return self.out(torch.relu(self.hidden(torch.relu(self.input(x)))))


def assert_matches_torch(net, module, n_in):
    x = RNG.uniform(-2, 2, size=(50, n_in))
    with torch.no_grad():
        ref = module.double()(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(net.forward(x) - ref)) < 1e-6


def sequential():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU(),
                               torch.nn.Linear(4, 2))


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_torch_sequential(tmp_path, suffix):
    model = sequential()
    path = tmp_path / f"seq{suffix}"
    torch.save(model.state_dict(), path)
    net = load_foreign(path)
    assert net.widths == [3, 5, 4, 2] and net.meta["layer_names"] == ["0", "2", "4"]
    assert net.meta["layout"] == "torch" and net.name == "seq"
    assert_matches_torch(net, model, 3)


def test_torch_fc_numbered_in_numeric_order(tmp_path):
    torch.manual_seed(1)
    model = FC()
    torch.save(model.state_dict(), tmp_path / "fc.pt")
    net = load_foreign(tmp_path / "fc.pt")
    assert net.meta["layer_names"] == ["fc1", "fc2", "fc10", "out"]  # not fc1, fc10, fc2
    assert_matches_torch(net, model, 3)


def test_torch_checkpoint_with_prefix_and_no_bias(tmp_path):
    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, 5, bias=False), torch.nn.ReLU(), torch.nn.Linear(5, 2))

        def forward(self, x):
            return self.net(x)

    torch.manual_seed(2)
    model = Wrapper()
    torch.save({"epoch": 7, "model_state_dict": model.state_dict(), "optimizer": {"lr": 0.1}}, tmp_path / "ck.pt")
    net = load_foreign(tmp_path / "ck.pt")
    assert net.meta["layer_names"] == ["net.0", "net.2"]
    np.testing.assert_array_equal(net.biases[0], np.zeros(5))
    assert_matches_torch(net, model, 3)


def test_torch_order_from_unique_shape_chain(tmp_path):
    torch.manual_seed(3)
    model = Named([3, 5, 4, 2])
    torch.save(model.state_dict(), tmp_path / "named.pt")
    net = load_foreign(tmp_path / "named.pt")
    assert net.meta["layer_names"] == ["input", "hidden", "out"]
    assert_matches_torch(net, model, 3)


def test_torch_ambiguous_order_needs_layers(tmp_path):
    torch.manual_seed(4)
    model = Named([3, 4, 4, 4])
    path = tmp_path / "amb.pt"
    torch.save(model.state_dict(), path)
    msg = _refused(path, "--layers", "out (4->4)", "input (3->4)", "hidden (4->4)")
    assert "forward order" in msg
    net = load_foreign(path, layers=["input", "hidden", "out"])
    assert_matches_torch(net, model, 3)
    net = load_foreign(path, layers=["input.weight", "out", "hidden"])  # a different (user-chosen) order
    assert net.meta["layer_names"] == ["input", "out", "hidden"]
    with pytest.raises(LipgenError, match="'middle', which is not a Linear layer.*found: out"):
        load_foreign(path, layers=["input", "middle", "out"])
    with pytest.raises(LipgenError, match="'input' twice"):
        load_foreign(path, layers=["input", "input", "out"])


def test_torch_layers_that_do_not_chain(tmp_path):
    torch.save({"fc1.weight": torch.ones(4, 3), "fc2.weight": torch.ones(2, 5)}, tmp_path / "gap.pt")
    _refused(tmp_path / "gap.pt", "do not chain", "fc1 (3->4)", "fc2 (5->2)")


def test_torch_refuses_batchnorm_and_conv(tmp_path):
    bn = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    torch.save(bn.state_dict(), tmp_path / "bn.pt")
    _refused(tmp_path / "bn.pt", "'1.weight'", "BatchNorm")
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    torch.save(conv.state_dict(), tmp_path / "conv.pt")
    _refused(tmp_path / "conv.pt", "'0.weight'", "(2, 1, 3, 3)", "convolution")


def test_torch_refuses_pickled_module_torchscript_and_garbage(tmp_path):
    model = sequential()
    torch.save(model, tmp_path / "full.pt")
    _refused(tmp_path / "full.pt", "save model.state_dict() instead")
    with warnings.catch_warnings():  # torch.jit is deprecated, but such archives are still around
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), tmp_path / "script.pt")
    _refused(tmp_path / "script.pt", "TorchScript", "save model.state_dict() instead")
    torch.save(torch.ones(3), tmp_path / "tensor.pt")
    _refused(tmp_path / "tensor.pt", "holds a Tensor, not a state dict")
    (tmp_path / "junk.pth").write_bytes(b"junk" * 10)
    _refused(tmp_path / "junk.pth", "not a readable PyTorch checkpoint")


# ---------------------------------------------------------------------------------------- safetensors

def test_safetensors_from_numpy(tmp_path):
    layers = [dense(3, 6), dense(6, 4), dense(4, 2)]
    tensors = {}
    for k, (w, b) in enumerate(layers):
        tensors[f"model.{2 * k}.weight"], tensors[f"model.{2 * k}.bias"] = w, b
    path = tmp_path / "np.safetensors"
    safetensors.numpy.save_file(tensors, str(path))
    net = load_foreign(path)
    assert net.meta["layout"] == "safetensors" and net.meta["layer_names"] == ["model.0", "model.2", "model.4"]
    x = RNG.uniform(-2, 2, size=(50, 3))
    ref = relu(relu(x @ layers[0][0].T + layers[0][1]) @ layers[1][0].T + layers[1][1]) @ layers[2][0].T
    assert np.max(np.abs(net.forward(x) - (ref + layers[2][1]))) < 1e-12


def test_safetensors_from_torch_state_dicts(tmp_path):
    torch.manual_seed(5)
    model = FC()
    safetensors.torch.save_file(model.state_dict(), str(tmp_path / "fc.safetensors"))
    assert_matches_torch(load_foreign(tmp_path / "fc.safetensors"), model, 3)

    half = sequential().to(torch.bfloat16)  # numpy has no bfloat16: read through torch
    safetensors.torch.save_file(half.state_dict(), str(tmp_path / "bf16.safetensors"))
    net = load_foreign(tmp_path / "bf16.safetensors")
    np.testing.assert_array_equal(net.weights[1], half[2].weight.detach().to(torch.float64).numpy())


def test_safetensors_refusals(tmp_path):
    bn = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    safetensors.torch.save_file(bn.state_dict(), str(tmp_path / "bn.safetensors"))
    _refused(tmp_path / "bn.safetensors", "'1.", "BatchNorm")
    safetensors.numpy.save_file({"a.weight": np.ones((2, 2)), "b.bias": np.ones(2)}, str(tmp_path / "b.safetensors"))
    _refused(tmp_path / "b.safetensors", "'b.bias' has no matching 2-D weight")
    (tmp_path / "junk.safetensors").write_bytes(b"12345678garbage")
    _refused(tmp_path / "junk.safetensors", "not a readable safetensors file")


# -------------------------------------------------------------------------------------------- convert

def test_convert_writes_native_file_read_back_identically(tmp_path):
    nodes, inits = gemm_chain([3, 5, 2], 0, alpha=0.25)
    src = save_onnx(tmp_path / "model.onnx", nodes, inits, ["N", 3], ["N", 2])
    dst = tmp_path / "out" / "net.h5"
    net = convert(src, dst, domain_lower=-1.0, domain_upper=[1.0, 2.0, 3.0])
    back = load(dst)
    assert back.meta["layout"] == "native" and back.name == "net"
    assert back.digest() == net.digest() == load_foreign(src).digest()
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.domain_lower, [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(back.domain_upper, [1.0, 2.0, 3.0])
    assert [p.name for p in dst.parent.iterdir()] == ["net.h5"]  # no temp file left behind


def test_convert_state_dict_with_layers_and_weights_load_dispatch(tmp_path):
    torch.manual_seed(6)
    model = Named([3, 4, 4, 4])
    torch.save(model.state_dict(), tmp_path / "amb.pt")
    net = convert(tmp_path / "amb.pt", tmp_path / "amb.h5", layers=["input", "hidden", "out"])
    assert_matches_torch(load(tmp_path / "amb.h5"), model, 3)
    assert load(tmp_path / "amb.pt", layers=["input", "hidden", "out"]).digest() == net.digest()
    with pytest.raises(LipgenError, match="give it an .h5 suffix"):
        convert(tmp_path / "amb.pt", tmp_path / "x.onnx", layers=["input", "hidden", "out"])
    with pytest.raises(LipgenError, match="domain upper has shape"):
        convert(tmp_path / "amb.pt", tmp_path / "d.h5", layers=["input", "hidden", "out"], domain_lower=0.0,
                domain_upper=[1.0, 1.0])
    assert not (tmp_path / "d.h5").exists()
