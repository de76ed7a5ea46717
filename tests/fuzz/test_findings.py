"""Failures the fuzzer found that are not a compiled graph going wrong (so
they cannot be saved as IR regressions): each is its shrunk program and
inputs, run through the whole harness again, eager and both compiled
backends against the oracle."""
import numpy as np
import pytest

from compiler import dtypes

from . import harness
from .programs import Input, Program

F32 = dtypes.float32

FINDINGS = {
    # An in-place op on a view of -0.0 values: eager writes -0.0 + -0.0 = -0.0 into storage, but the
    # traced write (indexing_ops.put_at_positions) scattered the values onto +0.0, giving +0.0.
    "inplace_view_keeps_negative_zero": (
        Program([Input("x0", (2, 1, 1), F32, requires_grad=True)],
                ["v0 = -x0", "v1 = -x0", "v2 = v0.clone()", "v2[:].add_(v0)"], ["v2", "v1"]),
        [np.zeros((2, 1, 1), np.float32)]),
}


@pytest.mark.parametrize("name", sorted(FINDINGS))
@pytest.mark.parametrize("step", [False, True], ids=["backward", "training_step"])
def test_finding_stays_fixed(name, step):
    program, inputs = FINDINGS[name]
    harness.check(program, [inputs], save=False, step=step)
