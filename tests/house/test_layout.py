"""The package layout: no import cycle, no module over 400 lines, a top level of packages only,
and the old import paths still resolve to the moved modules."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "s1kit"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every s1kit module a module imports, at any depth in its code (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t.startswith("s1kit") and t != name:
                out.add(t)
    return out


def test_no_import_cycle_between_modules():
    mods = _modules()
    known = set(mods)
    graph = {m: _imports(p, m, known) for m, p in mods.items()}
    # A package's __init__ importing its own submodules is how packages export names; a cycle through it
    # (a submodule importing its package back) is still a cycle, so only the edge parent -> own child is dropped.
    for m in graph:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_module_over_400_lines():
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_top_level_holds_only_init_errors_and_packages():
    files = sorted(p.name for p in SRC.iterdir() if p.is_file() and p.suffix == ".py")
    assert files == ["__init__.py", "errors.py"]
    for d in SRC.iterdir():
        if d.is_dir() and d.name != "__pycache__" and any(d.rglob("*.py")):
            assert (d / "__init__.py").is_file(), f"{d.name} is not a package"
    assert not [p for p in SRC.rglob("*.py") if p.stem in ("utils", "core", "misc", "helpers")]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("s1kit.metrics", "s1kit.evaluation.metrics"),
        ("s1kit.grading_pool", "s1kit.grading.pool"),
        ("s1kit.generate", "s1kit.generation.generator"),
        ("s1kit.budget", "s1kit.forcing.budget"),
    ],
)
def test_old_import_paths_resolve_to_the_moved_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_users_imported_still_work():
    code = (
        "from s1kit.grading import grade; from s1kit.evaluation import run_eval, EvalConfig; "
        "from s1kit.metrics import summarize; import s1kit; print(s1kit.vote.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "s1kit.grading.vote"


def test_importing_s1kit_loads_no_engine():
    code = "import sys, s1kit; print(sorted(m for m in ('torch', 'llama_cpp', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
