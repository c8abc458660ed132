"""One database engine and the demo above every app, checked by reading the code: no
`connection.vendor` branch in project code, no app imports the demo, the demo imports at the
top of its modules (no import inside a function to dodge a cycle), and the import-linter
layers put the demo on top."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ["marketplace", "notifications", "merchants", "catalog", "promotions", "orders", "settlements", "risk"]


def _project_modules(*packages: str):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_code_branches_on_the_database_vendor():
    found = [
        f"{_relative(path)}:{node.lineno}"
        for path in _project_modules(*APPS, "demo", "bench")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "vendor"
    ]
    assert found == []


def test_no_app_imports_the_demo():
    found = []
    for path in _project_modules(*APPS):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            found += [f"{_relative(path)}:{node.lineno} {name}" for name in names if name.split(".")[0] == "demo"]
    assert found == []


def test_the_demo_imports_only_at_the_top_of_its_modules():
    found = [
        f"{_relative(path)}:{inner.lineno}"
        for path in _project_modules("demo")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert found == []


def test_the_demo_tops_the_layers_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert "demo" in config["root_packages"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    assert layers[0] == "demo"
    assert set(layers) == {"demo", *APPS}
