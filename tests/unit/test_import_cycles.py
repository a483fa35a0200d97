"""The provider's modules, and the sandbox's, take part in no import cycle.

Every ``import`` counts, also those under ``TYPE_CHECKING`` and inside functions: a cycle
there is still two modules that cannot be understood one without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the provider, and the sandbox distribution's package (its own project in ``sandbox/``)
PACKAGES = (REPO / "workmagic_provider", REPO / "sandbox" / "workmagic_sandbox")
OURS = (
    "workmagic_provider.hooks.api",
    "workmagic_provider.hooks.workmagic",
    "workmagic_provider.operators.enrich",
    "workmagic_provider.operators.api_",
    "workmagic_provider.rejections",
)


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p, root): p for root in PACKAGES for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_api_and_enrich_modules_are_in_no_import_cycle() -> None:
    graph = import_graph()
    assert "workmagic_provider.hooks.api.transport" in graph  # the walk sees the package
    involved = [c for c in cycles(graph) if any(m.startswith(OURS) for m in c)]
    assert involved == []


def test_no_module_of_the_provider_or_the_sandbox_is_in_an_import_cycle() -> None:
    graph = import_graph()
    assert "workmagic_sandbox.launcher" in graph  # the walk sees the sandbox too
    assert "workmagic_provider.standards" in graph["workmagic_sandbox.launcher"]
    assert cycles(graph) == []
