"""A whole training step, compiled: forward, backward and a hand-written SGD
update traced into one graph, checked against the same step run eagerly.

    python examples/train.py
"""
import numpy as np

import frontend as torch
import frontend.nn.functional as F


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    return [torch.tensor((rng.standard_normal(s) * 0.05).astype(np.float32), requires_grad=True) for s in shapes]


def step(params, x, y, lr=0.1):
    """One SGD step; returns the loss before the update."""
    W1, b1, W2, b2 = params
    loss = F.cross_entropy(F.relu(x @ W1 + b1) @ W2 + b2, y)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()
    return loss


compiled_step = torch.compile(step, fullgraph=True)


if __name__ == "__main__":
    torch.manual_seed(0)
    x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
    eager, compiled = init_params(), init_params()
    for i in range(5):
        le, lc = step(eager, x, y), compiled_step(compiled, x, y)
        print(f"step {i}: loss eager {le.item():.6f} compiled {lc.item():.6f}")
    diff = max((a - b).abs().max().item() for a, b in zip(eager, compiled))
    print("max |param eager - param compiled| =", diff, "traces:", compiled_step.trace_count)
