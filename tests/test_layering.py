"""Imports go frontend -> compiler -> runtime, never back (DESIGN.md). The IR
dump CLI is the one compiler module allowed to import frontend."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = {"compiler": {"frontend"}, "runtime": {"frontend", "compiler"}}
ALLOWED = {ROOT / "compiler" / "cli.py", ROOT / "compiler" / "__main__.py"}


def _imported_packages(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_backward_imports(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path in ALLOWED:
            continue
        for name, line in _imported_packages(path):
            if name in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "\n".join(bad)
