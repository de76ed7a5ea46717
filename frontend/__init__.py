"""jitgrad's frontend: `import frontend as torch` gives PyTorch's eager API
(tensors, autograd, nn.functional) on NumPy storage."""
from compiler.backend.native import prebuild_libraries

# First, so that LLVM compiles the float32 GEMM on another core while the rest
# imports: once per machine, when the disk cache lacks it (library.prebuild).
prebuild_libraries()

from compiler.dtypes import bool_ as bool  # noqa: A001,E402  (PyTorch's name)
from compiler.dtypes import float32, float64, int32, int64
from runtime.threads import get_num_threads, set_num_threads  # compiled code's threads (eager is NumPy's)

from . import autograd, nn
from . import optim
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (DoubleTensor, FloatTensor, LongTensor, arange, as_tensor, empty, empty_like, eye,
                       from_numpy, full, full_like, linspace, manual_seed, ones, ones_like, rand, rand_like,
                       randint, randint_like, randn, randn_like, tensor, zeros, zeros_like)
from .functions import *  # noqa: F401,F403
from .functions import cat, concat, is_tensor, stack, where
from .jit import compile  # noqa: A004  (PyTorch's name: torch.compile)
from .tensor import Size, Tensor, device

float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
dtype = type(float32)

__version__ = "0.1.0"
