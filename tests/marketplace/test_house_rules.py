"""House rules of architecture.md that a reading of the code can check."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["marketplace", "merchants", "catalog", "promotions", "orders", "settlements", "risk"]


def _service_modules():
    for app in APPS:
        yield from sorted((ROOT / app).glob("services/*.py"))
        if (ROOT / app / "services.py").exists():
            yield ROOT / app / "services.py"


def test_every_service_says_what_it_guarantees():
    """Each public function of a services module has a docstring."""
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in _service_modules()
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and not ast.get_docstring(node)
    ]
    assert missing == []
