"""`torch.nn`: Module and Parameter, the layers and losses a small model is
built from, `nn.init` and the complete `nn.functional`."""
from . import functional, init  # noqa: F401
from .container import ModuleList, Sequential
from .layers import GELU, Identity, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module
from .parameter import Parameter

__all__ = ["functional", "init", "Module", "Parameter", "Linear", "LayerNorm", "ReLU", "Tanh", "Sigmoid", "GELU",
           "Identity", "Sequential", "ModuleList", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]
