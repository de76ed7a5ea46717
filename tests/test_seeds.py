"""The seed tutorials in /work/shared/seeds must print exactly what PyTorch prints.

Each seed's code cells live in ``tests/seeds/NNN_<id>.py`` (cells start with a
``# %% In [N]`` marker line) and what PyTorch 2.13 printed for them in
``tests/seeds/NNN_<id>.expected.txt`` (same markers, each followed by that
cell's output). The goldens are files because CI has no PyTorch; re-record
them with ``python -m tests.seeds.regenerate`` where real torch is installed.

Cells run like a notebook: in order, in one namespace per seed, with
``import torch`` bound to the module under test, and the value of a trailing
expression displayed as its repr. ``randn`` is swapped for a seeded NumPy draw
so that random tensors are the same for PyTorch and for jitgrad; each seed's
``# randn-seed:`` was picked so its ``while y.data.norm() < 1000`` loop doubles
as often as in the original text and no printed digit hinges on float32
rounding (regenerate.py checks the latter).
"""
import ast
import builtins
import contextlib
import difflib
import io
import linecache
import re
import traceback
from pathlib import Path

import numpy as np
import pytest

from tests._backend import torch

SEEDS_DIR = Path(__file__).parent / "seeds"
DOCUMENTS = sorted(p for p in SEEDS_DIR.glob("[0-9]*.py"))
MARKER = re.compile(r"^# %% (In \[\d+\])\n", re.MULTILINE)
RNG_SEED = re.compile(r"^# randn-seed: (\d+)$", re.MULTILINE)
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def split_cells(text):
    """Return [(label, body)] for the cells after each marker (preamble dropped)."""
    parts = MARKER.split(text)  # [preamble, label, body, label, body, ...]
    return list(zip(parts[1::2], parts[2::2]))


def join_cells(cells):
    """Inverse of split_cells, for writing the expected files."""
    return "".join(f"# %% {label}\n{body}" for label, body in cells)


def normalize(text):
    """Object addresses differ between runs: ``<X object at 0x7f..>`` -> ``0x...``."""
    return ADDRESS.sub("0x...", text)


def expected_path(document):
    return document.with_name(document.stem + ".expected.txt")


def deterministic_randn(module, rng):
    """A ``randn`` drawing from ``rng``, so PyTorch and jitgrad see the same values."""
    def randn(*size, requires_grad=False, dtype=None):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        values = rng.standard_normal(size).astype(np.float32).tolist()
        if dtype is None:
            return module.tensor(values, requires_grad=requires_grad)
        return module.tensor(values, requires_grad=requires_grad, dtype=dtype)
    return randn


def importing(module):
    """An ``__import__`` that hands out ``module`` for ``import torch`` in the cells."""
    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name == "torch":
            return module
        if level == 0 and name.startswith("torch."):
            raise ImportError(f"the seed harness maps only 'import torch', not {name!r}")
        return builtins.__import__(name, globals, locals, fromlist, level)
    return _import


def run_cell(source, filename, namespace):
    """Exec one cell; if it ends in an expression, print its repr unless None (as IPython does)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    body = ast.parse(source, filename).body
    last = body.pop() if body and isinstance(body[-1], ast.Expr) else None
    exec(compile(ast.Module(body=body, type_ignores=[]), filename, "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
        if value is not None:
            print(repr(value))


def describe_error(error):
    """The failing cell's traceback, without the harness's own frames."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    return ("!!! raised:\n" + "".join(traceback.format_list(frames[-4:]))
            + "".join(traceback.format_exception_only(error)))


def run_document(module, document):
    """Run a seed's cells with ``module`` as torch; return [(label, normalized output)].

    A cell that raises gets the traceback's tail as its output and the run goes
    on, so one failing cell does not hide what the later ones print.
    """
    text = document.read_text(encoding="utf-8")
    rng = np.random.default_rng(int(RNG_SEED.search(text).group(1)))
    namespace = {"__name__": "__main__",
                 "__builtins__": {**vars(builtins), "__import__": importing(module)}}
    had_randn, old_randn = hasattr(module, "randn"), getattr(module, "randn", None)
    module.randn = deterministic_randn(module, rng)
    outputs = []
    try:
        for index, (label, source) in enumerate(split_cells(text)):
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                try:
                    run_cell(source, f"<{document.name} cell {index} {label}>", namespace)
                except Exception as error:
                    print(describe_error(error), end="")
            outputs.append((label, normalize(stdout.getvalue())))
    finally:
        if had_randn:
            module.randn = old_randn
        else:
            del module.randn
    return outputs


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.stem)
def test_seed_prints_what_pytorch_prints(document):
    expected = split_cells(expected_path(document).read_text(encoding="utf-8"))
    actual = run_document(torch, document)
    assert [label for label, _ in actual] == [label for label, _ in expected], (
        f"{document.name}: cell markers differ from {expected_path(document).name}")
    failures = []
    for index, ((label, want), (_, got)) in enumerate(zip(expected, actual)):
        if got != want:
            diff = difflib.unified_diff(
                want.splitlines(keepends=True), got.splitlines(keepends=True),
                "expected (PyTorch 2.13)", f"actual ({torch.__name__})")
            failures.append(f"--- {document.name} cell {index} {label}:\n" + "".join(diff))
    if failures:
        pytest.fail(f"{len(failures)} of {len(expected)} cells differ\n" + "\n".join(failures),
                    pytrace=False)
