"""Values, dtypes, shapes and reprs of a broad set of expressions, compared
with what PyTorch 2.13 printed for them (tests/parity/expected.json). When
torch is installed the same expressions are also compared live."""
import json
import pathlib
import re

import pytest

from tests._backend import torch

HERE = pathlib.Path(__file__).parent / "parity"
EXPRESSIONS = [line for line in (HERE / "expressions.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")]


def evaluate(module, expression):
    """repr of the result, or 'ExceptionType: message'; addresses normalized."""
    try:
        text = repr(eval(expression, {"T": module}))
    except Exception as exc:  # the exception is part of the expected behaviour
        text = f"{type(exc).__name__}: {exc}"
    return re.sub(r"0x[0-9a-fA-F]+", "0x...", text)


def _expected():
    path = HERE / "expected.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_matches_recorded_pytorch(expression):
    expected = _expected()
    assert expression in expected, "re-record with `python -m tests.parity.record`"
    assert evaluate(torch, expression) == expected[expression]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_matches_live_pytorch(expression):
    real = pytest.importorskip("torch")
    assert evaluate(torch, expression) == evaluate(real, expression)
