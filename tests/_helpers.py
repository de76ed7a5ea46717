"""Small helpers shared by the PyTorch-compatibility tests."""
from tests._backend import torch


def F():
    return torch.nn.functional


def leaf(values, dtype=None):
    return torch.tensor(values, dtype=dtype or torch.float32, requires_grad=True)


def grad_list(t):
    return t.grad.tolist()
