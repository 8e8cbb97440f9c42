"""auto_LiRPA's Jacobian bounds (Shi et al., NeurIPS 2022) on one network of lipgen's HDF5 format; one JSON line.

Not part of lipgen: paper_claim.py starts it with the auto_LiRPA venv's Python. The PyPI release
auto-lirpa 0.3 (2022-09) has no Jacobian support (no JacobianOP, no compute_jacobian_bounds), so the venv
holds the fetched repository's auto_LiRPA 0.7.1, installed unmodified with --no-deps on the local CPU
torch 2.13 (its setup.py asks for torch < 2.9 and torchvision, which are not needed for these calls).

Two bounds from auto_LiRPA's own API (as in its examples/vision/jacobian.py), on the box given by
PerturbationLpNorm(x_L, x_U), with the default bound options (CROWN on the gradient graph):

- `upper_elementwise`: JacobianOP gives elementwise bounds lo <= J(x) <= hi over the box; with
  U = max(|lo|, |hi|), every J(x) satisfies |J(x)| <= U entrywise, so ||J(x)||_{p->p} <= ||U||_{p->p}
  (p-operator norms are monotone on nonnegative matrices);
- `upper_gradnorm`: GradNorm on each output's gradient (the example's local Lipschitz wrapper): for
  l-inf, max_i ub(||grad f_i||_1) bounds the inf->inf norm; for l2, sqrt(sum_i ub(||grad f_i||_2^2)) bounds the
  Frobenius norm, hence the spectral norm (exact quantity for one output). Not used for l1.

`upper` = the smaller of the two. Computed in float64; the final norms are numpy's (not rounded outward).

    python autolirpa_child.py --weights net.h5 --norm 2 [--lower .. --upper ..]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--norm", choices=("1", "2", "inf"), required=True)
    ap.add_argument("--lower", default=None)
    ap.add_argument("--upper", default=None)
    ap.add_argument("--skip-gradnorm", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    import h5py
    import numpy as np
    import torch
    import torch.nn as nn
    torch.set_default_dtype(torch.float64)
    import auto_LiRPA
    from auto_LiRPA import BoundedModule, BoundedTensor
    from auto_LiRPA.jacobian import GradNorm, JacobianOP
    from auto_LiRPA.perturbations import PerturbationLpNorm

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
    if args.lower is not None:
        lo = np.array([float(v) for v in args.lower.split(",")])
        hi = np.array([float(v) for v in args.upper.split(",")])

    t0 = time.perf_counter()
    layers = []
    for k, (w, b) in enumerate(zip(ws, bs)):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if k < len(ws) - 1:
            layers.append(nn.ReLU())
    model_ori = nn.Sequential(*layers)
    n_out = ws[-1].shape[0]
    x0 = torch.from_numpy((lo + hi) / 2)[None]
    xl, xu = torch.from_numpy(lo)[None], torch.from_numpy(hi)[None]

    def bounded_x():
        return BoundedTensor(x0, PerturbationLpNorm(norm=np.inf, x_L=xl, x_U=xu))

    class JacobianWrapper(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return JacobianOP.apply(self.model(x), x)

    out = {"auto_lirpa": auto_LiRPA.__version__, "torch": torch.__version__, "method": "JacobianOP + CROWN"}
    jm = BoundedModule(JacobianWrapper(model_ori), x0)
    jl, ju = jm.compute_jacobian_bounds(bounded_x())
    if jl.numel() != n_out * len(lo):  # batch of one input: the Jacobian bounds are (1, outputs, inputs)
        raise SystemExit(f"unexpected Jacobian bound shape {tuple(jl.shape)}")
    jl = jl.detach().numpy().reshape(n_out, len(lo))
    ju = ju.detach().numpy().reshape(n_out, len(lo))
    U = np.maximum(np.abs(jl), np.abs(ju))
    p = {"1": 1, "2": 2, "inf": np.inf}[args.norm]
    ub_elem = float(np.linalg.norm(U, p))
    out["upper_elementwise"] = ub_elem
    out["time_elementwise"] = time.perf_counter() - t0
    ubs = [ub_elem]
    if args.norm in ("inf", "2") and not args.skip_gradnorm:
        class LipWrapper(nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model
                self.grad_norm = GradNorm(norm=1 if args.norm == "inf" else 2)

            def forward(self, x, mask):
                return self.grad_norm(JacobianOP.apply(self.model(x).matmul(mask), x))

        mask = torch.zeros(n_out, 1)
        lm = BoundedModule(LipWrapper(model_ori), (bounded_x(), mask))
        per = []
        for i in range(n_out):
            mask.zero_()
            mask[i, 0] = 1
            per.append(float(lm.compute_jacobian_bounds((bounded_x(), mask), bound_lower=False)[1].max()))
        ub_g = max(per) if args.norm == "inf" else float(np.sqrt(max(sum(per), 0.0)))
        out["upper_gradnorm"] = ub_g
        ubs.append(ub_g)
    out["upper"] = min(ubs)
    out["time"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
