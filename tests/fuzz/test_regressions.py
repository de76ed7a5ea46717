"""Every failure the fuzzer found and saved (regressions/, see
regressions.py) stays fixed: its graph, parsed from IR text, runs through
the compile pipeline on the interpreter and the LLVM backend and agrees with
the oracle."""
import pytest

from . import regressions


@pytest.mark.parametrize("name", regressions.names())
def test_saved_regression(name):
    problems = regressions.replay(*regressions.load(name))
    assert not problems, f"{regressions.DIRECTORY / name}.ir:\n" + "\n".join(problems)


def test_saved_regressions_parse_with_their_inputs():
    for name in regressions.names():
        graph, meta, inputs = regressions.load(name)
        assert meta["kind"] in ("forward", "gradient"), name
        assert [(a.shape, a.dtype) for a in inputs] == [(v.shape, v.dtype.np) for v in graph.inputs], name
