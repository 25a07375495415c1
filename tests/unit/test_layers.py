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
