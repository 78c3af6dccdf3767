"""``manage.py ledger_checkpoint`` — sign a checkpoint over every committed entry now."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.ledger import services


class Command(BaseCommand):
    help = "Sign a C2SP checkpoint over the current ledger (no-op if the latest covers it)."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = services.ledger_checkpoint_create()
        if checkpoint is None:
            self.stdout.write("The ledger is empty; nothing to sign.")
            return
        self.stdout.write(checkpoint.note, ending="")
