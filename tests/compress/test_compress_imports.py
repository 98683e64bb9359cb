"""House rule: harness/compress imports torch, numpy and pandas only (plus the standard library)."""

import ast
import sys
from pathlib import Path

import harness.compress

ALLOWED = {"torch", "numpy", "pandas"}


def test_only_torch_numpy_pandas_and_stdlib():
    package = Path(harness.compress.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names or top == "__future__", \
                    f"{path.name} imports {name}"
