"""Production settings keep logs at least six months and let ``--as-of`` only plan."""

from __future__ import annotations

import secrets

import pytest

from tests.core.test_deploy_check import run_manage


def prod_env(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
        "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
        "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        **extra,
    }


@pytest.mark.parametrize(
    ("_case", "extra", "message"),
    [
        ("standard below six months", {"LEXECON_RETENTION_DAYS_STANDARD": "179"}, "at least 180"),
        ("a class of zero days", {"LEXECON_RETENTION_DAYS_GDPR_INTERSECT": "0"}, "at least 1 day"),
        ("not a number", {"LEXECON_RETENTION_DAYS_HIGH_RISK": "ten years"}, "must be an integer"),
    ],
)
def test_production_refuses_short_periods(tmp_path, _case, extra, message):
    result = run_manage("check", extra_env=prod_env(tmp_path, **extra))
    assert result.returncode != 0
    assert message in result.stderr


def test_production_accepts_six_months_and_refuses_as_of_writes(tmp_path):
    env = prod_env(tmp_path, LEXECON_RETENTION_DAYS_STANDARD="180")
    assert run_manage("migrate", "--noinput", extra_env=env).returncode == 0
    refused = run_manage("retention_sweep", "--as-of", "2030-01-01", extra_env=env)
    assert refused.returncode != 0
    assert "--dry-run" in refused.stderr
    planned = run_manage("retention_sweep", "--as-of", "2030-01-01", "--dry-run", extra_env=env)
    assert planned.returncode == 0, planned.stderr
    assert "Would anonymise 0 decision(s)" in planned.stdout
