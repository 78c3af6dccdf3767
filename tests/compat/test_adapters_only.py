"""The compat areas 1.4-1.6 and 1.8 are adapters: they reach other apps only through their
services, selectors and permission classes (and pure helpers), never their models or the ORM."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AREAS = ("governance", "euaiact", "responsibility")
MODULES = [
    *sorted(path for area in AREAS for path in (ROOT / "apps" / "compat" / area).glob("*.py")),
    ROOT / "apps" / "compat" / "base.py",
]

# What an adapter may import from another app: writes and reads, the permission rules the native
# routes use, and pure helpers without data access.
ALLOWED_SUFFIXES = (".services", ".selectors", ".permissions", ".api.views")
ALLOWED_MODULES = {
    "apps.ledger.services",
    "apps.accounts.principals",  # actor labels for service calls
    "apps.core.api.exception_handler",  # the native error parts, re-shaped
    "apps.accounts.authentication",  # the agent key and staff session classes (CompatApi)
    "apps.monitoring.periods",  # Window arithmetic
    "apps.risk.scoring",  # the published dimension weights
    "apps.retention.constants",  # a published length limit
    "apps.retention.reports",  # the Art. 12 package builders (reads), as the native view uses
}


def imports(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("apps."):
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names if a.name.startswith("apps."))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_services_selectors_and_permissions(path):
    for module, names in imports(path):
        if module.startswith("apps.compat") or module in ALLOWED_MODULES:
            continue
        if module.endswith(".api.views"):
            # from a native API module: only its permission classes (the same rule)
            assert all(name.startswith("Can") for name in names), (path, module, names)
            continue
        if module.count(".") == 1:  # from apps.<app> import services, selectors
            others = {n for n in names if f"{module}.{n}" not in ALLOWED_MODULES}
            assert others <= {"services", "selectors"}, (path, module, names)
            continue
        assert module.endswith(ALLOWED_SUFFIXES), (path, module)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_orm_access(path):
    source = path.read_text()
    assert ".objects." not in source, path
    assert "models" not in {m.rsplit(".", 1)[-1] for m, _ in imports(path)}, path


def test_the_walk_finds_the_modules():
    names = {p.name for p in MODULES}
    assert {"views.py", "article12.py", "article14.py", "base.py"} <= names
