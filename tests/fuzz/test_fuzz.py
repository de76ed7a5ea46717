"""The differential fuzzer (README.md): random programs run eagerly, compiled
for the interpreter and compiled for LLVM, forward and gradients; and proof
that it is not too loose to fail: bugs planted in the LLVM lowering and in
the interpreter are found within a small budget.

CI runs CI_EXAMPLES programs per test, derandomized (the same programs on
every run). `JITGRAD_FUZZ_EXAMPLES=N pytest tests/fuzz -q` runs N programs
in all (a third each: forward only, with gradients, whole training steps), fresh random ones each time.
"""
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, reject, settings

from compiler import dtypes
from compiler.backend import mathfns, native, scalar_ops
from runtime.cache import DiskCache

from . import harness, regressions
from .programs import Input, Program, cases

LONG_RUN = int(os.environ.get("JITGRAD_FUZZ_EXAMPLES", "0"))
CI_EXAMPLES = 150
PLANT_BUDGET = 120  # programs within which a planted bug must be found


def _settings():
    return settings(max_examples=LONG_RUN // 3 + 1 if LONG_RUN else CI_EXAMPLES, derandomize=not LONG_RUN,
                    database=None if not LONG_RUN else settings.default.database, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def _check(case, save=True, step=False):
    program, calls, layouts = case
    event(f"{len(program.lines)} statements")
    try:
        harness.check(program, calls, layouts, save=save, step=step)
    except harness.Skipped as e:
        event(f"skipped: {str(e).split(':')[0]}")
        reject()


@_settings()
@given(cases(grad=False))
def test_forward_programs(case):
    _check(case)


@_settings()
@given(cases(grad=True))
def test_gradient_programs(case):
    _check(case)


@_settings()
@given(cases(grad=True))
def test_training_step_programs(case):
    """The program, backward() and reading .grad, compiled as one function."""
    _check(case, step=True)


# ---- the fuzzer finds planted bugs --------------------------------------------------------------
def _exp_too_large(monkeypatch):
    """LLVM's exp 1e-5 too large: about 80 ulp in float32, far more in float64."""
    import llvmlite.ir as ir
    wrong = scalar_ops._float_unary(lambda b, x: b.fmul(mathfns.exp(b, x), ir.Constant(x.type, 1 + 1e-5)))
    monkeypatch.setitem(scalar_ops.LOWERINGS, "exp", wrong)


def _interpreter_one_ulp_off(monkeypatch, graphs=""):
    """The interpreter's float results one ulp up (only for graphs whose name ends with `graphs`)."""
    import compiler.interpreter as interpreter
    right = interpreter.run_graph

    def wrong(graph, arrays):
        out = right(graph, arrays)
        if not graph.name.endswith(graphs):
            return out
        return [np.nextafter(o, np.inf).astype(o.dtype) if o.dtype.kind == "f" else o for o in out]
    monkeypatch.setattr(interpreter, "run_graph", wrong)


PLANTS = {
    "llvm exp 1e-5 off": (_exp_too_large, r"compile\(backend='llvm'\)", None),
    "interpreter 1 ulp off": (_interpreter_one_ulp_off, r"compile\(backend='interpreter'\)", None),
    "interpreter backward 1 ulp off": (lambda mp: _interpreter_one_ulp_off(mp, "_backward"),
                                       r"compile\(backend='interpreter'\) x\d+\.grad:", True),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_bug_is_found(plant, monkeypatch):
    apply, culprit, grad = PLANTS[plant]
    monkeypatch.setattr(native, "default_cache", lambda: DiskCache(enabled=False))  # no code built before the plant
    apply(monkeypatch)
    found = []

    @settings(max_examples=PLANT_BUDGET, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(grad=grad))
    def search(case):
        try:
            _check(case, save=False)
        except harness.FuzzFailure as e:
            found.append(str(e))
            raise

    with pytest.raises(harness.FuzzFailure):
        search()
    assert re.search(culprit, found[0]), found[0]


@pytest.mark.parametrize("kind, line", [("forward", "v1 = x0.exp() * x0"),
                                        ("gradient", "v1 = F.gelu(x0)")])  # erf's derivative calls exp
def test_a_failure_is_saved_and_replays_until_fixed(kind, line, tmp_path, monkeypatch):
    """The failing program's graph (traced, or joint forward+backward) and
    inputs land in regressions/; replaying them shows the bug while it is
    there, and nothing once it is fixed."""
    monkeypatch.setattr(regressions, "DIRECTORY", tmp_path)
    monkeypatch.setattr(native, "default_cache", lambda: DiskCache(enabled=False))
    _exp_too_large(monkeypatch)
    program = Program([Input("x0", (3,), dtypes.float32, requires_grad=True)], [line], ["v1"])
    with pytest.raises(harness.FuzzFailure, match=f"saved as a regression test: {tmp_path}") as info:
        harness.check(program, [[np.array([0.5, -1.0, 2.0], np.float32)]])
    (name,) = regressions.names(tmp_path)
    assert name.startswith(kind) and str(tmp_path / f"{name}.ir") in str(info.value)
    assert line in (tmp_path / f"{name}.ir").read_text()  # the program, for the reader
    problems = regressions.replay(*regressions.load(name, tmp_path))
    assert problems and all(p.startswith("llvm") for p in problems), problems
    monkeypatch.undo()
    assert regressions.replay(*regressions.load(name, tmp_path)) == []
