"""Re-record the seeds' expected outputs from real PyTorch. Run by hand, not in CI.

    python -m tests.seeds.regenerate      # from the repository root, torch installed

CI has no PyTorch, so what it prints for each seed's cells is committed as
``NNN_<id>.expected.txt``; this script rewrites those files with the harness of
tests/test_seeds.py. It refuses to record a cell that raises, and warns when an
output would change if the arithmetic ran in float64: such an output hangs on
float32 rounding details, so pick another ``# randn-seed:`` for that document.
"""
import os
import re
import sys

os.environ["JITGRAD_TESTS_AGAINST"] = "torch"  # before tests._backend is imported

import torch  # noqa: E402

from tests import test_seeds  # noqa: E402

EXPECTED_VERSION = "2.13."
DTYPE = re.compile(r",? ?dtype=torch\.float(32|64)")  # float64 run shows dtypes differently


def run_in_float64(document):
    torch.set_default_dtype(torch.float64)
    try:
        return test_seeds.run_document(torch, document)
    finally:
        torch.set_default_dtype(torch.float32)


def main():
    if not torch.__version__.startswith(EXPECTED_VERSION):
        print(f"warning: goldens are meant to come from PyTorch {EXPECTED_VERSION}x, "
              f"this is {torch.__version__}", file=sys.stderr)
    for document in test_seeds.DOCUMENTS:
        outputs = test_seeds.run_document(torch, document)
        raised = [label for label, out in outputs if "!!! raised" in out]
        if raised:
            sys.exit(f"{document.name}: cells {raised} raised; not recording:\n{outputs}")
        for (label, out), (_, out64) in zip(outputs, run_in_float64(document)):
            if DTYPE.sub("", out) != DTYPE.sub("", out64):
                print(f"warning: {document.name} {label} is sensitive to rounding:\n"
                      f"{out}--- float64 gives ---\n{out64}", file=sys.stderr)
        test_seeds.expected_path(document).write_text(
            test_seeds.join_cells(outputs), encoding="utf-8")
        print(f"wrote {test_seeds.expected_path(document).name}: {len(outputs)} cells")


if __name__ == "__main__":
    main()
