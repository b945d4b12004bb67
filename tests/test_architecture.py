"""The house plan: the package imports without cycles, and no import hides inside a function to dodge one."""

from __future__ import annotations

import ast
import graphlib
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scripts" / "sunshine"
# The command line loads only the stage it runs, so `sunshine --help` stays quick.
LAZY_IMPORTS_ALLOWED = {"sunshine.cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> list[tuple[str, bool]]:
    """(imported sunshine module, at module level?) for every import statement in the module."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                ).strip(".")
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                found.append((target, id(node) in top_level))
    return found


def test_the_package_has_no_import_cycles():
    graph = {name: {target for target, _ in imports(name)} for name in MODULES}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_no_module_imports_our_own_code_inside_a_function():
    lazy = {
        (name, target)
        for name in MODULES
        if name not in LAZY_IMPORTS_ALLOWED
        for target, top in imports(name)
        if not top
    }
    assert lazy == set()


def test_no_import_of_our_own_code_is_guarded_by_except_import_error():
    guarded = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in {"ImportError", "ModuleNotFoundError"}
                for h in node.handlers
            ):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (
                        inner.level or (inner.module or "").startswith("sunshine")
                    ):
                        guarded.append(name)
    assert guarded == []


def test_polars_gives_freed_memory_back_as_the_package_sets_it():
    """sunshine sets the allocator before polars starts it: polars appends the setting to its own."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run(
        [sys.executable, "-c", "import sunshine.site.pages.data, os; print(os.environ['_RJEM_MALLOC_CONF'])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out.endswith(",dirty_decay_ms:100,muzzy_decay_ms:0")
