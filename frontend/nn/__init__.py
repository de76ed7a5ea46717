"""`torch.nn`. Modules, Parameter and layers arrive with the models issue;
`nn.functional` is complete."""
from . import functional  # noqa: F401
