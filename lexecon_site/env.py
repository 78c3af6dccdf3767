"""The only place that reads the process environment.

Every ``LEXECON_*`` variable is documented in ``.env.example`` and ``docs/configuration.md``. Secrets that
production needs have no default there: :func:`required` raises ``ImproperlyConfigured``. In the embedded
default (``make run`` / tests) the Django secret key and the master key are generated once into ``var/``
(mode 0600, never committed) so a fresh checkout runs with nothing configured.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import math
import os
import re
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def flag(name: str, default: bool = False) -> bool:
    """Read a boolean variable (1/0, true/false, yes/no, on/off)."""
    return env.bool(name, default=default)


def text(name: str, default: str = "") -> str:
    """Read a string variable, stripped."""
    return env.str(name, default=default).strip()


def integer(name: str, default: int) -> int:
    """Read an integer variable; a malformed value is a configuration error, not a silent default."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


_RATE = re.compile(r"^(off|[1-9][0-9]{0,8}/[1-9][0-9]{0,8})$")


def rate(name: str, default: str) -> str:
    """Read a rate limit: ``N/S`` (at most N requests per S seconds) or ``off``."""
    value = text(name, default).replace(" ", "").lower()
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must be N/S (N requests per S seconds, both at least 1) or off, got {value!r}"
        )
    return value


def networks(name: str, default: str = "") -> tuple[str, ...]:
    """Read a comma-separated list of IP addresses or networks (CIDR)."""
    found = []
    for item in text(name, default).split(","):
        if item.strip():
            try:
                found.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError as exc:
                raise ImproperlyConfigured(
                    f"{name}: {item.strip()!r} is not an IP address or network"
                ) from exc
    return tuple(found)


def required(name: str) -> str:
    """Read a mandatory secret; refuse to start without it."""
    value = text(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set (see docs/configuration.md)")
    return value


# Values published somewhere (tests, examples, framework defaults): never a production secret.
_PUBLISHED_PREFIXES = ("test-only-", "django-insecure", "changeme", "change-me", "example")
_MIN_SECRET_BITS = 96


def _decodings(value: str) -> list[bytes]:
    """``value`` read as hex and as base64 (standard and URL-safe), where it is either."""
    found = []
    compact = value.strip()
    with contextlib.suppress(ValueError):
        found.append(bytes.fromhex(compact))
    padded = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
    for altchars in (b"+/", b"-_"):
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(padded, altchars=altchars, validate=True))
    return [decoded for decoded in found if len(decoded) >= 16]


def _character_entropy_bits(value: str) -> float:
    """Shannon entropy of the characters' frequencies, times the length: a cheap upper estimate
    of the guessing work (it cannot see patterns, but it catches repetition)."""
    counts = [value.count(char) for char in set(value)]
    return -sum(n * math.log2(n / len(value)) for n in counts)


def secret_weakness(value: str, *, min_length: int) -> str | None:
    """Why ``value`` is not fit to be a production secret, or None: too short, a published
    default, bytes that are (nearly) all the same once decoded (32 zero bytes in hex or base64),
    or too little character entropy."""
    if len(value) < min_length:
        return f"shorter than {min_length} characters"
    if value.lower().startswith(_PUBLISHED_PREFIXES):
        return "a published example or default value"
    if len(set(value)) < 5 or any(len(set(decoded)) <= 2 for decoded in _decodings(value)):
        return "made of (nearly) one repeated byte or character, such as 32 zero bytes"
    if _character_entropy_bits(value) < _MIN_SECRET_BITS:
        return f"too predictable (under {_MIN_SECRET_BITS} bits of character entropy)"
    return None


def strong_secret(name: str, *, min_length: int) -> str:
    """A mandatory production secret that must also look random (:func:`secret_weakness`)."""
    value = required(name)
    weakness = secret_weakness(value, min_length=min_length)
    if weakness:
        raise ImproperlyConfigured(
            f"{name} is too weak: {weakness}. Generate one, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
        )
    return value


def local_secret(name: str, filename: str, nbytes: int = 48) -> str:
    """Return ``name`` from the environment, else a random secret persisted under ``var/``.

    Only the embedded default uses this; production settings call :func:`required` instead.
    """
    value = text(name)
    if value:
        return value
    path = var_dir() / filename
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def var_dir() -> Path:
    """Directory for local state of the embedded default (SQLite file, generated secrets)."""
    return Path(text("LEXECON_VAR_DIR") or BASE_DIR / "var")


def database_config(
    url: str,
    pool_size: int,
    *,
    statement_timeout_ms: int = 0,
    lock_timeout_ms: int = 0,
    client_margin_ms: int = 0,
) -> dict:
    """Turn ``LEXECON_DATABASE_URL`` into a Django DATABASES entry.

    On PostgreSQL every connection gets ``statement_timeout`` and ``lock_timeout`` (0: none) and a
    client-side deadline of the statement timeout plus ``client_margin_ms``
    (``lexecon_site.db.postgresql``)."""
    if not (url.startswith(("postgresql://", "postgres://", "sqlite://"))):
        raise ImproperlyConfigured(
            "LEXECON_DATABASE_URL must start with postgresql:// or sqlite:///, "
            f"got {url.split(':', 1)[0]!r}"
        )
    config = environ.Env.db_url_config(url)
    if config["ENGINE"].endswith("postgresql"):
        config["ENGINE"] = "lexecon_site.db.postgresql"
        options = config.setdefault("OPTIONS", {})
        if statement_timeout_ms > 0 or lock_timeout_ms > 0:
            options["options"] = (
                f"-c statement_timeout={max(statement_timeout_ms, 0)} "
                f"-c lock_timeout={max(lock_timeout_ms, 0)}"
            )
        if statement_timeout_ms > 0:
            options["client_deadline"] = (statement_timeout_ms + max(client_margin_ms, 0)) / 1000
        if pool_size > 0:
            options["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": 10}
            config["CONN_MAX_AGE"] = 0
        else:
            config["CONN_MAX_AGE"] = 60
            config["CONN_HEALTH_CHECKS"] = True
        options.setdefault("connect_timeout", 5)
        # Django disables psycopg's prepared statements (threshold None), which also ignores an
        # explicit ``execute(..., prepare=True)``. Django's own cursors bind client-side and are
        # never prepared either way; a huge threshold lets only the ledger append statement, which
        # asks for it, keep its plan for the life of the connection.
        options.setdefault("prepare_threshold", 2**31 - 1)
    else:
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config
