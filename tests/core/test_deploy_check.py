"""Production settings: refuse to start without real secrets; ``check --deploy`` has zero findings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")}
    env.update({"DJANGO_SETTINGS_MODULE": "lexecon_site.settings.prod", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_real_secrets(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        extra_env={
            "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
            "LEXECON_ALLOWED_HOSTS": "lexecon.example.org",
            "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_behind_a_proxy_without_trusted_proxies(tmp_path):
    settings = {
        "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
        "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
        "LEXECON_ALLOWED_HOSTS": "lexecon.example.org",
        "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "LEXECON_BEHIND_PROXY": "1",
    }
    warned = run_manage("check", "--deploy", "--fail-level", "WARNING", extra_env=settings)
    assert warned.returncode != 0
    assert "lexecon.W001" in warned.stdout + warned.stderr
    clean = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        extra_env={**settings, "LEXECON_TRUSTED_PROXIES": "10.0.0.0/8"},
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_prod_refuses_to_start_without_secret_key(tmp_path):
    result = run_manage(
        "check",
        extra_env={
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
            "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
    )
    assert result.returncode != 0
    assert "LEXECON_SECRET_KEY must be set" in result.stderr


def test_prod_refuses_weak_secret_key(tmp_path):
    result = run_manage(
        "check",
        extra_env={
            "LEXECON_SECRET_KEY": "changeme",
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
            "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
    )
    assert result.returncode != 0
    assert "too weak" in result.stderr


def test_prod_refuses_to_start_without_master_key(tmp_path):
    result = run_manage(
        "check",
        extra_env={
            "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
            "LEXECON_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
    )
    assert result.returncode != 0
    assert "LEXECON_MASTER_KEY must be set" in result.stderr


def test_bad_database_url_is_a_clear_configuration_error(tmp_path):
    result = run_manage(
        "check",
        extra_env={
            "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(48),
            "LEXECON_DATABASE_URL": "mysql://x@y/z",
        },
    )
    assert result.returncode != 0
    assert "LEXECON_DATABASE_URL must start with" in result.stderr
