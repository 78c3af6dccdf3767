"""The import order of docs/architecture.md holds (the import-linter contracts in pyproject.toml).

`make test` runs `lint-imports` too; this keeps a plain `pytest` run honest, and checks that the
kernel (`apps.core`) stays free of domain apps.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_agent_principal_is_the_kernel_agent_identity():
    from apps.accounts.principals import AgentPrincipal
    from apps.core.api.permissions import is_agent
    from apps.core.principals import AgentIdentity

    agent = AgentPrincipal(key_id="k", name="bot", prefix="lxk_x", scopes=frozenset({"decide"}))
    assert isinstance(agent, AgentIdentity)

    class Request:
        user = agent

    assert is_agent(Request())
