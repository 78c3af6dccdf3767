"""``manage.py rewrap_keys`` — re-encrypt every private key under the current ``LEXECON_MASTER_KEY``.

The previous master key comes from ``LEXECON_OLD_MASTER_KEY`` (or a prompt). Afterwards the old
master key decrypts nothing.
"""

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import ApplicationError
from apps.ledger import services
from apps.ledger.keys import KeyUnwrapError
from lexecon_site.env import text


class Command(BaseCommand):
    help = (
        "Re-wrap signing keys from the old master key (LEXECON_OLD_MASTER_KEY) to the current one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        old = text("LEXECON_OLD_MASTER_KEY") or getpass.getpass("Old master key: ")
        try:
            count = services.signing_keys_rewrap(old_master_key=old)
        except (ApplicationError, KeyUnwrapError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"re-wrapped {count} key(s)")
