"""The import graph of sleapish has no cycles: no module imports, directly or through
others, a module that imports it back (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1] / "sleapish"


def _modules() -> Dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, mods: Dict[str, Path]) -> Set[str]:
    """sleapish modules `name` imports anywhere in its body (not under TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def resolve(target: str) -> str:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target

    found: Set[str] = set()

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(resolve(a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = package.split(".")
                if child.level > 1:
                    base = base[:len(base) - (child.level - 1)]
                module = (".".join(base + ([child.module] if child.module else []))
                          if child.level else child.module)
                for a in child.names:
                    full = f"{module}.{a.name}"
                    found.add(full if full in mods else resolve(module))
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard("")
    found.discard(name)
    return {m for m in found if m.startswith("sleapish")}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_sleapish_has_no_import_cycles():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    assert len(graph) > 100
    assert "sleapish.nn.inference.predictor_base" in graph["sleapish.nn.inference.predictors"]
    assert _cycles(graph) == []


def test_every_module_imports():
    """Each module imports (catches a name moved to another module and not followed)."""
    import importlib

    names = sorted(n for n in _modules() if not n.endswith("__main__"))
    for name in names:
        importlib.import_module(name)
    assert "sleapish.nn.paf_grouping.scorer" in names
