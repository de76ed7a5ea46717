"""The autograd tutorial's logistic regression, trained: eagerly, and with the
whole step (forward, loss, backward, update) compiled into one graph.

    python examples/logistic_regression.py [--steps N]

The model is the tutorial's `z = torch.matmul(x, w) + b` with
`binary_cross_entropy_with_logits`, here on a batch of synthetic points with
three independent yes/no labels each. Both runs start from the same `w`, `b`
and must print the same losses; the compiled step is timed against eager.
"""
import argparse
import statistics
import time

import numpy as np

import frontend as torch


def synthetic_data(n=2048, features=32, labels=3, seed=0):
    """Labels from a hidden linear rule plus noise: learnable, so the loss must fall."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    true_w, true_b = rng.standard_normal((features, labels)), rng.standard_normal(labels)
    y = (x @ true_w + true_b + 0.5 * rng.standard_normal((n, labels)) > 0).astype(np.float32)
    return torch.tensor(x), torch.tensor(y)


def init_params(features=32, labels=3, seed=0):
    torch.manual_seed(seed)
    return torch.randn(features, labels, requires_grad=True), torch.randn(labels, requires_grad=True)


def step(w, b, x, y, lr=0.5):
    """One gradient-descent step; returns the loss before the update."""
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return loss


def train(step_fn, x, y, steps):
    """Returns the loss of every step, the seconds each step took, and the trained (w, b)."""
    w, b = init_params(x.shape[1], y.shape[1])
    losses, seconds = [], []
    for _ in range(steps):
        start = time.perf_counter()
        loss = step_fn(w, b, x, y)
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
    return losses, seconds, (w, b)


def main(steps=100):
    x, y = synthetic_data()
    compiled_step = torch.compile(step, fullgraph=True)
    eager, eager_seconds, eager_params = train(step, x, y, steps)
    compiled, compiled_seconds, compiled_params = train(compiled_step, x, y, steps)
    for i in range(0, steps, max(1, steps // 10)):
        print(f"step {i:3d}: loss eager {eager[i]:.6f} compiled {compiled[i]:.6f}")
    diff = max(abs(a - b) for a, b in zip(eager, compiled))
    param_diff = max((a - b).abs().max().item() for a, b in zip(eager_params, compiled_params))
    print(f"max |loss eager - loss compiled| = {diff:.2e}, max |param eager - param compiled| = {param_diff:.2e}")
    assert diff < 1e-4 and param_diff < 1e-4, "eager and compiled training disagree"
    print(f"eager and compiled agree over {steps} steps")
    # The first calls trace and compile (the second again: .grad went from None
    # to a tensor), so the medians leave them out of the comparison.
    warmup = min(compiled_step.trace_count, steps - 1)
    eager_time = statistics.median(eager_seconds[warmup:])
    compiled_time = statistics.median(compiled_seconds[warmup:])
    print(f"first {warmup} compiled steps (tracing, compiling) took {sum(compiled_seconds[:warmup]) * 1e3:.0f} ms")
    print(f"per step (median): eager {eager_time * 1e3:.3f} ms, compiled {compiled_time * 1e3:.3f} ms "
          f"({eager_time / compiled_time:.1f}x)")
    return eager, compiled


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    main(parser.parse_args().steps)
