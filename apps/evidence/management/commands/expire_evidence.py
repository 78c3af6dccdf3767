"""``manage.py expire_evidence`` — run the retention expiry of evidence artifacts now."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.principals import system_actor
from apps.evidence import services


class Command(BaseCommand):
    help = (
        "Expire the evidence artifacts whose retention has ended: mark each row, ledger it, and "
        "delete bytes no unexpired artifact shares. Irreversible; the periodic task does the same."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.evidence_expire_due(
            actor=system_actor("cli", "manage.py expire_evidence")
        )
        self.stdout.write(
            f"Expired {result.expired} artifact(s); deleted the bytes of {result.bytes_deleted}; "
            f"{result.held} held."
        )
