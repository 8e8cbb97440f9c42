"""ONNX graphs built node by node with onnx.helper, for the importer tests."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")  # optional: the tests that build ONNX graphs are skipped without it
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(11)  # one stream for the importer tests and the graphs built here
DOUBLE = TensorProto.DOUBLE


def dense(n_in, n_out):
    return RNG.normal(size=(n_out, n_in)), RNG.normal(size=n_out)


def save_onnx(path, nodes, inits, in_shape, out_shape, extra_inputs=()):
    """Write a double-precision graph x -> y after onnx.checker accepts it."""
    inputs = [helper.make_tensor_value_info("x", DOUBLE, in_shape)]
    inputs += [helper.make_tensor_value_info(n, DOUBLE, s) for n, s in extra_inputs]
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", DOUBLE, out_shape)],
                              initializer=[numpy_helper.from_array(np.asarray(a), name) for name, a in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lipgen-test")
    model.ir_version = 8  # one onnxruntime reads
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def gemm_chain(dims, trans_b, alpha=1.0, beta=1.0, last_relu=False):
    """Gemm, Relu, Gemm, Relu, ..., Gemm over widths `dims`."""
    nodes, inits, cur = [], {}, "x"
    for k in range(len(dims) - 1):
        w, b = dense(dims[k], dims[k + 1])
        inits[f"W{k}"], inits[f"C{k}"] = (w if trans_b else w.T), b
        out = "y" if k == len(dims) - 2 and not last_relu else f"h{k}"
        nodes.append(helper.make_node("Gemm", ["x" if k == 0 else cur, f"W{k}", f"C{k}"], [out], name=f"gemm{k}",
                                      alpha=alpha, beta=beta, transB=trans_b))
        cur = out
        if k < len(dims) - 2 or last_relu:
            cur = "y" if k == len(dims) - 2 else f"r{k}"
            nodes.append(helper.make_node("Relu", [out], [cur], name=f"relu{k}"))
    return nodes, inits
