"""The import graph: rag/ (read side and shared pieces) imports neither ingest/ nor service/, ingest/ never
imports service/, and no module reaches itself again through its imports, function-level ones included (and
the package __init__ that importing a module runs first)."""

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYERS = ["rag", "ingest", "service"]  # each may import those before it only


def modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
                out |= _parents(target, package, known)
    return out


def _parents(target: str, package: str, known) -> set[str]:
    """Importing a.b.c from outside package a.b runs a.b's __init__ (and its imports) first."""
    parents, parent = set(), target.rpartition(".")[0]
    while parent in known and not (package + ".").startswith(parent + "."):
        parents.add(parent)
        parent = parent.rpartition(".")[0]
    return parents


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_layer_imports_one_above_it():
    upward = [(a, b) for a, targets in graph().items() for b in targets
              if LAYERS.index(b.split(".")[0]) > LAYERS.index(a.split(".")[0])]
    assert upward == []


def test_no_import_loops():
    edges = graph()
    loops, done = [], set()

    def visit(node, path):
        if node in path:
            loops.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for target in sorted(edges[node]):
            visit(target, path + [node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])
    assert loops == []
