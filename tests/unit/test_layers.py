"""The packages' imports point one way: app (`handler`, `helpdesk`) -> `assistant` -> `ingest` -> `index_store` ->
`core`. Every import counts, including those inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each package and the packages of ours it may import (besides itself).
ALLOWED = {
    "core": set(),
    "index_store": {"core"},
    "ingest": {"index_store", "core"},
    "assistant": {"ingest", "index_store", "core"},
    "helpdesk": {"assistant", "ingest", "index_store", "core"},
}
OURS = set(ALLOWED)


def imported_names(path: Path) -> set[str]:
    """Every dotted name one module imports, `from a import b` giving both `a` and `a.b` (pure)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def module_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each one imports."""
    paths: dict[str, Path] = {}
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: (imported_names(path) & set(paths)) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph: its strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_of_our_modules_import_each_other_even_indirectly() -> None:
    assert cycles(module_graph()) == []


def imports_of(path: Path) -> set[str]:
    """The top-level packages of ours that one module imports (pure: parses the source, runs nothing)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(top for top in (name.split(".")[0] for name in names) if top in OURS)
    return found


def test_the_import_scanner_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from helpdesk.factory import build_assistant\n    import core.errors\n")
    assert imports_of(module) == {"helpdesk", "core"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if (bad := imports_of(path) - ALLOWED[package] - {package})
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {sorted(wrong)}"


def test_handler_is_wiring_over_the_app() -> None:
    assert imports_of(ROOT / "handler.py") <= {"helpdesk"}


LANGCHAIN = ("langchain", "langchain_core", "langchain_community", "langchain_aws")


def test_langchain_is_imported_only_by_the_integration_and_nothing_of_ours_imports_that() -> None:
    """`helpdesk/integrations` is app code like the rest of `helpdesk/` (same layer rules), for users of the
    optional `langchain` extra: no Lambda module may reach it or LangChain."""
    wrong = []
    for path in sorted([ROOT / "handler.py", *(p for package in ALLOWED for p in (ROOT / package).rglob("*.py"))]):
        names = imported_names(path)
        in_integrations = path.is_relative_to(ROOT / "helpdesk" / "integrations")
        if not in_integrations and any(n.split(".")[0] in LANGCHAIN for n in names):
            wrong.append(f"{path.relative_to(ROOT)} imports LangChain")
        if not in_integrations and any(n == "helpdesk.integrations" or n.startswith("helpdesk.integrations.")
                                       for n in names):  # fmt: skip
            wrong.append(f"{path.relative_to(ROOT)} imports helpdesk.integrations")
    assert not wrong, wrong
    assert "helpdesk.integrations.langchain" in module_graph()  # the scan does see the integration


def test_the_langchain_scan_flags_an_import_outside_the_integration(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from langchain_core.documents import Document\n")
    assert "langchain_core.documents" in imported_names(module)
