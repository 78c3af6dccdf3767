"""Revoked capability tokens (the revocation list every verification consults)."""

from django.db import models


class RevokedToken(models.Model):
    """A revoked ``jti``. Checked on every verification, so revocation is immediate everywhere."""

    jti = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=500)
    revoked_by = models.CharField(max_length=150)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(auto_now_add=True)
    ledger_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-revoked_at"]

    def __str__(self) -> str:
        return f"revoked {self.jti}"
