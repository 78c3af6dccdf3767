"""Writes for users, roles, MFA devices and agent API keys."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password as check_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.constants import AGENT_KEY_PREFIX, DEFAULT_AGENT_SCOPES, Role, Scope
from apps.accounts.models import AgentKey, BackupCode, BackupCodeDevice, User
from apps.core.exceptions import InvalidInput

BACKUP_CODE_COUNT = 10
logger = logging.getLogger("lexecon.accounts")


@dataclass(frozen=True)
class IssuedAgentKey:
    """A freshly created key: ``raw_key`` exists only here and is never stored."""

    key: AgentKey
    raw_key: str


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    email: str = "",
    validate_password: bool = True,
    full_name: str = "",
) -> User:
    """Create a staff user holding exactly one role (``full_name``: first words as first name,
    the last word as last name)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"User {username!r} already exists.")
    first, _, last = full_name.strip().rpartition(" ")
    if not first:  # one word: a first name
        first, last = last, ""
    user = User(
        username=username,
        email=email,
        is_staff=True,
        is_superuser=False,
        first_name=first[:150],
        last_name=last[:150],
    )
    if validate_password:
        check_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    user_set_role(user=user, role=role)
    return user


def user_set_role(*, user: User, role: str) -> None:
    """Replace the user's role group (groups are created by a data migration)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.")
    user.groups.set([Group.objects.get(name=role)])


def totp_device_create(
    *, user: User, name: str = "Authenticator app", confirmed: bool
) -> TOTPDevice:
    """Enrol a TOTP device (unconfirmed until the user proves a code during enrolment)."""
    return TOTPDevice.objects.create(user=user, name=name, confirmed=confirmed)


@transaction.atomic
def backup_codes_regenerate(*, user: User) -> list[str]:
    """Issue a new set of backup codes, invalidating the old set. Returns the codes once, in clear."""
    device, _ = BackupCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Backup codes", "confirmed": True}
    )
    device.codes.all().delete()
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(15)).decode()  # 120 bits, 24 characters
        salt = secrets.token_hex(16)
        BackupCode.objects.create(
            device=device, salt=salt, code_hash=BackupCode.hash_code(salt, raw)
        )
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def agent_key_create(
    *,
    name: str,
    scopes: list[str] | tuple[str, ...] = DEFAULT_AGENT_SCOPES,
    expires_at: datetime | None = None,
    created_by: User | None = None,
    decide_rate_limit: str = "",
    api_rate_limit: str = "",
) -> IssuedAgentKey:
    """Create an agent key; the raw key is returned once and only its hash is stored. The rate
    limits are the key's own (``N/S`` or ``off``; blank: the default)."""
    scopes = sorted(set(scopes))
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(
            f"Unknown scopes: {', '.join(unknown)}.", details={"allowed": list(Scope.values)}
        )
    if not name.strip():
        raise InvalidInput("An agent key needs a name.")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = AgentKey(
        name=name.strip(),
        prefix=prefix,
        secret_hash=AgentKey.hash_secret(secret),
        scopes=scopes,
        expires_at=expires_at,
        created_by=created_by,
        decide_rate_limit=decide_rate_limit.strip(),
        api_rate_limit=api_rate_limit.strip(),
    )
    key.full_clean()
    key.save()
    return IssuedAgentKey(key=key, raw_key=f"{AGENT_KEY_PREFIX}_{prefix}_{secret}")


# Verified keys are remembered per process for LEXECON_AGENT_KEY_CACHE_SECONDS (default 2 s), keyed by
# the SHA-256 of the whole raw key: a busy agent then costs no database round trip per request.
# Revoking in this process forgets the key at once; other workers notice within the TTL.
_verified: dict[str, tuple[AgentKey, float]] = {}


def forget_verified_keys() -> None:
    _verified.clear()


def agent_key_authenticate(*, raw_key: str) -> AgentKey | None:
    """Find the key by its public prefix and compare the secret in constant time."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != AGENT_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    ttl = settings.LEXECON_AGENT_KEY_CACHE_SECONDS
    fingerprint = hashlib.sha256(raw_key.encode()).hexdigest()
    cached = _verified.get(fingerprint) if ttl > 0 else None
    if cached is not None and cached[1] > time.monotonic():
        return cached[0] if cached[0].is_usable() else None
    key = AgentKey.objects.filter(prefix=parts[1][:16]).first()
    if key is None:
        AgentKey.hash_secret(parts[2])  # same work either way
        return None
    if not key.secret_matches(parts[2]) or not key.is_usable():
        _verified.pop(fingerprint, None)
        return None
    if ttl > 0:
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[fingerprint] = (key, time.monotonic() + ttl)
    return key


def agent_key_touch(*, key: AgentKey, now: datetime) -> None:
    """Record use without touching other columns (cheap, no full save)."""
    AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


def agent_key_set_rate_limits(
    *, key: AgentKey, decide_rate_limit: str, api_rate_limit: str
) -> AgentKey:
    """Give a key its own rate limits (``N/S`` or ``off``; blank: the default). This process
    applies them to the next request; other workers within LEXECON_AGENT_KEY_CACHE_MS."""
    key.decide_rate_limit = decide_rate_limit.strip()
    key.api_rate_limit = api_rate_limit.strip()
    key.full_clean()
    key.save(update_fields=["decide_rate_limit", "api_rate_limit", "updated_at"])
    forget_verified_keys()
    return key


def agent_key_revoke(*, key: AgentKey, reason: str = "") -> AgentKey:
    """Revoke at once: the next request with this key gets 401."""
    forget_verified_keys()
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_reason = reason[:200]
        key.save(update_fields=["revoked_at", "revoked_reason", "updated_at"])
    return key


def login_lockouts_release(*, attempt_ids: list[int], widen: bool, actor: User) -> int:
    """Release password-step lockouts by deleting failure records (apps.accounts.lockout): the
    given ones, or with ``widen`` every record from their addresses or for their user names too
    (what the two ceilings count). The kept failure log (``AccessFailureLog``) is not touched.
    Returns how many records went."""
    chosen = AccessAttempt.objects.filter(pk__in=attempt_ids)
    if widen:
        addresses = list(chosen.values_list("ip_address", flat=True))
        names = list(chosen.values_list("username", flat=True))
        chosen = AccessAttempt.objects.filter(Q(ip_address__in=addresses) | Q(username__in=names))
    count, _ = chosen.delete()
    logger.warning(
        "login lockout released by user:%s: %d failure record(s)%s",
        actor.pk,
        count,
        " with their addresses and user names" if widen else "",
    )
    return count
