"""Re-record expected.json from real PyTorch: `python -m tests.parity.record`."""
import json
import pathlib

import torch

from tests.test_torch_parity import EXPRESSIONS, evaluate

if __name__ == "__main__":
    out = {e: evaluate(torch, e) for e in EXPRESSIONS}
    path = pathlib.Path(__file__).with_name("expected.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"recorded {len(out)} expressions with torch {torch.__version__} into {path}")
