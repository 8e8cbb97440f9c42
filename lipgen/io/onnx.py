"""ONNX graphs that are a chain of affine maps (Gemm, or MatMul + Add) with Relu between them.

The graph is walked from its single input, each tensor feeding exactly one node, to its single output;
the first node that does not fit is refused by name. Consecutive affine nodes with no Relu between them
are composed into one layer (the same function).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import LipgenError
from .common import Imported, first_line, require

_STD_DOMAINS = ("", "ai.onnx")
_SUPPORTED = ("only Gemm, MatMul, Add (a bias), Relu, Identity, and Flatten/Reshape before the first layer are "
              "supported")


def read(path: Path, src: str, layers: list[str] | None) -> Imported:
    onnx = require("onnx", src, "onnx")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf DecodeError, missing external data file, ...
        raise LipgenError(f"{src}: not a readable ONNX model ({first_line(e)})") from None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise LipgenError(f"{src}: invalid ONNX model ({first_line(e)})") from None
    found = _Chain(model.graph, src, onnx).walk()
    opset = next((o.version for o in model.opset_import if o.domain in _STD_DOMAINS), None)
    found.meta.update({"onnx_opset": opset, "onnx_producer": f"{model.producer_name} {model.producer_version}".strip()})
    return found


def _what(node) -> str:
    return f"node {node.name or '(unnamed)'!r} ({node.op_type})"


class _Chain:
    """One walk over a graph: the constants, who consumes each tensor, and the layers found so far."""

    def __init__(self, graph, src: str, onnx):
        self.src, self.onnx = src, onnx
        self.consts: dict[str, np.ndarray] = {}
        for t in graph.initializer:
            self.consts[t.name] = self._numeric(onnx.numpy_helper.to_array(t), f"initializer {t.name!r}")
        self.nodes = []
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in _STD_DOMAINS:
                self.consts[node.output[0]] = self._constant(node)
            else:
                self.nodes.append(node)
        self.consumers = defaultdict(list)
        for node in self.nodes:
            for name in dict.fromkeys(node.input):  # a node reading a tensor twice is still one consumer
                if name and name not in self.consts:
                    self.consumers[name].append(node)
        inputs = [i for i in graph.input if i.name not in self.consts]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise LipgenError(f"{src}: the graph has {len(inputs)} inputs and {len(graph.output)} outputs: only a "
                              f"chain with one input and one output is supported")
        self.input, self.output = inputs[0], graph.output[0].name
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.labels: list[str] = []
        self.pending: tuple[np.ndarray, np.ndarray, str] | None = None  # the affine map since the last Relu
        self.flattened = False
        self.reshape_n: int | None = None  # n of a Reshape to (batch, n)
        self.after_relu = False

    def _numeric(self, a: np.ndarray, what: str) -> np.ndarray:
        if a.dtype.kind not in "iufb":
            raise LipgenError(f"{self.src}: {what} has non-numeric dtype {a.dtype}")
        return a.astype(np.float64)

    def _constant(self, node) -> np.ndarray:
        attrs = {a.name: a for a in node.attribute}
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                value = self.onnx.helper.get_attribute_value(attrs[key])
                if key == "value":
                    value = self.onnx.numpy_helper.to_array(value)
                return self._numeric(np.asarray(value), _what(node))
        raise LipgenError(f"{self.src}: {_what(node)} has no numeric value attribute (sparse or string constants "
                          f"are not supported)")

    def _refuse(self, node, why: str):
        raise LipgenError(f"{self.src}: {_what(node)} {why}")

    # ------------------------------------------------------------------------------------------ walk

    def walk(self) -> Imported:
        cur, visited = self.input.name, set()
        while cur != self.output:
            users = self.consumers.get(cur, [])
            if not users:
                raise LipgenError(f"{self.src}: tensor {cur!r} feeds no node and is not the graph output")
            if len(users) > 1:
                names = ", ".join(f"{u.name or '(unnamed)'!r} ({u.op_type})" for u in users)
                raise LipgenError(f"{self.src}: tensor {cur!r} feeds several nodes ({names}): branching graphs "
                                  f"(skip connections) are not supported")
            node = users[0]
            visited.add(id(node))
            self._apply(node, cur)
            extra = [o for o in node.output[1:] if o and (o in self.consumers or o == self.output)]
            if extra:
                self._refuse(node, f"has a second output {extra[0]!r} in use: only single-output nodes are "
                                   f"supported")
            cur = node.output[0]
        if self.consumers.get(cur):
            names = ", ".join(f"{u.name or '(unnamed)'!r} ({u.op_type})" for u in self.consumers[cur])
            raise LipgenError(f"{self.src}: the graph output {cur!r} also feeds {names}: branching graphs are not "
                              f"supported")
        stray = next((n for n in self.nodes if id(n) not in visited), None)
        if stray is not None:
            self._refuse(stray, "is not on the chain from the graph input to its output")
        if self.pending is None:
            if not self.weights:
                raise LipgenError(f"{self.src}: no layers (the graph has no Gemm or MatMul node)")
            raise LipgenError(f"{self.src}: the output comes out of a Relu ({self.labels[-1]!r} is followed by "
                              f"one): the last layer must be linear, not ReLU")
        self._close()
        return Imported(self.weights, self.biases, self.labels)

    def _apply(self, node, cur: str) -> None:
        op = node.op_type
        if node.domain not in _STD_DOMAINS:
            self._refuse(node, f"from operator domain {node.domain!r} is not supported: {_SUPPORTED}")
        if op in ("Identity", "Flatten", "Reshape", "Relu") and node.input[0] != cur:
            self._refuse(node, f"reads the layer output {cur!r} as a parameter, not as its data input")
        if op == "Identity":
            return
        if op in ("Flatten", "Reshape"):
            return self._flatten(node)
        if op == "Relu":
            if self.pending is None and not self.after_relu:
                self._refuse(node, "does not follow a linear layer (Gemm or MatMul)")
            if self.pending is not None:  # relu(relu(z)) = relu(z): a second Relu changes nothing
                self._close()
            self.after_relu = True
            return
        if op == "Gemm":
            return self._gemm(node, cur)
        if op == "MatMul":
            if list(node.input).index(cur) != 0 or node.input[1] not in self.consts:
                self._refuse(node, "is supported only as x @ W with a constant weight W of shape (n_in, n_out)")
            w = self.consts[node.input[1]]
            if w.ndim != 2:
                self._refuse(node, f"has a weight of shape {w.shape}: expected a 2-D (n_in, n_out) matrix")
            return self._compose(node, w.T, np.zeros(w.shape[1]))
        if op == "Add":
            other = [i for i in node.input if i != cur]
            if len(other) != 1 or other[0] not in self.consts:
                self._refuse(node, "adds two computed tensors (a skip connection): only a constant bias after "
                                   "Gemm or MatMul is supported")
            if self.pending is None:
                self._refuse(node, "adds a constant that does not follow a Gemm or MatMul (input normalisation "
                                   "is not supported)")
            w, b, label = self.pending
            bias = b + self._bias(node, self.consts[other[0]], w.shape[0])
            self.pending = (w, bias, f"{label}+{node.name or node.op_type}")
            return
        self._refuse(node, f"is not supported: {_SUPPORTED}")

    def _flatten(self, node) -> None:
        if self.weights or self.pending is not None:
            self._refuse(node, "after a linear layer is not supported (only before the first layer)")
        if node.op_type == "Flatten":
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            if axis != 1:
                self._refuse(node, f"has axis={axis}: only axis=1 (keep the batch dimension) is supported")
        else:
            shape = self.consts.get(node.input[1]) if len(node.input) > 1 else None
            # the first entry must keep the batch (or be 1, the batch of one) and the second be n or -1
            if (shape is None or shape.shape != (2,) or shape[0] not in (-1, 0, 1) or shape[1] == 0
                    or shape[1] < -1 or (shape[0] == -1 and shape[1] == -1)):
                self._refuse(node, "is supported only as a reshape to (batch, n) with a constant shape such as "
                                   "[-1, n] or [0, -1]")
            self.reshape_n = int(shape[1]) if shape[1] > 0 else None
        self.flattened = True

    def _gemm(self, node, cur: str) -> None:
        attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0):
            self._refuse(node, "has transA=1: only transA=0 (x as the first operand) is supported")
        if node.input[0] != cur or node.input[1] not in self.consts:
            self._refuse(node, "is supported only with the layer input as A and a constant weight B")
        b = self.consts[node.input[1]]
        if b.ndim != 2:
            self._refuse(node, f"has a weight B of shape {b.shape}: expected a 2-D matrix")
        w = float(attrs.get("alpha", 1.0)) * (b if attrs.get("transB", 0) else b.T)
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in self.consts:
                self._refuse(node, "has a computed C: only a constant bias is supported")
            bias = float(attrs.get("beta", 1.0)) * self._bias(node, self.consts[node.input[2]], w.shape[0])
        self._compose(node, w, bias)

    def _bias(self, node, c: np.ndarray, n_out: int) -> np.ndarray:
        """A constant added to (batch, n_out) as one value per output, if it broadcasts like one."""
        if c.size == 1:
            return np.full(n_out, float(c.reshape(-1)[0]))
        if c.ndim >= 1 and c.shape[-1] == n_out and c.size == n_out:
            return c.reshape(n_out)
        self._refuse(node, f"adds a constant of shape {c.shape}, not one bias per output ({n_out})")

    def _compose(self, node, w: np.ndarray, b: np.ndarray) -> None:
        """Apply z -> w z + b after the pending affine map (or start one)."""
        if self.pending is None:
            self._check_input(node, w.shape[1])
            self.pending = (w, b, node.name or node.op_type)
            return
        w0, b0, label = self.pending
        if w.shape[1] != w0.shape[0]:
            self._refuse(node, f"takes {w.shape[1]} inputs but the previous layer gives {w0.shape[0]}")
        self.pending = (w @ w0, w @ b0 + b, f"{label}+{node.name or node.op_type}")

    def _check_input(self, node, n_in: int) -> None:
        if self.weights:
            if n_in != self.weights[-1].shape[0]:
                self._refuse(node, f"takes {n_in} inputs but the previous layer gives {self.weights[-1].shape[0]}")
            return
        if self.reshape_n is not None and self.reshape_n != n_in:
            self._refuse(node, f"takes {n_in} inputs but the input is reshaped to {self.reshape_n} features")
        dims = self._input_dims()
        if dims is None:
            return
        if len(dims) > 2 and not self.flattened:
            self._refuse(node, f"receives the input {self.input.name!r} of rank {len(dims)}: add a Flatten before "
                               f"the first layer")
        features = dims[1:] if len(dims) > 1 else dims
        if all(d is not None for d in features) and int(np.prod(features)) != n_in:
            self._refuse(node, f"takes {n_in} inputs but the graph input {self.input.name!r} has "
                               f"{int(np.prod(features))} features per sample")

    def _input_dims(self) -> list[int | None] | None:
        t = self.input.type.tensor_type
        if not t.HasField("shape"):
            return None
        return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]

    def _close(self) -> None:
        w, b, label = self.pending
        self.weights.append(w)
        self.biases.append(b)
        self.labels.append(label)
        self.pending = None
