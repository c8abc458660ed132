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


# Imports inside a function body of a domain module hide a dependency (often a cycle dodged
# rather than removed). One that is lazy for a real reason says so: `# lazy: <why>`.
LAZY_MARK = "# lazy:"


def _domain_modules():
    for app in APPS:
        base = ROOT / app
        for pattern in (
            "services.py",
            "services/**/*.py",
            "selectors.py",
            "selectors/**/*.py",
            "models.py",
            "models/**/*.py",
        ):
            yield from sorted(base.glob(pattern))


def _imports_inside_functions(source: str) -> list[int]:
    """Line numbers of import statements inside a function body, unless marked `# lazy:` on
    the import's line or the line above it."""
    lines = source.splitlines()
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import | ast.ImportFrom):
                marked = lines[node.lineno - 1 : node.end_lineno]
                if node.lineno >= 2:
                    marked.append(lines[node.lineno - 2])
                if not any(LAZY_MARK in line for line in marked):
                    found.append(node.lineno)
    return sorted(set(found))


def test_the_import_check_sees_imports_inside_functions():
    source = (
        "import os\n"
        "def f():\n"
        "    from .tasks import t\n"
        "    def g():\n"
        "        import json\n"
        "    # lazy: Pillow is heavy and only this path needs it\n"
        "    from PIL import Image\n"
        "    import csv  # lazy: only the export needs it\n"
        "class C:\n"
        "    def m(self):\n"
        "        from . import models\n"
    )
    assert _imports_inside_functions(source) == [3, 5, 11]


def test_domain_modules_import_at_the_top():
    """Services, selectors and models import at module level; a function-level import needs
    a `# lazy:` comment saying why (never to dodge a cycle: restructure instead)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _domain_modules()
        for line in _imports_inside_functions(path.read_text(encoding="utf-8"))
    ]
    assert found == []
