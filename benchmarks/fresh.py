"""Shared set-up of the single-process benchmarks: a new PostgreSQL database and the settings for it."""

from __future__ import annotations

import os
import secrets
import subprocess

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database(name: str) -> None:
    """Drop and recreate ``name`` on 127.0.0.1:5432, then point this process's settings at it
    (embedded-default settings, new secrets, automatic checkpoints off, no Redis)."""
    subprocess.run(["psql", ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", ADMIN_URL, "-qc", f"CREATE DATABASE {name}"], check=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.dev",
            "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
            "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(32),
            "LEXECON_LOG_LEVEL": "WARNING",
            "LEXECON_CHECKPOINT_EVERY": "0",
        }
    )
    os.environ.pop("LEXECON_REDIS_URL", None)
