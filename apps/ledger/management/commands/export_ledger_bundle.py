"""``manage.py export_ledger_bundle DIR [--upto N]`` — write an offline-verifiable ledger bundle."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ledger import bundle


class Command(BaseCommand):
    help = "Export entries, checkpoints, public keys and the standalone verifier into DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--upto", type=int, default=None)

    def handle(self, *args: Any, directory: Any, upto: Any, **options: Any) -> None:
        counts = bundle.bundle_write(directory, upto=upto)
        self.stdout.write(
            f"wrote {counts['entries']} entries, {counts['checkpoints']} checkpoints and "
            f"{counts['keys']} keys to {directory}; check with: python {directory}/verify_bundle.py "
            f"{directory}"
        )
