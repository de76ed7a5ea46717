"""The module the tests exercise: jitgrad's frontend, or PyTorch itself.

Setting ``JITGRAD_TESTS_AGAINST=torch`` runs the same tests on real PyTorch,
which proves that what they expect is PyTorch's behaviour and not ours.
"""
import importlib
import os

AGAINST_TORCH = os.environ.get("JITGRAD_TESTS_AGAINST") == "torch"
torch = importlib.import_module("torch" if AGAINST_TORCH else "frontend")
