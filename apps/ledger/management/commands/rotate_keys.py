"""``manage.py rotate_keys [--purpose checkpoint|token]`` — retire active signing keys, make new ones."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ledger import services
from apps.ledger.models import SigningKey


class Command(BaseCommand):
    help = "Rotate signing keys: old keys are retired (verify only), new keys sign from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--purpose", choices=SigningKey.Purpose.values, action="append")

    def handle(self, *args: Any, purpose: Any, **options: Any) -> None:
        purposes = tuple(purpose or SigningKey.Purpose.values)
        result = services.signing_keys_rotate(purposes=purposes)
        for kid in result["retired"]:
            self.stdout.write(f"retired {kid}")
        for kid in result["created"]:
            self.stdout.write(f"created {kid}")
