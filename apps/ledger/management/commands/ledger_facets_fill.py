"""``manage.py ledger_facets_fill`` — index every entry's actor and subject for the ledger browser.

Checkpoints do this a bounded amount at a time (ADR 0029); run this once after upgrading a ledger
that predates the side table. Idempotent: it resumes after the last indexed entry.
"""

from typing import Any

from django.core.management.base import BaseCommand

from apps.ledger import services


class Command(BaseCommand):
    help = "Store the actor/subject facets of every entry not yet indexed (the ledger browser)."

    def handle(self, *args: Any, **options: Any) -> None:
        written = services.ledger_facets_fill()
        self.stdout.write(f"Indexed {written} entr{'y' if written == 1 else 'ies'}.")
