"""Named workloads. Each builds its inputs once and gives, per mode, a
function to time; every mode must compute the same result, which the harness
checks before it reports any time. `ours-compiled` runs `frontend.compile`
(native code from the LLVM backend)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Workload:
    name: str
    make: Callable[[], dict]  # mode name -> zero-argument callable returning NumPy arrays
    sizes: str = ""
    quick: bool = True
    tolerance: float = 1e-4
    notes: list = field(default_factory=list)


def _chain_numpy(x):
    y = x * 1.5 + 0.5
    y = np.tanh(y)
    y = y * y - 0.25
    y = np.exp(-y)
    return np.maximum(y, 0.1) / 2.0


def _chain_tensor(x, lib):
    y = x * 1.5 + 0.5
    y = y.tanh()
    y = y * y - 0.25
    y = (-y).exp()
    return lib.maximum(y, lib.tensor(0.1)) / 2.0


def elementwise_chain(n):
    def make():
        import frontend
        data = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        ours = frontend.from_numpy(data)
        compiled = frontend.compile(lambda t: _chain_tensor(t, frontend))
        modes = {
            "numpy": lambda: _chain_numpy(data),
            "ours-eager": lambda: _chain_tensor(ours, frontend).numpy(),
            "ours-compiled": lambda: compiled(ours).numpy(),
        }
        torch = _optional_torch()
        if torch is not None:
            theirs = torch.from_numpy(data)
            modes["torch-eager"] = lambda: _chain_tensor(theirs, torch).numpy()
        return modes
    return Workload(f"elementwise_chain_{n:.0e}".replace("+0", ""), make, f"{n} float32, 8 ops", quick=n <= 10**6)


def softmax_rows(rows, cols):
    def make():
        import frontend
        data = np.random.default_rng(1).standard_normal((rows, cols)).astype(np.float32)
        ours = frontend.from_numpy(data)

        def numpy_softmax():
            e = np.exp(data - data.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        compiled = frontend.compile(lambda t: t.softmax(1))
        modes = {"numpy": numpy_softmax, "ours-eager": lambda: ours.softmax(1).numpy(),
                 "ours-compiled": lambda: compiled(ours).numpy()}
        torch = _optional_torch()
        if torch is not None:
            theirs = torch.from_numpy(data)
            modes["torch-eager"] = lambda: theirs.softmax(1).numpy()
        return modes
    return Workload(f"softmax_{rows}x{cols}", make, f"{rows}x{cols} float32", quick=rows * cols <= 2**20)


def logistic_regression_step():
    """The seed tutorial's model: z = x @ w + b, BCE with logits, backward."""
    def make():
        import frontend
        rng = np.random.default_rng(2)
        x = rng.standard_normal((64, 5)).astype(np.float32)
        y = (rng.random((64, 3)) > 0.5).astype(np.float32)
        w0 = rng.standard_normal((5, 3)).astype(np.float32)
        b0 = rng.standard_normal(3).astype(np.float32)

        def with_lib(lib, compile_step=False):
            w = lib.tensor(w0, requires_grad=True)
            b = lib.tensor(b0, requires_grad=True)
            xt, yt = lib.tensor(x), lib.tensor(y)

            def train(xt, yt):  # the whole step: forward, backward, .grad updates
                w.grad = None
                b.grad = None
                z = lib.matmul(xt, w) + b
                loss = lib.nn.functional.binary_cross_entropy_with_logits(z, yt)
                loss.backward()
            run = lib.compile(train, fullgraph=True) if compile_step else train

            def step():
                run(xt, yt)
                return np.concatenate([w.grad.numpy().ravel(), b.grad.numpy().ravel()])
            return step

        def numpy_step():
            z = x @ w0 + b0
            s = 1 / (1 + np.exp(-z))
            dz = (s - y) / z.size
            return np.concatenate([(x.T @ dz).ravel(), dz.sum(0).ravel()])

        modes = {"numpy": numpy_step, "ours-eager": with_lib(frontend),
                 "ours-compiled": with_lib(frontend, compile_step=True)}
        torch = _optional_torch()
        if torch is not None:
            modes["torch-eager"] = with_lib(torch)
        return modes
    return Workload("logreg_step", make, "x 64x5, w 5x3, BCE-with-logits + backward")


def tiny_call():
    def make():
        import frontend
        data = np.arange(10, dtype=np.float32)
        ours = frontend.from_numpy(data)
        compiled = frontend.compile(lambda t: t * 2 + 1)
        modes = {"numpy": lambda: data * 2 + 1, "ours-eager": lambda: (ours * 2 + 1).numpy(),
                 "ours-compiled": lambda: compiled(ours).numpy()}
        torch = _optional_torch()
        if torch is not None:
            theirs = torch.from_numpy(data)
            modes["torch-eager"] = lambda: (theirs * 2 + 1).numpy()
        return modes
    return Workload("tiny_call", make, "x*2+1 on 10 elements (per-call overhead)")


def _optional_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


WORKLOADS = [
    elementwise_chain(10**3), elementwise_chain(10**6), elementwise_chain(16 * 10**6),
    softmax_rows(4096, 1024), softmax_rows(256, 1024), logistic_regression_step(), tiny_call(),
]
