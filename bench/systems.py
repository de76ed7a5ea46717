"""The modes the harness knows and the optional systems behind them. A
system that is not installed skips its modes with a one-line note; it is
never an error, since CI has neither PyTorch nor JAX."""
from __future__ import annotations

import importlib

BASELINE = "ours-eager"
MODES = ("ours-eager", "ours-compiled", "numpy", "torch-eager", "torch-compile", "jax-jit")
OTHER_SYSTEMS = ("numpy", "torch-eager", "torch-compile", "jax-jit")  # "best other" is the fastest of these
_NEEDS = {"torch-eager": "torch", "torch-compile": "torch", "jax-jit": "jax"}


def load_optional(module: str):
    """The module, or None when it cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def available_modes(wanted) -> tuple[list, list]:
    """The modes to run (ours-eager first, always) and a note per skipped system."""
    modes = [m for m in MODES if m == BASELINE or not wanted or m in wanted]
    notes, missing = [], set()
    for module in sorted({_NEEDS[m] for m in modes if m in _NEEDS}):
        if load_optional(module) is None:
            missing.add(module)
            skipped = ", ".join(m for m in modes if _NEEDS.get(m) == module)
            notes.append(f"{module} is not installed: skipping {skipped}")
    return [m for m in modes if _NEEDS.get(m) not in missing], notes


def versions() -> dict:
    found = {}
    for module in ("numpy", "llvmlite", "torch", "jax", "matplotlib"):
        loaded = load_optional(module)
        found[module] = getattr(loaded, "__version__", None) if loaded else None
    return found
