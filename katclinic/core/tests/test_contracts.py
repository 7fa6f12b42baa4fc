"""Apps ask each other through functions they import by name, never by runtime lookup.

Scans every module of app code (tests and migrations excepted) for `importlib` module
loading, `__import__`, and `getattr`/`hasattr` on a module of another app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import katclinic

ROOT = Path(katclinic.__file__).parent
LOOKUPS = {"getattr", "hasattr"}


def _app_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "katclinic" else ""


def _other_app_modules(tree: ast.Module, own_app: str) -> set[str]:
    """Local names bound to a module (or member) of another katclinic app."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            app = _app_of(node.module)
            if app and app != own_app:
                names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                app = _app_of(alias.name)
                if app and app != own_app:
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def problems(source: str, own_app: str) -> list[str]:
    """Each runtime lookup of another app's code in `source`, as "line: what"."""
    tree = ast.parse(source)
    foreign = _other_app_modules(tree, own_app)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "importlib" for a in node.names):
            found.append(f"{node.lineno}: import importlib")
        elif isinstance(node, ast.ImportFrom) and node.module == "importlib":
            loaders = [a.name for a in node.names if a.name != "resources"]
            if loaders:
                found.append(f"{node.lineno}: from importlib import {', '.join(loaders)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name == "__import__":
                found.append(f"{node.lineno}: __import__")
            target = node.args[0] if node.args else None
            if name in LOOKUPS and isinstance(target, ast.Name) and target.id in foreign:
                found.append(f"{node.lineno}: {name}({target.id}, ...)")
    return found


def app_modules() -> list[Path]:
    skip = {"tests", "migrations"}
    return [
        path for path in sorted(ROOT.rglob("*.py")) if not skip & set(path.relative_to(ROOT).parts)
    ]


def test_no_app_looks_up_another_apps_code_at_runtime() -> None:
    found = []
    for path in app_modules():
        relative = path.relative_to(ROOT)
        own = relative.parts[0] if len(relative.parts) > 1 else ""
        found += [f"{relative}:{p}" for p in problems(path.read_text(), own)]
    assert found == []


def test_the_scan_sees_each_kind_of_lookup() -> None:
    source = (
        "import importlib\n"
        "from importlib import import_module\n"
        "from importlib import resources\n"
        "from katclinic.intake import services\n"
        "from katclinic.dosing import gate\n"
        "x = getattr(services, 'consent_status', None)\n"
        "y = hasattr(services, 'eligibility')\n"
        "z = getattr(gate, 'CHECKS')\n"
        "w = __import__('katclinic.intake')\n"
    )
    assert problems(source, own_app="dosing") == [
        "1: import importlib",
        "2: from importlib import import_module",
        "6: getattr(services, ...)",
        "7: hasattr(services, ...)",
        "9: __import__",
    ]
    assert len(app_modules()) > 100
