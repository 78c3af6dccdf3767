"""Human users (with roles and MFA) and agent API keys."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

from apps.accounts.constants import PERMISSIONS, Scope
from apps.core.models import TimeStampedModel
from apps.core.ratelimit.rates import validate_rate


class User(AbstractUser):
    """A human: compliance officer, reviewer, auditor or administrator (roles are groups)."""

    class Meta:
        permissions = list(PERMISSIONS.items())

    def __str__(self) -> str:
        return self.username

    @property
    def roles(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())


class AgentKey(TimeStampedModel):
    """An agent's API key. Only a SHA-256 of the secret is stored; the raw key is shown once.

    Raw form: ``lxk_<prefix>_<secret>``. ``prefix`` (public, unique) finds the row; the secret's hash is
    compared in constant time.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # This key's own rate limits (ADR 0025), "N/S" or "off"; blank: the deployment's default
    # (LEXECON_RATE_LIMIT_DECIDE_PER_KEY, LEXECON_RATE_LIMIT_API_PER_KEY).
    decide_rate_limit = models.CharField(
        "rate limit on /decide",
        max_length=24,
        blank=True,
        validators=[validate_rate],
        help_text="N/S: at most N requests per S seconds, or off. Blank: the default.",
    )
    api_rate_limit = models.CharField(
        "rate limit on the rest of the API",
        max_length=24,
        blank=True,
        validators=[validate_rate],
        help_text="N/S: at most N requests per S seconds, or off. Blank: the default.",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "agent API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, self.hash_secret(secret))

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def clean(self) -> None:
        unknown = sorted(set(self.scopes) - set(Scope.values))
        if unknown:
            raise ValidationError({"scopes": f"unknown scopes: {', '.join(unknown)}"})


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use recovery codes for the OTP step, stored hashed (never in plaintext).

    Each code carries 120 bits of entropy, so a salted SHA-256 is an adequate one-way hash (ASVS 6.5.2).
    django-otp's own ``StaticToken`` stores codes in clear, which is why we do not use it.
    """

    class Meta(Device.Meta):
        verbose_name = "backup code device"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        normalised = BackupCode.normalise(str(token))
        matched = None
        for code in self.codes.filter(used_at__isnull=True):
            if code.matches(normalised) and matched is None:
                matched = code
        if matched is None:
            self.throttle_increment()
            return False
        updated = BackupCode.objects.filter(pk=matched.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if updated != 1:  # used by a concurrent request a moment ago
            self.throttle_increment()
            return False
        self.throttle_reset()
        return True


class BackupCode(models.Model):
    """One hashed backup code. ``used_at`` makes it single-use."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code {self.pk} ({'used' if self.used_at else 'unused'})"

    @staticmethod
    def normalise(code: str) -> str:
        return code.replace("-", "").replace(" ", "").strip().upper()

    @staticmethod
    def hash_code(salt: str, normalised_code: str) -> str:
        return hashlib.sha256(f"{salt}:{normalised_code}".encode()).hexdigest()

    def matches(self, normalised_code: str) -> bool:
        return hmac.compare_digest(self.code_hash, self.hash_code(self.salt, normalised_code))


class UserSession(models.Model):
    """A verified staff session (password and one-time code), so that its owner can see where
    they are signed in and end the others (RELIABILITY T33). The session itself stays in Django's
    session store; this row only names it. The address is the client's as the rate limits see it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session of {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"
