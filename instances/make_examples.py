"""Make the shipped example networks (deterministic: re-running gives the same weights).

moons.h5: a 2-12-12-1 ReLU network trained by full-batch gradient descent (numpy only) to separate
two interleaved half circles; its domain [-1.5, 2.5] x [-1, 1.5] is stored in the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lipgen.network import Network
from lipgen.io import save

HERE = Path(__file__).parent


def two_moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.vstack([upper, lower]) + rng.normal(scale=0.1, size=(2 * n, 2))
    y = np.concatenate([np.ones(n), -np.ones(n)])
    return x, y


def train(widths: list[int], steps: int = 3000, lr: float = 0.05, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    x, y = two_moons(200, rng)
    ws = [rng.normal(size=(widths[k + 1], widths[k])) * np.sqrt(2 / widths[k]) for k in range(len(widths) - 1)]
    bs = [np.zeros(widths[k + 1]) for k in range(len(widths) - 1)]
    for _ in range(steps):
        hs, zs = [x], []
        for k, (w, b) in enumerate(zip(ws, bs)):
            z = hs[-1] @ w.T + b
            zs.append(z)
            hs.append(np.maximum(z, 0) if k < len(ws) - 1 else z)
        # logistic loss on the margin y * f(x)
        grad = (-y / (1 + np.exp(y * hs[-1][:, 0])))[:, None] / len(y)
        for k in reversed(range(len(ws))):
            gw, gb = grad.T @ hs[k], grad.sum(axis=0)
            if k:
                grad = (grad @ ws[k]) * (zs[k - 1] > 0)
            ws[k] -= lr * gw
            bs[k] -= lr * gb
    return Network(ws, bs, name="moons")


def main() -> None:
    net = train([2, 12, 12, 1])
    save(HERE / "moons.h5", net, domain_lower=np.array([-1.5, -1.0]), domain_upper=np.array([2.5, 1.5]))


if __name__ == "__main__":
    main()
