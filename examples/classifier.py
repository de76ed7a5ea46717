"""Train a small MLP classifier on synthetic data, eagerly and compiled, and
compare: the loss curves agree, and the compiled model is faster.

    python examples/classifier.py [--steps N]

The model is an `nn.Sequential`. The compiled version compiles the model and
its loss as one graph, forward and (through the graph's grad_fn) backward, to
native code; the optimizer's step runs outside the compiled function.
"""
import argparse
import time

import numpy as np

import frontend as torch
from frontend import nn


def synthetic_data(n=512, features=20, classes=4, seed=0):
    """Gaussian blobs, one per class: learnable, so the loss must fall."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 2
    labels = rng.integers(0, classes, n)
    points = centers[labels] + rng.standard_normal((n, features))
    return torch.tensor(points.astype(np.float32)), torch.tensor(labels)


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 4))


def loss_function(model):
    loss_fn = nn.CrossEntropyLoss()
    return lambda x, y: loss_fn(model(x), y)


def train(model, loss_of, x, y, steps, lr=0.05):
    """SGD with momentum on full batches; returns the losses and the seconds per step."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses, start = [], time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, (time.perf_counter() - start) / steps


def main(steps=50):
    x, y = synthetic_data()
    eager_model, compiled_model = make_model(), make_model()
    compiled_loss = torch.compile(loss_function(compiled_model), fullgraph=True)
    compiled_loss(x, y)  # compile outside the timed loop
    eager, eager_time = train(eager_model, loss_function(eager_model), x, y, steps)
    compiled, compiled_time = train(compiled_model, compiled_loss, x, y, steps)
    for i in range(0, steps, max(1, steps // 10)):
        print(f"step {i:3d}: loss eager {eager[i]:.6f} compiled {compiled[i]:.6f}")
    print(f"max |loss eager - loss compiled| = {max(abs(a - b) for a, b in zip(eager, compiled)):.2e}")
    print(f"per step: eager {eager_time * 1e3:.3f} ms, compiled {compiled_time * 1e3:.3f} ms "
          f"({eager_time / compiled_time:.1f}x)")
    return eager, compiled


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    main(parser.parse_args().steps)
